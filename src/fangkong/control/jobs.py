"""Scheduled control work (管控督促): a task for every test day of a measure that passed without a sample."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.control import retention as _retention  # noqa: F401  (registers its retention kinds and holds)
from fangkong.kernel import clock
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog


@job("control.missed_tests", schedule="20 * * * *",
     label=N_("Turn missed test days of measures into tasks"))
def missed_tests(session: Session, at: str | None = None) -> dict[str, Any]:
    """Daily (or hourly): one task per missed test day of a measure in force (no sample by the end of
    its day plus the pack's grace); running it again makes no second task."""
    from fangkong.control import service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = clock.parse_time(at) if at else None
    return service.create_missed_tasks(session, SYSTEM_ACTOR, at=when or clock.now())
