"""One key rotation (密钥轮换记录): where re-encryption stands, so it resumes after a crash."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime


class KeyRotation(Base):
    """Re-encryption from key `from_key` to `to_key`. `progress` holds, per table, the last primary key
    done (each batch commits with it); `counts` the rows examined and changed per table."""

    __tablename__ = "key_rotation"
    id: Mapped[int] = mapped_column(primary_key=True)
    from_key: Mapped[int] = mapped_column(Integer)
    to_key: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), index=True)  # running | finished
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    actor_name: Mapped[str] = mapped_column(String(64))
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
