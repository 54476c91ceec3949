"""Pure rules of the sentinel series (哨点序列规则): which days a site reports, which earlier days a
verdict needs, and the fingerprint that tells a run a verdict's data changed. No session, no clock."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

#: the detection methods the daily run applies (Farrington judges weekly series, see docs)
DAILY_METHODS = ("ears-c1", "ears-c2", "ears-c3")


def reporting_days(kind: str, start: dt.date, end: dt.date, holidays: Iterable[dt.date] = ()) -> list[dt.date]:
    """The days a site of this kind reports from `start` to `end`: every day, or a school's school days
    (weekdays not in `holidays`). A day outside these is neither missing nor zero."""
    if end < start:
        return []
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    if kind != "school":
        return days
    off = set(holidays)
    return [d for d in days if d.weekday() < 5 and d not in off]


def needed_before(method: str, params: dict[str, object]) -> int:
    """How many earlier series points a verdict of this method needs (C1 baseline, C2 baseline + 2,
    C3 baseline + 4)."""
    baseline = int(params.get("baseline", 7))  # type: ignore[call-overload]
    return {"ears-c1": baseline, "ears-c2": baseline + 2, "ears-c3": baseline + 4}[method]


def fingerprint(method: str, params: dict[str, object], values: Sequence[int | None]) -> str:
    """A short hash of what a verdict judged: the method, its parameters and the values (None =
    missing). Equal fingerprints mean a second run has nothing to redo."""
    text = method + "|" + ",".join(f"{k}={params[k]}" for k in sorted(params)) + "|" + \
        ",".join("" if v is None else str(v) for v in values)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def joins_signal(last_alarm: dt.date, day: dt.date, extend_days: int) -> bool:
    """An alarm on `day` extends a signal whose last alarm is at most `extend_days` earlier."""
    return dt.timedelta(0) <= day - last_alarm <= dt.timedelta(days=extend_days)
