"""Check-in rules (健康打卡规则), pure: no session, no clock — callers pass the moments and the time zone.

- a temperature as people write it (`36.5`, `36.5℃`, `３６.５`), valid between 34 and 43 °C: `365` and
  `3.65` are typing slips, refused, never guessed;
- symptoms as a list (`干咳、乏力`, `none`/`无` for none);
- the check-in periods of a measure from its changes: the stretches it is active in a check-in phase
  (central, home quarantine, home monitoring);
- the slots of those periods lying wholly before T without a check-in (missed: `measure_rules.checkin_slots`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fangkong.control.measure_rules import CHECKIN_PHASES, checkin_slots, missed_slots

TEMPERATURE_MIN = 34.0
TEMPERATURE_MAX = 43.0
#: words meaning "no symptoms"
NO_SYMPTOMS = frozenset({"无", "无症状", "没有", "否", "正常", "none", "no", "nil", "-", "/", "—"})
_SPLIT = re.compile(r"[,，;；、/|\s]+")
_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(?:°\s*c|℃|度|c)?$")


def parse_temperature(text: object) -> tuple[float | None, str | None]:
    """(°C, None), or (None, why): `missing`, `not_a_number`, `out_of_range`."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        s = unicodedata.normalize("NFKC", str(text or "")).strip().lower().replace(" ", "")
        if not s:
            return None, "missing"
        m = _NUMBER.match(s)
        if m is None:
            return None, "not_a_number"
        value = float(m.group(1))
    if value != value or not TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:  # NaN too
        return None, "out_of_range"
    return value, None


def parse_symptoms(text: object) -> list[str]:
    """Symptoms as written, split on commas, 、, semicolons, slashes and spaces; `无`/`none` → []."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    parts = [p for p in _SPLIT.split(s) if p]
    return [] if all(p.lower() in NO_SYMPTOMS for p in parts) else [p for p in parts if p.lower() not in NO_SYMPTOMS]


@dataclass(frozen=True)
class Change:
    """A measure's change of state or phase: at `at` it became `status` in `phase`."""

    at: dt.datetime
    status: str
    phase: str | None


def periods(changes: Sequence[Change], *, until: dt.datetime | None = None
            ) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The stretches in which the measure is active in a check-in phase, from its changes in order
    (the last stretch open — None — while it lasts; cut at `until` when given)."""
    out: list[tuple[dt.datetime, dt.datetime | None]] = []
    start: dt.datetime | None = None
    for c in changes:
        on = c.status == "active" and c.phase in CHECKIN_PHASES
        if on and start is None:
            start = c.at
        elif not on and start is not None:
            out.append((start, c.at))
            start = None
    if start is not None:
        out.append((start, until))
    return [(a, b) for a, b in out if b is None or b > a]


def in_force(stretches: Sequence[tuple[dt.datetime, dt.datetime | None]], at: dt.datetime) -> bool:
    """Whether `at` lies in one of the stretches (start included, end excluded)."""
    return any(a <= at and (b is None or at < b) for a, b in stretches)


def missed(stretches: Sequence[tuple[dt.datetime, dt.datetime | None]], checkins: Iterable[dt.datetime],
           at: dt.datetime, tz: dt.tzinfo, starts: Sequence[str] = ("00:00", "12:00")
           ) -> list[tuple[dt.datetime, dt.datetime]]:
    """The slots lying wholly inside a stretch and before `at` with no check-in in them."""
    times = [t for t in checkins if t <= at]
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in stretches:
        out += missed_slots(checkin_slots(a, b, at, tz, starts), times)
    return out


def slot_of(at: dt.datetime, tz: dt.tzinfo, starts: Sequence[str] = ("00:00", "12:00")) -> tuple[dt.datetime, dt.datetime]:
    """The slot (UTC start, end) holding `at`."""
    local = at.astimezone(tz)
    day = local.date()
    bounds = [dt.datetime.combine(day, dt.time(int(s[:2]), int(s[3:])), tzinfo=tz) for s in starts]
    bounds.append(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz))
    for lo, hi in itertools.pairwise(bounds):
        if lo <= local < hi:
            return lo.astimezone(dt.UTC), hi.astimezone(dt.UTC)
    prev = dt.datetime.combine(day, dt.time(0), tzinfo=tz)  # before the first start: from midnight
    return prev.astimezone(dt.UTC), bounds[0].astimezone(dt.UTC)


def reminder_slot(at: dt.datetime, tz: dt.tzinfo, reminders: Sequence[str] = ("08:00", "15:00"),
                  starts: Sequence[str] = ("00:00", "12:00")) -> tuple[dt.datetime, dt.datetime] | None:
    """The check-in slot (UTC start, end) whose reminder is due at `at`: the latest reminder time of
    `at`'s local day at or before `at`, while its slot still holds `at` (a reminder after its slot has
    ended reminds of nothing). None before the day's first reminder or after its slot."""
    local = at.astimezone(tz)
    times = [dt.datetime.combine(local.date(), dt.time(int(r[:2]), int(r[3:])), tzinfo=tz) for r in reminders]
    passed = [t for t in times if t <= local]
    if not passed:
        return None
    lo, hi = slot_of(passed[-1], tz, starts)
    return (lo, hi) if at < hi else None
