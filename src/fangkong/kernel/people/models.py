"""Person registry (人员库). ID and phone numbers are stored encrypted, found by a keyed blind index."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.keys.registry import register_encrypted
from fangkong.kernel.scoped import Scoped


class Person(Base, Scoped):
    """One real person (人), whoever reported them. `unit` is the grid of their address (or root)."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: as written by the source, for display
    name: Mapped[str | None] = mapped_column(String(64))
    #: NFKC, whitespace removed, traditional → simplified: for comparison only
    name_key: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: blind index of a *valid* ID number only (an invalid one is never a match key)
    id_number_bidx: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_number_valid: Mapped[bool] = mapped_column(default=False)
    #: masked form kept for lists (first 6 + ******** + last 4); never the full number
    id_number_masked: Mapped[str | None] = mapped_column(String(24))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(1))  # "M" | "F"
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    address_id: Mapped[int | None] = mapped_column(ForeignKey("address.id"), index=True)
    address_text: Mapped[str | None] = mapped_column(String(255))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: how the person first came to be known (`demo`, `lead`, `roster`, `manual` …)
    source: Mapped[str] = mapped_column(String(32), default="manual")

    __table_args__ = (Index("ix_person_name_key_unit", "name_key", "unit_path"),)


register_encrypted("person", encrypted=("id_number_enc", "phone_enc"),
                   indexes={"id_number_bidx": ("id_number_enc", "id_number"), "phone_bidx": ("phone_enc", "phone")})
