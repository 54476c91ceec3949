"""Mixin for rows that belong to a jurisdiction unit (属地)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

#: materialised paths compare bytewise ("C" collation on PostgreSQL, SQLite's default BINARY), so
#: a subtree is the index range [path, path-with-last-'/'-replaced-by-'0').
PathString = String(255).with_variant(String(255, collation="C"), "postgresql")


class Scoped:
    """A row owned by a unit; `unit_path` copies the unit's materialised path for subtree filters."""

    @declared_attr
    def unit_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("unit.id"), index=True)

    @declared_attr
    def unit_path(cls) -> Mapped[str]:
        return mapped_column(PathString, index=True)
