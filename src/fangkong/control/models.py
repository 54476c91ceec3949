"""Control tables (管控): the measure record a verified lead starts. Sites, check-ins and release
come later; this holds only what a start needs to be explained and scheduled."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped

MEASURE_STATUSES = ("active", "ended", "cancelled")
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
