"""Scheduled task work: escalate overdue tasks (逾期任务上报)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.kernel.tasks import service as tasks_service


@job("tasks.escalate", schedule="*/5 * * * *",
     label=N_("Escalate overdue tasks to the parent unit"))
def escalate(session: Session) -> dict[str, Any]:
    """Escalate open tasks past due to the parent unit, and again each repeat period."""
    return {"escalated": tasks_service.escalate_overdue(session)}
