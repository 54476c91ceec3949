"""Intake tables (重点人员排查): leads, import runs, risk areas and assist requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.keys.registry import register_encrypted
from fangkong.kernel.scoped import Scoped

#: where leads come from (issue #3); the last seven are internal channels of later capabilities (`control`:
#: measures already running in another system, taken over — `fangkong import measures`)
CHANNELS: tuple[str, ...] = ("bigdata", "employer", "community", "telecom", "checkpoint", "tip", "self",
                             "assist", "tracing", "colocation", "testing", "zone", "sentinel", "control")

#: lead life: known (person resolved, task assigned) → locating (not at the address, re-pushed) →
#: managed (verified) → controlled (measure started) | closed (nothing further to do here)
LEAD_STATUSES: tuple[str, ...] = ("known", "locating", "managed", "controlled", "closed")

RISK_LEVELS: tuple[str, ...] = ("high", "medium", "low")


class LeadBatch(Base):
    """One import run (导入批次): a file or an API batch, with its counts."""

    __tablename__ = "lead_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: "file" or "api"
    via: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str | None] = mapped_column(String(255))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    new_persons: Mapped[int] = mapped_column(Integer, default=0)


class Lead(Base, Scoped):
    """A lead (线索): one report from one channel that someone may need a measure.

    Owned by the unit that must act on it: the grid of the reported address, else the person's grid,
    else the root. `payload_enc` keeps the row exactly as received, encrypted (it holds ID and phone
    numbers in clear text; read it with `intake.service.lead_payload`). ID and phone are stored like
    a person's (encrypted, blind index of valid values only, masked form).
    """

    __tablename__ = "lead"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    #: keyed hash of the normalised content, set only without a source_ref (idempotency key)
    content_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    #: indexed with `unit_path` (`ix_lead_received_unit`): a day's leads in a subtree (daily clearance)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: category as given by the sender (a policy category code), None when not given
    category: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(64))
    name_key: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    id_number_masked: Mapped[str | None] = mapped_column(String(24))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    origin: Mapped[str | None] = mapped_column(String(100))
    arrival_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    address_text: Mapped[str | None] = mapped_column(String(255))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("address.id"))
    transport: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    #: report items ("id_number: check digit should be 7") found when the lead was read
    issues: Mapped[list[Any]] = mapped_column(JSON, default=list)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    #: which matching rule attached the person (id_number, phone_name, name_address, fuzzy_name, new_person)
    match_rule: Mapped[str | None] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="known", index=True)
    known_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    managed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    controlled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the decision: which pack, which rule, which category and measure, and why in words
    pack_version: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(64))
    decision_category: Mapped[str | None] = mapped_column(String(32))
    measure_code: Mapped[str | None] = mapped_column(String(48))
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verification_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    outcome_code: Mapped[str | None] = mapped_column(String(32))
    #: 四个查清 人数: persons at the address, household included, as the verification recorded it
    headcount: Mapped[int | None] = mapped_column(Integer)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measure.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("lead_batch.id"), index=True)

    #: source_ref leads the index: the duplicate check asks for many refs of one channel, and a
    #: leading `source_ref = ANY(…)` is used by PostgreSQL even before statistics exist
    __table_args__ = (UniqueConstraint("source_ref", "channel", name="uq_lead_source_ref_channel"),
                      Index("ix_lead_received_unit", "received_at", "unit_path"))


class RiskArea(Base):
    """A risk area (风险区域) as data: a county (GB/T 2260 code) or places inside it (街道/小区/村), at a
    level between two times, as the national lists publish them (省, 市, 县区, 风险区名称, 等级, 起止时间).

    A row without places covers the whole county. Low-risk areas are not rows: the rest of a county
    with an active high- or medium-risk area is low-risk, derived when a decision is made.
    """

    __tablename__ = "risk_area"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the code the row gave (区划代码), as given
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    #: the region as given (free text, or 省+市+县区 and the place name of a national list)
    region_name: Mapped[str] = mapped_column(String(255))
    #: `<county code>:<place keys>` (what makes a row the same area again); the normalised text for
    #: rows kept from before counties that name no single county
    name_key: Mapped[str] = mapped_column(String(255), index=True)
    #: the county (GB/T 2260, today's code); None: the row names no single county and matches nothing
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)
    #: places inside the county (街道/小区/村) the area is made of; empty: the whole county
    places: Mapped[list[str]] = mapped_column(JSON, default=list)
    level: Mapped[str] = mapped_column(String(8))
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("name_key", "level", "start_at", name="uq_risk_area_name_key"),)


class AssistRequest(Base, Scoped):
    """An assist request (协查): another region asks us to find someone (in), or we ask them (out)."""

    __tablename__ = "assist_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"), index=True)
    #: the other region (requesting region for "in", destination for "out")
    region: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | answered
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_assist_request_direction_status", "direction", "status"),)


#: a lead's raw row and numbers are encrypted like a person's; `content_hash` and a tracing contact's
#: `source_ref` (`case:…:named:<digest>`) are idempotency digests under the signing key
register_encrypted("lead", encrypted=("payload_enc", "id_number_enc", "phone_enc"),
                   indexes={"id_number_bidx": ("id_number_enc", "id_number"), "phone_bidx": ("phone_enc", "phone")},
                   digests=("content_hash", "source_ref"))

from fangkong.intake import kinds as _kinds  # noqa: E402,F401  (registers the task kinds)
