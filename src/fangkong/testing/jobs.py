"""Scheduled testing work (每日应检督促): rule members, refreshed due times, overdue tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.testing import retention as _retention  # noqa: F401  (registers its retention kinds and holds)


@job("testing.overdue", schedule="*/10 * * * *",
     label=N_("Chase overdue tests of key groups"))
def overdue(session: Session) -> dict[str, Any]:
    """Daily: refresh due times and give every key-group member past due and grace an overdue task at
    the employer's unit or the person's grid (test days of measures: `control.missed_tests`)."""
    from fangkong.testing import service

    synced = service.sync_rule_members(session, SYSTEM_ACTOR)
    refreshed = service.refresh_due(session)
    created = service.create_overdue_tasks(session, SYSTEM_ACTOR)
    return {"rule_members": synced, "refreshed": refreshed, "overdue_tasks": created}
