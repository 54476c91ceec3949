"""Checkpoint rules (卡口规则), pure: shifts, plates, trips from passages, a trip's state as of T,
stranded runs at service areas. No session, no clock: callers pass times and policy numbers."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_SHIFTS = "00:00-08:00;08:00-16:00;16:00-24:00"
_SHIFT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class BadShifts(ValueError):
    """Shift text that is not `HH:MM-HH:MM;…`."""


@dataclass(frozen=True)
class Shift:
    """One configured shift: its label (`20:00-08:00`), start and length in minutes."""

    label: str
    start_min: int
    minutes: int

    def window(self, day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the shift that starts on `day` (a midnight-crossing shift ends the next day)."""
        start = dt.datetime.combine(day, dt.time(0), tzinfo=tz) + dt.timedelta(minutes=self.start_min)
        return start, start + dt.timedelta(minutes=self.minutes)


def parse_shifts(text: str | None) -> list[Shift]:
    """`00:00-08:00;08:00-16:00;16:00-24:00` → shifts; empty text → the default. Separators `;`, `；`,
    `,` or `，`; full-width digits accepted. A shift of zero length, `24:00` as a start, or overlapping
    shifts raise BadShifts."""
    text = unicodedata.normalize("NFKC", text or "").replace(" ", "")
    if not text:
        text = DEFAULT_SHIFTS
    out: list[Shift] = []
    for part in re.split(r"[;,]", text):
        if not part:
            continue
        m = _SHIFT.match(part.replace("—", "-").replace("~", "-"))
        if not m:
            raise BadShifts(part)
        start = int(m[1]) * 60 + int(m[2])
        end = int(m[3]) * 60 + int(m[4])
        if end > 24 * 60:
            raise BadShifts(part)
        minutes = end - start if end > start else end + 24 * 60 - start
        if minutes <= 0 or minutes > 24 * 60:
            raise BadShifts(part)
        out.append(Shift(f"{m[1]}:{m[2]}-{m[3]}:{m[4]}", start, minutes))
    if not out:
        raise BadShifts(text)
    # no two shifts may cover the same minute of a (repeating) day
    covered: set[int] = set()
    for s in out:
        mins = {(s.start_min + i) % (24 * 60) for i in range(s.minutes)}
        if covered & mins:
            raise BadShifts(s.label)
        covered |= mins
    return sorted(out, key=lambda s: s.start_min)


def shift_of(at: dt.datetime, shifts: Sequence[Shift], tz: dt.tzinfo) -> tuple[dt.date, Shift] | None:
    """The shift `at` falls in and its start day (a midnight-crossing shift belongs to its start day);
    None in a gap between shifts."""
    local = at.astimezone(tz)
    for day in (local.date(), local.date() - dt.timedelta(days=1)):
        for s in shifts:
            start, end = s.window(day, tz)
            if start <= local < end:
                return day, s
    return None


_PLATE_DROP = re.compile(r"[\s·•.\-]")


def plate_key(text: str | None) -> str:
    """A plate as compared: NFKC, upper case, no spaces, `·`, dots or dashes (苏D·12345 = 苏D12345)."""
    return _PLATE_DROP.sub("", unicodedata.normalize("NFKC", text or "")).upper()


_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fff]?$")


def looks_like_plate(key: str) -> bool:
    """A Chinese plate: province character, letter, 4–6 letters/digits, an optional 挂/学/警 … suffix."""
    return bool(_PLATE.match(key))


# ------------------------------------------------------------------------------------------ trips

@dataclass(frozen=True)
class Passage:
    """A vehicle passing a checkpoint: the record that stands for it, when, which way, its e-pass."""

    record_id: int
    at: dt.datetime
    direction: str
    epass: bool
    place_id: int = 0


@dataclass(frozen=True)
class TripFacts:
    """A trip as the passages make it: entered by `entry`; closed by `exit_` (outbound) or by the next
    inbound passage (`exit_not_seen`, closed at that entry)."""

    entry: Passage
    exit_: Passage | None = None
    closed_as: str | None = None
    closed_at: dt.datetime | None = None


def trips_from_passages(passages: Iterable[Passage]) -> list[TripFacts]:
    """Walk one plate's passages in time order: an inbound passage with an e-pass opens a trip; an
    outbound passage closes the open trip (`exit`); an inbound passage while a trip is open first closes
    it as `exit_not_seen`. Sightings (`seen`) change nothing."""
    out: list[TripFacts] = []
    open_: TripFacts | None = None
    for p in sorted(passages, key=lambda p: (p.at, p.record_id)):
        if p.direction == "out":
            if open_ is not None:
                out.append(TripFacts(open_.entry, p, "exit", p.at))
                open_ = None
        elif p.direction == "in":
            if open_ is not None:
                out.append(TripFacts(open_.entry, None, "exit_not_seen", p.at))
                open_ = None
            if p.epass:
                open_ = TripFacts(p)
    if open_ is not None:
        out.append(open_)
    return out


@dataclass(frozen=True)
class TripHours:
    """Policy hours (pack `checkpoints`): arrival due after entry (local), exit due after arrival,
    transit due after entry (not local)."""

    arrival: float = 4
    exit: float = 24
    transit: float = 4


STATES = ("in_transit", "arrival_overdue", "at_destination", "exit_overdue", "passing", "transit_overdue",
          "closed", "closed_no_arrival", "exit_not_seen")
OVERDUE = ("arrival_overdue", "exit_overdue", "transit_overdue")


@dataclass(frozen=True)
class TripState:
    state: str
    due_at: dt.datetime | None = None
    overdue_hours: float | None = None


def trip_state(*, at: dt.datetime, entered_at: dt.datetime, local: bool, arrived_at: dt.datetime | None,
               closed_as: str | None, closed_at: dt.datetime | None, hours: TripHours) -> TripState | None:
    """The state of a trip as of `at` (events after `at` ignored); None before it entered.

    Closed (at or before `at`): `exit_not_seen` when the plate entered again first; else
    `closed_no_arrival` for a local trip never confirmed, `closed` otherwise. Open: local —
    `in_transit` until confirmed (due entry + arrival hours: `arrival_overdue`), then `at_destination`
    (due arrival + exit hours: `exit_overdue`); not local — `passing` (due entry + transit hours:
    `transit_overdue`). Overdue once `at` ≥ due; `overdue_hours` to one decimal."""
    if at < entered_at:
        return None
    arrived = arrived_at if arrived_at is not None and arrived_at <= at else None
    if closed_as is not None and closed_at is not None and closed_at <= at:
        if closed_as == "exit_not_seen":
            return TripState("exit_not_seen")
        if local and arrived is None and closed_as != "driver_staying":
            return TripState("closed_no_arrival")
        return TripState("closed")
    if local and arrived is None:
        due, calm, late = entered_at + dt.timedelta(hours=hours.arrival), "in_transit", "arrival_overdue"
    elif local:
        assert arrived is not None
        due, calm, late = arrived + dt.timedelta(hours=hours.exit), "at_destination", "exit_overdue"
    else:
        due, calm, late = entered_at + dt.timedelta(hours=hours.transit), "passing", "transit_overdue"
    if at >= due:
        return TripState(late, due, round((at - due).total_seconds() / 3600, 1))
    return TripState(calm, due)


def is_local(destination_code: str | None, region_code: str | None) -> bool:
    """A destination shares the region's prefix (the region code minus trailing `00` pairs: 320400 →
    3204). Without a region code or a destination nothing is local."""
    if not destination_code or not region_code:
        return False
    prefix = region_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return destination_code.startswith(prefix)


# ---------------------------------------------------------------------------------- service areas

@dataclass(frozen=True)
class Sighting:
    """A plate's record as the stranded rule reads it."""

    at: dt.datetime
    place_id: int
    service_area: bool
    direction: str
    decision: str | None


@dataclass(frozen=True)
class Stranded:
    place_id: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    hours: float


#: a sighting decided so ends the run (the vehicle was dealt with)
ENDING_DECISIONS = ("pass", "escort", "return")


def stranded_at(records: Iterable[Sighting], at: dt.datetime, min_hours: float) -> Stranded | None:
    """Whether a plate is stranded at `at`: its latest record up to `at` is a service-area sighting whose
    uninterrupted run there spans ≥ `min_hours`. A record elsewhere (or another direction, or at another
    service area) or a sighting decided pass/escort/return ends the run."""
    rows = sorted((r for r in records if r.at <= at), key=lambda r: r.at)
    if not rows:
        return None
    last = rows[-1]
    if not (last.service_area and last.direction == "seen") or last.decision in ENDING_DECISIONS:
        return None
    first = last
    for r in reversed(rows[:-1]):
        if (not r.service_area or r.direction != "seen" or r.place_id != last.place_id
                or r.decision in ENDING_DECISIONS):
            break
        first = r
    hours = (last.at - first.at).total_seconds() / 3600
    if hours >= min_hours:
        return Stranded(last.place_id, first.at, last.at, round(hours, 1))
    return None
