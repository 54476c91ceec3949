"""One run of a scheduled job (作业运行记录)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime


class JobRun(Base):
    """A run of job `job` for the schedule slot `slot` (the fire time it answers).

    The unique (job, slot, attempt) is the claim: when several server processes tick at once, exactly
    one inserts the row and runs the job; the others' inserts fail and they move on.
    """

    __tablename__ = "job_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12))  # running | ok | failed
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        UniqueConstraint("job", "slot", "attempt", name="uq_job_run_claim"),
        Index("ix_job_run_job_started", "job", "started_at"),
    )
