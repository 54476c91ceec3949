"""Scheduled checkpoint work: tasks for overdue trips (点对点闭环超时) and stranded vehicles."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog


@job("checkpoints.overdue_tasks", schedule="*/15 * * * *",
     label=N_("Tasks for overdue truck trips and stranded vehicles"))
def overdue_tasks(session: Session, at: str | None = None) -> dict[str, Any]:
    """One task per trip overdue as of `at` (default now) at the destination's unit, and one per
    stranded vehicle at its service area's unit; each once."""
    from fangkong.checkpoints.service import reports, trips
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = (clock.parse_time(at) if at else None) or clock.now()
    return {"trip_task_ids": trips.make_overdue_tasks(session, SYSTEM_ACTOR, at=when),
            "stranded_task_ids": reports.make_stranded_tasks(session, SYSTEM_ACTOR, at=when)}
