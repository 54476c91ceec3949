"""Mixin for rows that belong to a jurisdiction unit (属地)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class Scoped:
    """A row owned by a unit; `unit_path` copies the unit's materialised path for subtree filters."""

    @declared_attr
    def unit_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("unit.id"), index=True)

    @declared_attr
    def unit_path(cls) -> Mapped[str]:
        return mapped_column(String(255), index=True)
