"""Control's retention: a measure holds no ID, phone or name itself; it keeps its person's identity
while in force and `retention.measure_days` after its end (registered with `kernel.retention`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.kernel.retention.registry import register_hold, register_kind


def persons_under_measures(session: Session, now: dt.datetime, pack: Any) -> Any:
    cutoff = now - dt.timedelta(days=pack.retention.measure_days)
    return select(Measure.person_id).where(or_(Measure.ended_at.is_(None), Measure.ended_at >= cutoff))


register_kind("measures", days=lambda p: p.retention.measure_days, purge=None, action="keep")
register_hold("measures", persons_under_measures)
