"""Jurisdiction tree (属地) and address gazetteer (地址库)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base
from fangkong.kernel.scoped import PathString, Scoped

LEVELS = ("city", "district", "street", "community", "grid")
LEVEL_NAMES_ZH = {"city": "市", "district": "区县", "street": "街道/镇", "community": "社区/村", "grid": "网格"}


class Unit(Base):
    """A jurisdiction unit: city → district → street/town → community/village → grid (网格).

    `path` is the materialised path of ids, `/1/4/17/`, so "in my jurisdiction" is a prefix test.
    """

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    path: Mapped[str] = mapped_column(PathString, index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    #: residents (常住人口) when known: quarantine rooms per 10,000 residents are counted against it
    population: Mapped[int | None] = mapped_column(Integer)


class Address(Base, Scoped):
    """An address on a grid (门牌地址): building, unit (单元) and room, with a normalised lookup key."""

    __tablename__ = "address"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(255))
    #: normalised form used by the matcher (no region prefix, ASCII digits, canonical 号/栋/单元/室)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    #: the key without the room: places an unknown room by its building (None without a house number)
    building_key: Mapped[str | None] = mapped_column(String(255), index=True)
    road: Mapped[str | None] = mapped_column(String(100))
    house_no: Mapped[str | None] = mapped_column(String(20))
    building: Mapped[str | None] = mapped_column(String(20))
    entrance: Mapped[str | None] = mapped_column(String(20))
    room: Mapped[str | None] = mapped_column(String(20))
