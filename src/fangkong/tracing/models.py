"""Tracing tables (流调溯源): cases, their investigation places, confirmed contacts and case links.

Ids of other capabilities' rows (a case candidate of testing, a lead of intake, a venue) are plain
integers without foreign keys: those tables belong to their capabilities.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.keys.registry import register_encrypted
from fangkong.kernel.scoped import Scoped

CLASSIFICATIONS: tuple[str, ...] = ("confirmed", "asymptomatic")
DETECTION_CHANNELS: tuple[str, ...] = ("key_group_screening", "pool", "sentinel", "checkpoint", "tracing",
                                       "self_test")
SOURCES: tuple[str, ...] = ("candidate", "clinic", "manual")
#: open → core information collected → report done
CASE_STATUSES: tuple[str, ...] = ("open", "core_done", "reported")
#: how a contact was found; `promoted` (a secondary contact whose close contact turned positive) is
#: made by tracing itself, never confirmed directly
CONTACT_KINDS: tuple[str, ...] = ("household", "workplace", "colocation", "named", "secondary", "promoted")
CONFIRMABLE_KINDS: tuple[str, ...] = ("household", "workplace", "colocation", "named", "secondary")
#: close contact (密接), secondary contact (次密接), venue co-visitor (场所同时段人员: a risk person, not a
#: close contact until an epidemiologist upgrades them)
TIERS: tuple[str, ...] = ("close", "secondary", "colocation")


class Case(Base, Scoped):
    """A case (病例): a confirmed or asymptomatic infection under investigation. Owned by the unit of
    the person's address (or root), like the person."""

    __tablename__ = "tracing_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    classification: Mapped[str] = mapped_column(String(16))
    detection_channel: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))
    #: testing's case_candidate row this case confirms (unique: one case per candidate)
    candidate_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    sampled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    onset_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    isolated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    investigation_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    core_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    report_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    core_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    report_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: policy pack version that set the due times
    pack_version: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))


class CasePlace(Base):
    """A place the case named in the interview (流调地点), with when they were there."""

    __tablename__ = "tracing_case_place"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id", ondelete="CASCADE"), index=True)
    #: a registered place (venue, employer …) when the interview named one
    place_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(255))
    visited_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visited_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class Contact(Base):
    """A confirmed contact of a case (密接 / 次密接 / 场所同时段人员), handed to intake as a lead.

    `source_ref` ("case:{case_id}:person:{person_id}" or "case:{case_id}:named:{key}") is the lead's
    source reference too, so confirming twice is one contact and one lead.

    A close contact's exposure to the case starts at `first_contact_at` (default: the case's tracing
    window start); their secondary contacts must have met them between then and the close contact's
    control. A secondary contact whose close contact turned positive is `promoted_to` a close contact of
    the new case; otherwise tracing releases them (`released_at`, `release_rule`) at the end of their
    measure only after the close contact's first tests were negative."""

    __tablename__ = "tracing_contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    #: the close contact a secondary contact is a contact of
    via_contact_id: Mapped[int | None] = mapped_column(ForeignKey("tracing_contact.id"))
    name: Mapped[str | None] = mapped_column(String(64))
    relation: Mapped[str | None] = mapped_column(String(64))
    last_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    venue_id: Mapped[int | None] = mapped_column(Integer)
    overlap_min: Mapped[float | None] = mapped_column(Float)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(128), unique=True)
    #: intake's lead (no foreign key: intake's table)
    lead_id: Mapped[int | None] = mapped_column(Integer, index=True)
    confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: a close contact's first contact with the case (start of the secondary contacts' exposure window)
    first_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: a secondary contact: the close contact they became when their close contact turned positive
    promoted_to_id: Mapped[int | None] = mapped_column(Integer)
    #: a secondary contact: when tracing ended their follow-up (released, or superseded by the promotion)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    release_rule: Mapped[str | None] = mapped_column(String(64))


class CaseLink(Base):
    """A transmission link (传播关系): `source_case` infected `target_case`."""

    __tablename__ = "tracing_case_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id", ondelete="CASCADE"))
    target_case_id: Mapped[int] = mapped_column(ForeignKey("tracing_case.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("source_case_id", "target_case_id", name="uq_tracing_case_link_pair"),
        Index("ix_tracing_case_link_source", "source_case_id"),
    )


#: someone named in an interview is keyed `case:…:named:<digest>` under the signing key (not rotated)
register_encrypted("tracing_contact", digests=("source_ref",))
