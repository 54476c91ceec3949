"""Command-centre tables (指挥部): frozen daily indicator snapshots and their values; orders and their targets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import PathString, Scoped


class IndicatorSnapshot(Base):
    """A frozen day of indicators (指标快照): every unit's values at the day's cut-off, with the pack
    version that coloured them. A recompute (更正) is a new version; the old one is kept."""

    __tablename__ = "command_snapshot"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    version: Mapped[int] = mapped_column(Integer)
    cutoff_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str] = mapped_column(String(64))
    pack_version: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("day", "version", name="uq_command_snapshot_day_version"),)


class IndicatorValue(Base):
    """One indicator of one unit in a snapshot (指标值): value, numerator, denominator and status."""

    __tablename__ = "command_value"
    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("command_snapshot.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(Integer)
    unit_path: Mapped[str] = mapped_column(PathString)
    unit_code: Mapped[str] = mapped_column(String(32))
    unit_name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    #: the unit's place in tree order (reports list units in it)
    position: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_command_value_snapshot_path", "snapshot_id", "unit_path"),)


ORDER_STATUSES = ("issued", "acknowledged", "completed", "overdue", "escalated")


class Order(Base, Scoped):
    """An order (指令): issued by a unit (its `unit_id`) to target units below it, each acknowledging and
    completing it; a target may relay (转发) it to its own children as a linked sub-order."""

    __tablename__ = "command_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000), default="")
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the target that relayed this order from its parent order (None: issued at the top)
    parent_target_id: Mapped[int | None] = mapped_column(Integer, index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))
    ack_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False)


class OrderTarget(Base, Scoped):
    """One target unit of an order (指令接收单位), owned by that unit, with its tasks and status."""

    __tablename__ = "command_order_target"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("command_order.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="issued", index=True)
    ack_task_id: Mapped[int | None] = mapped_column(Integer)
    complete_task_id: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(String(2000))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("order_id", "unit_id", name="uq_command_order_target_unit"),)


FINDING_KINDS = ("onsite", "unannounced", "online")
#: a finding opened by a case review's action (复盘整改), not by an inspection
REVIEW_KIND = "review"
SEVERITIES = ("high", "medium", "low")
RECTIFICATION_STATUSES = ("open", "submitted", "verified", "overdue")


class Finding(Base, Scoped):
    """A finding of an inspection (督查发现的问题): a checklist item not met at a unit or at a venue (owned by
    the venue's unit), recorded by an inspector, perhaps a repeat (举一反三) and, once rectified and
    reviewed, published (曝光)."""

    __tablename__ = "command_finding"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(2000), default="")
    venue_id: Mapped[int | None] = mapped_column(Integer, index=True)
    venue_name: Mapped[str | None] = mapped_column(String(120))
    venue_address: Mapped[str | None] = mapped_column(String(255))
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    found_by: Mapped[str] = mapped_column(String(64))
    #: the earlier finding of the same item at the same place this one repeats (None: not a repeat)
    repeat_of_id: Mapped[int | None] = mapped_column(Integer)
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    pack_version: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(300))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(64))
    #: the case review whose action opened this finding (kind `review`)
    review_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the unannounced inspection plan this finding was recorded under
    plan_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Rectification(Base, Scoped):
    """The rectification of a finding (整改): due by severity, closed with evidence (text and a file) by
    the unit, verified by a second person; a rejection reopens it, a late one escalates."""

    __tablename__ = "command_rectification"
    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("command_finding.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    evidence_note: Mapped[str | None] = mapped_column(String(2000))
    #: the evidence file: its name as sent, where it is kept (under the data directory) and its SHA-256
    evidence_name: Mapped[str | None] = mapped_column(String(200))
    evidence_path: Mapped[str | None] = mapped_column(String(300))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    rejections: Mapped[int] = mapped_column(Integer, default=0)
    rejected_note: Mapped[str | None] = mapped_column(String(2000))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CaseReview(Base, Scoped):
    """The review of a new case (病例复盘), owned by the case's unit: opened for every case however it was
    registered, completed by a reviewer with cause codes (policy data) and actions, each action a
    rectification of the unit at fault. The timeline itself is computed from the sources when read."""

    __tablename__ = "command_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[int | None] = mapped_column(Integer)
    #: a control measure was in force on the person when the case was detected (采样时已在管控中)
    detected_in_control: Mapped[bool | None] = mapped_column(Boolean)
    detected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    causes: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(4000), default="")
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    pack_version: Mapped[str] = mapped_column(String(64))


class InspectionPlan(Base, Scoped):
    """An unannounced inspection plan (四不两直暗访计划), owned by the planning unit: seen only by its team;
    its targets drawn at random from the units of a level below, with the seed kept so the draw can be
    checked afterwards."""

    __tablename__ = "command_inspection_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    team: Mapped[list[str]] = mapped_column(JSON, default=list)
    level: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(String(64))
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    planned_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class UnitGeometry(Base, Scoped):
    """A unit's outline for the big screen's map (辖区边界): a GeoJSON Polygon or MultiPolygon imported from
    a deployment's approved file (`fangkong import geometry`); we ship no real map."""

    __tablename__ = "command_geometry"
    id: Mapped[int] = mapped_column(primary_key=True)
    geometry: Mapped[dict] = mapped_column(JSON)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("unit_id", name="uq_command_geometry_unit_id"),)


from fangkong.command import kinds as _kinds  # noqa: E402,F401  (registers the task kinds)
