"""Tasks (任务): the closed-loop work item every capability uses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import PathString, Scoped

STATUSES = ("open", "done", "cancelled")


class Task(Base, Scoped):
    """A piece of work owned by a unit (optionally a user), due by policy, closed with an outcome.

    Escalation (上报) does not move ownership: it adds the parent unit in `escalated_unit_id` so
    the task shows in both inboxes, and raises `escalation_level`.
    """

    __tablename__ = "task"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    title: Mapped[str] = mapped_column(String(200))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome_code: Mapped[str | None] = mapped_column(String(48))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    escalated_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    escalated_unit_path: Mapped[str | None] = mapped_column(PathString, index=True)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    #: policy pack version and rule that set the due time
    policy_version: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_task_subject", "subject_type", "subject_id"),
        Index("ix_task_status_due", "status", "due_at"),
    )


class TaskEvent(Base):
    """History of a task: created, assigned, escalated, done, cancelled."""

    __tablename__ = "task_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
