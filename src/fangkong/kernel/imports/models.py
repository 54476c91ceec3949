"""Page imports run as jobs (页面导入任务)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

JOB_STATUSES = ("queued", "running", "done", "failed")


class ImportJob(Base, Scoped):
    """A file submitted from a page, imported in the background as the user who submitted it.

    The upload sits in `<data dir>/imports/<folder>/` until the job has run; the per-row report stays
    there (`report.csv` for download, `report.json` for the page). Owned by the submitter's unit.
    """

    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the registered import kind (`intake.leads`, `intake.risk_areas` …)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    #: the name the file had on the submitter's computer (shown, never used as a path)
    filename: Mapped[str] = mapped_column(String(255))
    #: random folder name under `<data dir>/imports/`
    folder: Mapped[str] = mapped_column(String(64), unique=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    #: report lines so far (the running count lives in the worker's process; this is the final one)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    #: counts by report status (accepted, duplicate, conflict, rejected)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: why the job failed: a message as JSON (`{"code", "params", "text"}`)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
