"""Surveillance tables (哨点监测预警): sentinel sites' details, their daily counts with history, the
verdicts of the detection run and the signals epidemiologists review.

A sentinel site is a place of kind `sentinel` (kernel/places); its sentinel kind (fever clinic, clinic,
pharmacy, school) is the place's category and is copied here. Task ids are plain integers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

#: sentinel kinds (哨点类别)
SITE_KINDS: tuple[str, ...] = ("fever_clinic", "clinic", "pharmacy", "school")
SOURCES: tuple[str, ...] = ("file", "api", "page")
#: open → investigating → closed; escalated signals stay open at the parent unit
SIGNAL_STATUSES: tuple[str, ...] = ("open", "investigating", "escalated", "closed")
OUTCOMES: tuple[str, ...] = ("dismissed", "investigate", "escalated")


class SentinelSite(Base, Scoped):
    """A sentinel site (监测哨点): a place of kind `sentinel`, its kind and the day it starts reporting."""

    __tablename__ = "sentinel_site"
    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), unique=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    active_from: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SentinelCount(Base, Scoped):
    """One value per site, day and indicator (哨点日报); a correction replaces it (history kept)."""

    __tablename__ = "sentinel_count"
    __table_args__ = (UniqueConstraint("site_id", "day", "indicator"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sentinel_site.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reported_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)


class SentinelCountChange(Base):
    """A correction of a stored count (更正记录): the value before and after, who and when."""

    __tablename__ = "sentinel_count_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("sentinel_count.id"), index=True)
    old_count: Mapped[int] = mapped_column(Integer)
    new_count: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))


class Verdict(Base, Scoped):
    """The detection verdict of one day of one series (预警判定): a site × indicator (`site_id`) or a
    unit × indicator (the sum of its sites; `site_id` empty, the unit is the row's unit). `status` is
    `judged` or `insufficient` (a missing day in the day itself or its baseline). `inputs` fingerprints
    the values judged: a run redoes a verdict whose data changed."""

    __tablename__ = "surveillance_verdict"
    __table_args__ = (UniqueConstraint("series_key", "indicator", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    series_key: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sentinel_site.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    algorithm: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16))
    observed: Mapped[int | None] = mapped_column(Integer)
    expected: Mapped[float | None] = mapped_column(Float)
    upperbound: Mapped[float | None] = mapped_column(Float)
    statistic: Mapped[float | None] = mapped_column(Float)
    alarm: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs: Mapped[str] = mapped_column(String(64))
    judged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signal_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Signal(Base, Scoped):
    """A signal (预警信号): consecutive alarms of one series (an alarm within `signal_extend_days` of the
    last extends it), reviewed by the unit's epidemiologists."""

    __tablename__ = "surveillance_signal"
    id: Mapped[int] = mapped_column(primary_key=True)
    series_key: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(8))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sentinel_site.id"))
    indicator: Mapped[str] = mapped_column(String(32))
    algorithm: Mapped[str] = mapped_column(String(32))
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    alarms: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    task_id: Mapped[int | None] = mapped_column(Integer)
    field_task_id: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))


#: drug classes of a pharmacy registration (药品类别); the watched ones are policy (default 四类药品)
DRUG_CLASSES: tuple[str, ...] = ("antipyretic", "cough", "antiviral", "antibiotic", "other")


class PharmacyPurchase(Base, Scoped):
    """A pharmacy's real-name registration of a buyer (药店实名登记). The buyer's identity goes to
    intake as a lead (a watched class) and is not kept here; the registration counts towards the
    pharmacy's daily `drug_<class>` count."""

    __tablename__ = "pharmacy_purchase"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_ref: Mapped[str] = mapped_column(String(128), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sentinel_site.id"), index=True)
    purchased_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    drug_name: Mapped[str | None] = mapped_column(String(120))
    drug_class: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    temperature: Mapped[float | None] = mapped_column(Float)
    symptoms: Mapped[str | None] = mapped_column(String(200))
    lead_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


#: who tested (抗原检测来源): a citizen's self-test, a pharmacy, a clinic, an employer
ANTIGEN_SOURCES: tuple[str, ...] = ("self", "pharmacy", "clinic", "employer")
#: negative (nothing follows) · awaiting_pcr → pcr_negative | pcr_positive
ANTIGEN_STATUSES: tuple[str, ...] = ("negative", "awaiting_pcr", "pcr_negative", "pcr_positive")


class AntigenResult(Base, Scoped):
    """An antigen test result (抗原检测结果) reported by a citizen, a pharmacy, a clinic or an employer.

    Never a PCR result: testing's tubes and compliance do not see it. A positive one hands the person to
    intake (category `antigen_positive`), puts them under temporary control and gets a PCR confirmation
    task; the first PCR result sampled after the antigen test resolves it. Owned by the person's unit
    (positives) or the reporting site's or reporter's unit; the unit's daily positives are a series."""

    __tablename__ = "antigen_result"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_ref: Mapped[str] = mapped_column(String(128), unique=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sentinel_site.id"), index=True)
    employer: Mapped[str | None] = mapped_column(String(120))
    tested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    result: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lead_id: Mapped[int | None] = mapped_column(Integer)
    measure_id: Mapped[int | None] = mapped_column(Integer)
    pcr_task_id: Mapped[int | None] = mapped_column(Integer)
    pcr_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the cassette's photo of a self-test (a file under the data directory), if any
    photo: Mapped[str | None] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
