"""Venue-code tables: printable codes, scans, inspection flags and batch uploads (场所码).

A venue itself is a kernel `Place` of kind "venue" (category, capacity = expected daily footfall);
these tables hang off its id. `scan` is the big one (10 million rows a day in a city of 5 million):
it stays lean — ids, two timestamps, a source and the request id; staff checks are two nullable
columns. Co-location reads a columnar copy of it (`colocation/`), never a self-join of this table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.keys.registry import register_encrypted

#: 64-bit ids on PostgreSQL (300 million scans a month); SQLite's INTEGER is 64-bit already and must
#: stay INTEGER to be the rowid
ScanId = BigInteger().with_variant(Integer(), "sqlite")

#: where a scan came from
SCAN_SOURCES = ("page", "staff", "api", "file")


class VenueCode(Base):
    """One issued venue code (场所码): a signed token with the key version it was signed with.

    Rotating a venue's code revokes the active row and issues a new one with the next key version, so
    posters printed before the rotation are refused."""

    __tablename__ = "venue_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    key_version: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(96), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Scan(Base):
    """One scan of a venue code (扫码记录): who, where, when; staff may add temperature and mask.

    `scanned_at` is whole seconds (co-location compares seconds exactly). `request_id` makes uploads
    idempotent: a repeat of a stored request id is reported `duplicate` and changes nothing.
    """

    __tablename__ = "scan"
    id: Mapped[int] = mapped_column(ScanId, primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(8))
    request_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    temperature: Mapped[float | None] = mapped_column(Float)
    mask_ok: Mapped[bool | None] = mapped_column(Boolean)
    checked_by_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_scan_place_time", "place_id", "scanned_at"),
        Index("ix_scan_person_time", "person_id", "scanned_at"),
        Index("ix_scan_scanned_at", "scanned_at"),
        # ids never reused on SQLite: the co-location index's watermark relies on it
        {"sqlite_autoincrement": True},
    )


class VenueFlag(Base):
    """An inspection finding (督查发现) that a venue does not enforce scanning; open until cleared."""

    __tablename__ = "venue_flag"
    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    flagged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    flagged_by_id: Mapped[int | None] = mapped_column(Integer)
    flagged_by: Mapped[str] = mapped_column(String(64))
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(64))


class ScanUpload(Base):
    """A batch upload of scans (批量上传) under a client's Idempotency-Key: a repeat of the key by the
    same sender returns `response`, the first answer, unchanged."""

    __tablename__ = "scan_upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    items: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("sender", "idempotency_key", name="uq_scan_upload_sender_key"),)


#: a scan without a request id gets `auto:<digest of venue, person's blind index, second>`: an
#: idempotency digest under the signing key (`crypto.stable_digest`), not rotated
register_encrypted("scan", digests=("request_id",))
