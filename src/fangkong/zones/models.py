"""Zone tables (风险区域): zones drawn on the gazetteer, their addresses, history and residents' measures;
area-wide testing rounds (区域全员核酸) and their target lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import fangkong.zones.kinds  # noqa: F401  (registers the task kinds wherever the tables are loaded)
from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

ZONE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
ZONE_STATUSES: tuple[str, ...] = ("active", "lifted")
EXCLUSION_REASONS: tuple[str, ...] = ("away", "hospitalised", "central_quarantine", "infant", "other")
#: `proposed`: a lockdown proposal (a positive in a round) waiting for the command centre to confirm
ZONE_STATUSES_ALL: tuple[str, ...] = ("proposed", "active", "lifted", "declined")
HELP_STATUSES: tuple[str, ...] = ("open", "served", "closed")


class Zone(Base, Scoped):
    """A risk zone drawn inside the city (风险区域: 封控区/管控区/防范区) at a level, with its reason, who
    drew it and when it starts. Owned by the lowest unit holding all its addresses. `level_since` is
    when it reached its present level; `came_from_high` when that was a downgrade from high."""

    __tablename__ = "zone"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the reference an import gave (idempotent re-imports); None for zones drawn by hand
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="active", index=True)
    reason: Mapped[str] = mapped_column(String(500))
    #: what was drawn: {"units": [codes], "addresses": [texts]}
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    level_since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    came_from_high: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    drawn_by_id: Mapped[int | None] = mapped_column(Integer)
    drawn_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    addresses: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    residents: Mapped[int] = mapped_column(Integer, default=0)
    #: the national-list view of the zone (intake's risk area: county code + area name), if any
    risk_area_id: Mapped[int | None] = mapped_column(Integer)


class ZoneAddress(Base, Scoped):
    """An address inside a zone (owned by the address's grid)."""

    __tablename__ = "zone_address"
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"), primary_key=True, index=True)


class ZoneEvent(Base):
    """A change of a zone (划定、降级、解除), with who and why; `override` when lifted against the data."""

    __tablename__ = "zone_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[str | None] = mapped_column(String(8))
    to_level: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500), default="")
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ZoneResident(Base, Scoped):
    """A resident put under the zone's measure (through control); `measure_id` None when the person
    already had an equal or stronger measure. Ended when the zone is lifted or downgraded."""

    __tablename__ = "zone_resident"
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    address_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(8))
    measure_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_zone_resident_zone_person", "zone_id", "person_id"),)


class TestingRound(Base, Scoped):
    """An area-wide testing round (区域全员核酸): a zone or a unit, a start and a deadline. Owned by the
    zone's or the unit's unit."""

    __tablename__ = "testing_round"
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    level: Mapped[str | None] = mapped_column(String(8))
    sampling: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    targets: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: the door-knock tasks were made (at the share of the deadline the pack sets)
    knocked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RoundTarget(Base, Scoped):
    """A person a round must sample (应检尽检), on the grid of their address (owned by that grid), with
    an exclusion and its reason, and what testing says of their sample in the round (refreshed)."""

    __tablename__ = "round_target"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("testing_round.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    address_id: Mapped[int | None] = mapped_column(Integer)
    building_key: Mapped[str | None] = mapped_column(String(255))
    #: registry | present (present but registered elsewhere)
    source: Mapped[str] = mapped_column(String(16), default="registry")
    excluded: Mapped[str | None] = mapped_column(String(24))
    excluded_note: Mapped[str | None] = mapped_column(String(200))
    sampled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: None (no result yet) | negative | positive
    result: Mapped[str | None] = mapped_column(String(8))
    resulted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: when the target was first seen in a positive pool of the round (testing's pool loop runs)
    pool_positive_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the columns above as bits (`TARGET_*`, `target_state`), kept by every write of rounds.py: the
    #: coverage per grid is one GROUP BY over the covering index (round, grid, state)
    state: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("round_id", "person_id", name="uq_round_target_round_person"),
        Index("ix_round_target_round_unit_state", "round_id", "unit_id", "state"),
    )


#: bits of `RoundTarget.state`
TARGET_SAMPLED, TARGET_RESULTED, TARGET_POSITIVE, TARGET_EXCLUDED, TARGET_POOL_POSITIVE = 1, 2, 4, 8, 16


def target_state(*, sampled: bool, result: str | None, excluded: bool, pool_positive: bool) -> int:
    """`RoundTarget.state` of a target's columns."""
    return ((TARGET_SAMPLED if sampled else 0) | (TARGET_RESULTED if result is not None else 0)
            | (TARGET_POSITIVE if result == "positive" else 0) | (TARGET_EXCLUDED if excluded else 0)
            | (TARGET_POOL_POSITIVE if pool_positive else 0))


class DeclaredHeadcount(Base, Scoped):
    """How many persons live at an address as the community declares it (申报人数), where the registry
    is thin: a round's coverage shows the gap (declared − registered) as targets to find. Owned by the
    address's grid; one a household (declared again: replaced)."""

    __tablename__ = "zone_declared_headcount"
    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("address.id"), unique=True)
    headcount: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))


class HelpRequest(Base, Scoped):
    """A help request of a household that may not leave (封控区求助): 就医 (dialysis, pregnancy,
    chemotherapy …), 急症, 买药, 生活物资, 心理, 其他. A task for the person's grid, due by kind (pack),
    escalating when late; the person follows its state with `token`. Owned by the person's grid."""

    __tablename__ = "zone_help_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500), default="")
    #: phone (the resident's own page) | hotline | staff
    via: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[int | None] = mapped_column(Integer)
    #: the nearest designated hospital named for 急症/就医 (by the person's unit)
    hospital: Mapped[str | None] = mapped_column(String(200))
    served_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    served_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(500))
    token: Mapped[str] = mapped_column(String(32), unique=True)


class SpecialNeed(Base, Scoped):
    """A resident with special needs (特殊人群: 独居老人, 残疾, 孕产妇, 慢病治疗中) the community recorded,
    so help in a zone is planned, not waited for. Owned by the person's grid."""

    __tablename__ = "zone_special_need"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    need: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("person_id", "need", name="uq_zone_special_need_person_need"),)
