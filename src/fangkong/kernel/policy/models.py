"""Stored policy packs (政策包): every version ever activated stays, so old decisions stay explainable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime


class PolicyPack(Base):
    """A validated pack (政策包版本); (`code`, `version`) is unique; one row is active at a time."""

    __tablename__ = "policy_pack"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (UniqueConstraint("code", "version", name="uq_policy_pack_code_version"),)

    @property
    def version_tag(self) -> str:
        """"code@version", as decisions record it."""
        return f"{self.code}@{self.version}"
