"""Control tables (管控): the measure record a verified lead starts, and its due tests (one per test
day of the measure). Check-ins and release come later."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import fangkong.control.kinds
from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

#: stored states: `ended` is the state of measures ended before the lifecycle existed (and of a
#: temporary control ended by its retest through `end_measure`); `releasable` is never stored (the rule
#: says it of an active measure, see `measure_rules.evaluate`)
MEASURE_STATUSES = ("planned", "active", "ended", "released", "converted", "transferred_out", "cancelled")
#: states after which a measure is no longer in force (from `ended_at`)
FINISHED_STATUSES = ("ended", "released", "converted", "transferred_out")
PLACE_KINDS = ("home", "site")


class Measure(Base, Scoped):
    """A control measure in force on one person (管控措施), as a policy pack laid it out at the start.

    `phases` holds each phase's measure code, kind, start and end (ISO, UTC) and its test dates
    (local dates); `test_dates` is the whole schedule. `lead_id` names the intake lead that started it
    (no foreign key: control does not depend on intake's tables).
    """

    __tablename__ = "measure"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: the policy category that decided it (close_contact, high_risk_area …)
    category: Mapped[str] = mapped_column(String(48))
    #: the first phase's measure code (centralised_quarantine …)
    measure_code: Mapped[str] = mapped_column(String(48))
    #: the strongest measure kind over the phases (for "already under an equal or stronger measure")
    kind: Mapped[str] = mapped_column(String(32))
    phases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    test_dates: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    #: None for an open-ended measure (until the negatives the pack asks for)
    planned_end_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    pack_version: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(Integer, index=True)
    place_kind: Mapped[str] = mapped_column(String(8), default="home")
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(200))
    #: the lifecycle (issue #12): the phase now (central, home_quarantine, home_monitoring,
    #: self_monitoring, temporary; `ended` once released or converted); day 0 of the count (the
    #: anchor's local date, or a restart's) and which moment it came from (exposure, departure,
    #: arrival, start); samples collected before `counts_from` (a restart) no longer count
    phase: Mapped[str | None] = mapped_column(String(24))
    anchor: Mapped[str | None] = mapped_column(String(16))
    anchor_on: Mapped[dt.date | None] = mapped_column(Date)
    counts_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: day N (None for temporary control)
    planned_end_on: Mapped[dt.date | None] = mapped_column(Date)
    stepped_down_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: quarantine sites (migration 0150): the household the person is kept with (a sender's household
    #: reference, or one given at room assignment), and for a secondary contact the person id of the
    #: close contact they are linked to (`contact_of`): both read by the extension rules
    household: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_of: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the sending system's reference of a measure taken over by `fangkong import measures` (idempotency)
    source_ref: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class MeasureEvent(Base, Scoped):
    """A change of a measure's state or phase (管控状态变更), kept with who and why: started, stepped
    down, released (by rule or by an override with its reason), converted, restarted, transferred out,
    cancelled. The state of a measure at a past moment is the last event at or before it."""

    __tablename__ = "measure_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    from_phase: Mapped[str | None] = mapped_column(String(24))
    to_phase: Mapped[str | None] = mapped_column(String(24))
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200), default="")
    rule: Mapped[str | None] = mapped_column(String(64))
    pack_version: Mapped[str | None] = mapped_column(String(64))
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_measure_event_measure_at", "measure_id", "at"),)


class DueTest(Base, Scoped):
    """A test day of a measure (应检日): a sample is due from the person on `due_on` (local date).

    Made when the measure starts, one per test day of its pack's phases; done when a sample is
    collected on that day (or inside `window_end_on` for a category that ends on negatives, at least
    `min_gap_hours` after the previous test's sample); cancelled when the measure ends first. A missed
    one (no sample by the end of its window plus the pack's grace) gets a task (`task_id`) once.
    Owned by the measure's unit; `site_id` names the quarantine site for a test taken there.
    """

    __tablename__ = "due_test"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    #: day of the measure (day 1 = the start's local date)
    day: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[dt.date] = mapped_column(Date)
    window_end_on: Mapped[dt.date] = mapped_column(Date)
    min_gap_hours: Mapped[float] = mapped_column(Float, default=0.0)
    #: the phase's measure code and kind (centralised_quarantine, three_days_two_tests/test_only …)
    phase_measure: Mapped[str] = mapped_column(String(48))
    phase_kind: Mapped[str] = mapped_column(String(32))
    #: where the sample is taken: "home" (door to door) or "site" (at the quarantine site)
    place_kind: Mapped[str] = mapped_column(String(8), default="home")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    #: due | done | cancelled (missed is a due test past its window, see `rules.due_state`)
    status: Mapped[str] = mapped_column(String(16), default="due")
    #: collection time of the sample that satisfied it
    sampled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: False when another capability chases this test itself (the retest of a positive pool)
    chase: Mapped[bool] = mapped_column(Boolean, default=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("measure_id", "day", name="uq_due_test_measure_day"),
        Index("ix_due_test_unit_due_on", "unit_path", "due_on"),
        Index("ix_due_test_status_window", "status", "window_end_on"),
    )


class CheckIn(Base, Scoped):
    """A twice-daily check-in of a person under a measure (健康打卡: temperature and symptoms), in the
    central, home-quarantine and home-monitoring phases. One per person and moment (`checked_at`):
    a file or request sent twice stores it once. `alert` lists why it alerted the site doctor
    (`fever`, listed symptoms); the alert's task and the sampling task are named by id."""

    __tablename__ = "checkin"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    temperature: Mapped[float] = mapped_column(Float)
    symptoms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: who took it: `self` (the person's phone page), a staff member's name or user name
    by: Mapped[str] = mapped_column(String(64), default="")
    #: page, phone, api, import
    via: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(Integer)
    phase: Mapped[str | None] = mapped_column(String(24))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    alert: Mapped[list[Any]] = mapped_column(JSON, default=list)
    alert_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    sampling_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("person_id", "checked_at", name="uq_checkin_person_checked_at"),
        Index("ix_checkin_person_checked_at", "person_id", "checked_at"),
    )


class CheckInMissed(Base, Scoped):
    """A check-in slot that passed without a check-in (漏报), with the one task made for it: kept so
    that running the job again makes no second task. The count in reports is the rule's, as of T."""

    __tablename__ = "checkin_missed"
    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    slot_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    slot_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("measure_id", "slot_start", name="uq_checkin_missed_slot"),)


class CheckInReminder(Base):
    """A check-in reminder (打卡提醒) queued for one person and one check-in slot (at the pack's 08:00 and
    15:00, for the person who has not checked in yet): kept so that running the job again in the same
    slot sends no second one. `outbox_id` is the kernel outbox message."""

    __tablename__ = "checkin_reminder"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    slot_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("person_id", "slot_start", name="uq_checkin_reminder_slot"),)


class HomeConfirmation(Base, Scoped):
    """The community's daily confirmation that a home-measure household is in (居家人员在位核查: by
    phone, video or visit): one task per household (address) and local day, overdue at the pack's time
    (20:00). `household` is the key of the address the measures share."""

    __tablename__ = "home_confirmation"
    id: Mapped[int] = mapped_column(primary_key=True)
    household: Mapped[str] = mapped_column(String(200))
    on: Mapped[dt.date] = mapped_column(Date)
    person_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("unit_id", "household", "on", name="uq_home_confirmation_day"),)


class NoticeTemplate(Base):
    """A notice's template (告知书模板: Jinja2 HTML), versioned: saving makes a new version, the latest is
    used, older ones stay for the notices printed with them."""

    __tablename__ = "notice_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("kind", "version", name="uq_notice_template_kind_version"),)


class NoticeCounter(Base):
    """The last number given in a series (a site's, or a unit's when there is no site) and year: a
    notice number is never given twice, even when its notice is printed again."""

    __tablename__ = "notice_counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("series", "year", name="uq_notice_counter_series_year"),)


class Notice(Base, Scoped):
    """A printed notice (告知书/通知书/转运单) with its number, the template version it was printed with,
    and the SHA-256 of its signed content (also in the audit log)."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_no: Mapped[str] = mapped_column(String(48), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    series: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measure.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    template_version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
import fangkong.control.sites.models  # noqa: E402, F401  (quarantine sites and rooms: loaded with control's tables)
