"""Scheduled intake work: the daily clearance figures (日产日清) of a day, for the command centre."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from fangkong.intake import retention as _retention  # noqa: F401  (registers its retention kinds and holds)
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog


@job("intake.daily_clearance", schedule="10 0 * * *",
     label=N_("Daily clearance figures of yesterday"))
def daily_clearance(session: Session, day: str | None = None) -> dict[str, Any]:
    """Daily clearance totals of a day (default: yesterday, local) for the whole tree."""
    from fangkong.intake.service import daily_clearance as clearance

    when = dt.date.fromisoformat(day) if day else clock.today() - dt.timedelta(days=1)
    data = clearance(session, SYSTEM_ACTOR, day=when)
    return {"day": data["day"], **data["totals"]}
