"""Testing tables (应检尽检、应纳尽纳): group membership, declared headcounts, sampling-point hours, tubes
with their samples and result versions, positive-pool follow-ups and case candidates.

Compliance has to answer for 1,000,000 members and 10,000,000 results in seconds, so the answer is
stored, not recomputed: each `GroupMember` keeps its `last_negative_at` and `next_due_at`, moved
forward when a negative result arrives (`service.results`), and lists are index range scans on
`next_due_at` and `unit_path`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import fangkong.testing.kinds  # noqa: F401  (registers the task kinds wherever the tables are loaded)
from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

#: how a person came onto a group's list
MEMBER_SOURCES = ("roster", "manual", "rule", "import")
#: the pseudo-group of persons due by rule: under a home measure, tested on its test days
RULE_GROUP = "home_measure"
TUBE_STATUSES = ("open", "closed")
RESULTS = ("negative", "positive")
RESULT_STATUSES = ("accepted", "conflict")
FOLLOW_UP_STATUSES = ("awaiting_retest", "negative", "positive")


class GroupMember(Base, Scoped):
    """A person on a key group's list (重点人群名单), with the stored compliance figures (应检尽检).

    Owned by the employer's unit when an employer is named, else by the person's unit (grid): that
    unit gets the overdue task. `next_due_at` is `last_negative_at` (or `enrolled_at`) plus the group's
    frequency; for rule members (`home_measure`) the end of the next test day of the measure.
    """

    __tablename__ = "group_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    group_code: Mapped[str] = mapped_column(String(48))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    #: rule members: the control measure whose test days they follow (no FK: control's table)
    measure_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: rule members: the measure's test days (local ISO dates)
    test_dates: Mapped[list[Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the group's frequency when `next_due_at` was last computed (a new policy pack refreshes it)
    frequency_days: Mapped[int | None] = mapped_column(Integer)
    #: sampling time of the last valid negative test (a test is done at its sampling time)
    last_negative_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        UniqueConstraint("person_id", "group_code", name="uq_group_member_person_group"),
        Index("ix_group_member_group_employer", "group_code", "employer_id"),
        #: lists range over (unit_path, next_due_at); `active` and `group_code` make it cover the summary,
        #: one grouped scan of this index alone (migration 0140)
        Index("ix_group_member_unit_due_active", "unit_path", "next_due_at", "active", "group_code"),
    )


class EmployerHeadcount(Base, Scoped):
    """An employer's declared headcount in a key group (应纳尽纳: who should be on the list)."""

    __tablename__ = "employer_headcount"
    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("place.id"), index=True)
    group_code: Mapped[str] = mapped_column(String(48))
    declared: Mapped[int] = mapped_column(Integer)
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("employer_id", "group_code", name="uq_employer_headcount_employer_group"),)


class SamplingHours(Base):
    """Opening hours of a sampling point (采样点开放时间), local time; `days` holds ISO weekdays (1 = Mon)."""

    __tablename__ = "sampling_hours"
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="CASCADE"), primary_key=True)
    opens: Mapped[str] = mapped_column(String(5))
    closes: Mapped[str] = mapped_column(String(5))
    days: Mapped[str] = mapped_column(String(7), default="1234567")
    note: Mapped[str | None] = mapped_column(String(200))


class Tube(Base, Scoped):
    """A sample tube (采样管): one barcode, one tube, single or pooled (混采), closed at its size.

    `result` is the tube's standing result over all result versions: positive while any version is
    positive (safety first), None while no result has arrived. Owned by the sampling point's unit.
    """

    __tablename__ = "tube"
    id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    pool_size: Mapped[int] = mapped_column(Integer)
    sampling_point_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    test_type: Mapped[str] = mapped_column(String(8), default="pcr")
    status: Mapped[str] = mapped_column(String(8), default="open")
    #: sampling time of the first sample in the tube
    collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(64))
    #: "page", "api", "import"
    via: Mapped[str] = mapped_column(String(8), default="page")
    result: Mapped[str | None] = mapped_column(String(8), index=True)
    #: when the first result was reported (turnaround = first report − collection)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lab: Mapped[str | None] = mapped_column(String(100))
    #: when a positive pool's consequences were set off (once per tube)
    pool_actions_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TubeSample(Base):
    """One person's sample in a tube (采样记录); a person is in a tube at most once."""

    __tablename__ = "tube_sample"
    id: Mapped[int] = mapped_column(primary_key=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("tube_id", "person_id", name="uq_tube_sample_tube_person"),)


class TubeResult(Base):
    """One reported result of a tube (检测结果), versioned: a different second result is a `conflict`
    kept as a new version for the lab to confirm, never an overwrite."""

    __tablename__ = "tube_result"
    id: Mapped[int] = mapped_column(primary_key=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(8))
    #: Ct values as given: {"ORF1ab": 28.5, "N": 30.1} or {"ct": 28.5}
    ct_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lab: Mapped[str | None] = mapped_column(String(100))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8), default="accepted")
    via: Mapped[str] = mapped_column(String(8), default="import")
    received_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("tube_id", "version", name="uq_tube_result_tube_version"),)


class PoolFollowUp(Base, Scoped):
    """A person of a positive pool (混采阳性管内人员): temporary control, a lead and a single-tube retest,
    until the individual result resolves them. Owned by the person's unit (the grid does the retest)."""

    __tablename__ = "pool_follow_up"
    id: Mapped[int] = mapped_column(primary_key=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="awaiting_retest", index=True)
    lead_id: Mapped[int | None] = mapped_column(Integer)
    measure_id: Mapped[int | None] = mapped_column(Integer)
    retest_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    retest_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_tube_id: Mapped[int | None] = mapped_column(ForeignKey("tube.id"))
    #: when the temporary measure was ended (None while control cannot release it yet)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("tube_id", "person_id", name="uq_pool_follow_up_tube_person"),)


class CaseCandidate(Base, Scoped):
    """A person with a positive individual result (病例候选): for investigation and tracing (a later issue)."""

    __tablename__ = "case_candidate"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tube.id"))
    #: "retest" (after a positive pool) or "single_tube"
    via: Mapped[str] = mapped_column(String(16))
    collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("person_id", "tube_id", name="uq_case_candidate_person_tube"),)
