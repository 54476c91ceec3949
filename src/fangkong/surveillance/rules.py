"""Pure rules of the sentinel series (哨点序列规则): which days a site reports, which earlier days a
verdict needs, and the fingerprint that tells a run a verdict's data changed. No session, no clock."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

from fangkong.surveillance.algorithms import methods

#: the detection methods the run applies to daily series; weekly series take the Farrington family
DAILY_METHODS = ("ears-c1", "ears-c2", "ears-c3")
WEEKLY_METHODS = ("farrington", "farrington-noufaily", "farrington-1996")
#: the suffix of a weekly series' key (its verdicts are dated by the week's Sunday)
WEEK_SUFFIX = "/week"


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


def weekly(days: Sequence[dt.date], values: Sequence[int | None], until: dt.date
           ) -> tuple[list[dt.date], list[int | None]]:
    """A daily series summed over whole weeks (Monday to Sunday) that end by `until`: (each week's
    Sunday, its sum). A week with a missing day is missing; a week without reporting days (a school's
    holiday week) is 0. The first week starts on the first Monday on or after the series' first day."""
    if not days:
        return [], []
    first = days[0] + dt.timedelta(days=(7 - days[0].weekday()) % 7)
    last = until - dt.timedelta(days=(until.weekday() + 1) % 7)  # the last Sunday by `until`
    n = (last - first).days // 7 + 1 if last >= first else 0
    sums: list[int | None] = [0] * n
    for d, v in zip(days, values, strict=True):
        i = (d - first).days // 7
        if d < first or i >= n:
            continue
        if v is None or sums[i] is None:
            sums[i] = None
        else:
            sums[i] = int(sums[i]) + v  # type: ignore[arg-type]
    return [first + dt.timedelta(days=7 * i + 6) for i in range(n)], sums


def needed_before(method: str, params: dict[str, object]) -> int:
    """How many earlier series points a verdict of this method needs (C1 baseline, C2 baseline + 2,
    C3 baseline + 4, Farrington 52·b + w weeks)."""
    if method in WEEKLY_METHODS:
        return methods.first_judged(method, params)
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
