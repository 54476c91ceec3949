"""Places (场所): every physical site the platform knows — employers, venues, checkpoints, sampling
points, sentinels, quarantine sites. Capabilities hang their own details off a place id."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base
from fangkong.kernel.scoped import Scoped

#: place kind → Chinese name. Venue categories follow the venue-code practice (场所码).
KINDS: dict[str, str] = {
    "employer": "单位/企业",
    "venue": "场所",
    "checkpoint": "卡口",
    "sampling_point": "采样点",
    "sentinel": "哨点",
    "quarantine_site": "集中隔离点",
}


class Place(Base, Scoped):
    """A site with a kind (`KINDS`), a category inside the kind (e.g. venue `market`), and an address."""

    __tablename__ = "place"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str | None] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("address.id"))
    address_text: Mapped[str | None] = mapped_column(String(255))
    #: rooms for quarantine sites, expected daily footfall for venues, headcount for employers
    capacity: Mapped[int | None] = mapped_column(Integer)
    #: the sender's own reference when imported from another system
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
