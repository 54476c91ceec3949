"""Checkpoint tables (卡口). A checkpoint is a kernel `Place` of kind "checkpoint"; its details,
records, shift logs, trips and arrivals hang off the place id. The e-pass tables are `epass/`'s."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.checkpoints import kinds as _kinds  # noqa: F401  (registers the task kinds with the tables)
from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

#: checkpoint kinds (卡口类型) → Chinese
KINDS: dict[str, str] = {
    "highway_exit": "高速出口", "road": "公路卡口", "rail": "火车站", "bus": "汽车站",
    "airport": "机场", "dock": "码头", "service_area": "高速服务区",
}
DIRECTIONS: dict[str, str] = {"in": "进", "out": "出", "seen": "巡查"}
VEHICLE_TYPES: dict[str, str] = {"truck": "货车", "car": "小客车", "bus": "客车", "other": "其他"}
ROLES: dict[str, str] = {"driver": "驾驶员", "crew": "随车人员", "passenger": "乘客"}
CODE_COLOURS: dict[str, str] = {"green": "绿码", "yellow": "黄码", "red": "红码"}
DECISIONS: dict[str, str] = {"pass": "放行", "test": "采样放行", "escort": "接引伴行", "return": "劝返",
                             "transfer": "转运隔离"}
#: how a trip was closed
CLOSINGS: dict[str, str] = {"exit": "驶离", "exit_not_seen": "未见驶离(再次入境)", "driver_staying": "司乘留驻"}


class Checkpoint(Base):
    """A checkpoint's details (卡口): its kind and its shifts (`HH:MM-HH:MM;…`, local time)."""

    __tablename__ = "checkpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    shifts: Mapped[str] = mapped_column(String(200))


class ShiftLog(Base):
    """One shift of one checkpoint on its start day (班次): who was on duty and the handover note (交接)."""

    __tablename__ = "checkpoint_shift_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(11))
    roster: Mapped[str | None] = mapped_column(String(500))
    handover: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("place_id", "day", "shift", name="uq_checkpoint_shift_log"),)


class CheckpointRecord(Base, Scoped):
    """One inspected person, or a vehicle seen without persons (查验记录). Rows of one vehicle share a
    `passage_key` (the sender's passage_ref, else the record's own ref). Idempotent by `record_ref`;
    `content_hash` tells a repeat from a reused ref with other content."""

    __tablename__ = "checkpoint_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_ref: Mapped[str] = mapped_column(String(80), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    passage_key: Mapped[str] = mapped_column(String(120))
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    inspected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(4))
    plate: Mapped[str | None] = mapped_column(String(16))
    vehicle_type: Mapped[str | None] = mapped_column(String(8))
    epass_no: Mapped[str | None] = mapped_column(String(16))
    epass_token: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(10))
    origin: Mapped[str | None] = mapped_column(String(100))
    origin_code: Mapped[str | None] = mapped_column(String(6))
    destination: Mapped[str | None] = mapped_column(String(100))
    destination_code: Mapped[str | None] = mapped_column(String(6))
    address: Mapped[str | None] = mapped_column(String(255))
    receiver: Mapped[str | None] = mapped_column(String(100))
    health_code: Mapped[str | None] = mapped_column(String(8))
    tested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    temperature: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str | None] = mapped_column(String(10))
    lead_id: Mapped[int | None] = mapped_column(Integer)
    trip_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the e-pass verdict when a verifier was registered (`service.verifier`), else None: not verified here
    epass_verdict: Mapped[str | None] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_checkpoint_record_place_time", "place_id", "inspected_at"),
        Index("ix_checkpoint_record_plate_time", "plate", "inspected_at"),
        Index("ix_checkpoint_record_time", "inspected_at"),
    )


class Trip(Base, Scoped):
    """A truck's point-to-point trip (点对点闭环): opened by an inbound passage with an e-pass, confirmed
    by the receiver, closed by an outbound passage. Owned by the destination's unit (a unit whose code is
    the destination county's), else the checkpoint's."""

    __tablename__ = "checkpoint_trip"
    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    epass_no: Mapped[str | None] = mapped_column(String(16))
    entry_record_id: Mapped[int] = mapped_column(Integer, unique=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    destination_code: Mapped[str | None] = mapped_column(String(6))
    local: Mapped[bool] = mapped_column(Boolean)
    arrived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    arrival_id: Mapped[int | None] = mapped_column(Integer)
    exited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    exit_record_id: Mapped[int | None] = mapped_column(Integer)
    #: `exit`, `exit_not_seen` (the plate entered again first) or `driver_staying` (closed by hand)
    closed_as: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    task_id: Mapped[int | None] = mapped_column(Integer)


class TripArrival(Base, Scoped):
    """The receiver's confirmation that a truck arrived (到达确认); `trip_id` None: arrival_not_seen."""

    __tablename__ = "checkpoint_trip_arrival"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(16), index=True)
    epass_no: Mapped[str | None] = mapped_column(String(16))
    arrived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    receiver: Mapped[str | None] = mapped_column(String(100))
    trip_id: Mapped[int | None] = mapped_column(Integer, index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


from fangkong.checkpoints.epass import models as _epass_models  # noqa: E402,F401  (the e-pass part's tables)
