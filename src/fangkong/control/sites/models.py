"""Quarantine-site tables (集中隔离点): a site's details (hung off its place), its rooms, and the stays
that put a measure's person in a room. Occupancy is derived from the stays; a room left empty is being
cleaned (终末消毒) until marked clean."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

import fangkong.control.sites.kinds  # noqa: F401  (registers the transport and room task kinds)
from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

SITE_STATUSES = ("active", "standby", "closed")
ROOM_STATUSES = ("usable", "out_of_service")
#: derived states of a room at a moment
ROOM_STATES = ("free", "occupied", "cleaning", "out_of_service")


class QuarantineSite(Base, Scoped):
    """A quarantine site's details (集中隔离点): status (active, standby, closed) and contacts. Its
    name, address, ref and unit are its place's (`place.kind == "quarantine_site"`)."""

    __tablename__ = "quarantine_site"
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    contacts: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Room(Base, Scoped):
    """A room of a site (隔离房间): building, floor, number, beds, status (usable, out of service).
    `lock_version` is bumped by every assignment, so two assignments of one room queue up."""

    __tablename__ = "site_room"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    building: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20))
    beds: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="usable")
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("site_id", "building", "number", name="uq_site_room_number"),)


class RoomStay(Base, Scoped):
    """A measure's person in a room (入住): from the assignment (`from_at`; the person arrives at
    `arrived_at`, when the measure starts) until they leave (`until_at`: released, transferred, to
    hospital). A household shares a room up to its beds (`household` names it). The last to leave
    marks the stay `needs_cleaning` until the room is marked clean (`cleaned_at`). One open stay per
    bed (a unique index): two requests for the last bed cannot both win."""

    __tablename__ = "room_stay"
    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("site_room.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    household: Mapped[str | None] = mapped_column(String(64))
    bed: Mapped[int] = mapped_column(Integer, default=1)
    from_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    until_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    needs_cleaning: Mapped[bool] = mapped_column(Boolean, default=False)
    cleaned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    transport_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))

    __table_args__ = (
        Index("uq_room_stay_open_bed", "room_id", "bed", unique=True,
              sqlite_where=text("until_at IS NULL"), postgresql_where=text("until_at IS NULL")),
        Index("ix_room_stay_site_open", "site_id", "until_at"),
    )
