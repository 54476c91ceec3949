"""Pure zone rules (风险区域规则): the strictest level per address over overlapping zones, and a zone's
downgrade eligibility (降级/解封条件) computed from the facts, never typed. No session, no clock: the
caller passes the moment `at` and the time zone.

Day counting (第九版, 风险区域划定及防控管理). Day 0 is the local date of the later of the last new
infection in the zone and the moment the zone reached its present level; day k is k days later. A
zone is eligible from the start of day N + 1 (N whole quiet days behind it):
- high → medium: N = `high_days` (7) **and** a round started on day N whose every target is sampled
  (or excluded) with a negative result and no positive: eligible at the later of the start of day
  N + 1 and that round's last result;
- medium → low: N = `medium_days` (7), or `medium_days_after_high` (3) when it came down from high;
- low → lifted: N = `low_days` (7).
A new infection (a late positive) moves day 0 and so resets the count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LEVELS: tuple[str, ...] = ("high", "medium", "low")
#: strictness: a higher number wins where zones overlap
LEVEL_RANK: Mapping[str, int] = {"low": 1, "medium": 2, "high": 3}
#: the next level down (`lifted`: no longer a zone)
NEXT_LEVEL: Mapping[str, str] = {"high": "medium", "medium": "low", "low": "lifted"}


@dataclass(frozen=True)
class Cover:
    """One zone as the overlap rule sees it: its level, its addresses and when it is in force."""

    zone_id: int
    level: str
    address_ids: frozenset[int]
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None

    def in_force(self, at: dt.datetime) -> bool:
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)


def strictest(levels: Iterable[str]) -> str | None:
    """The strictest of some levels (None when there are none)."""
    best: str | None = None
    for lv in levels:
        if best is None or LEVEL_RANK[lv] > LEVEL_RANK[best]:
            best = lv
    return best


def levels_by_address(covers: Iterable[Cover], at: dt.datetime) -> dict[int, tuple[str, int]]:
    """address id → (strictest level, the zone that sets it) over the zones in force at `at`.
    Between two zones of the same level the older (lower id) one names it."""
    out: dict[int, tuple[str, int]] = {}
    for c in sorted(covers, key=lambda c: c.zone_id):
        if not c.in_force(at):
            continue
        for a in c.address_ids:
            held = out.get(a)
            if held is None or LEVEL_RANK[c.level] > LEVEL_RANK[held[0]]:
                out[a] = (c.level, c.zone_id)
    return out


@dataclass(frozen=True)
class DowngradeDays:
    """The pack's numbers (`zones.downgrade`)."""

    high_days: int = 7
    high_round_required: bool = True
    medium_days: int = 7
    medium_days_after_high: int = 3
    low_days: int = 7


@dataclass(frozen=True)
class RoundFacts:
    """A testing round of the zone, summed up: targets, how many are done (sampled and resulted or
    excluded), how many positive, and when its last result came."""

    round_id: int
    started_at: dt.datetime
    targets: int
    excluded: int
    negative: int
    positive: int
    last_result_at: dt.datetime | None = None

    @property
    def complete_negative(self) -> bool:
        """Every target sampled with a negative result (or excluded), none positive."""
        return self.positive == 0 and self.targets > 0 and self.negative + self.excluded >= self.targets


@dataclass(frozen=True)
class ZoneFacts:
    """What eligibility reads of one zone."""

    level: str
    #: when the zone reached its present level (drawn, or downgraded)
    level_since: dt.datetime
    came_from_high: bool = False
    #: times of new infections in the zone (a resident's positive sample's collection time)
    infections: tuple[dt.datetime, ...] = ()
    rounds: tuple[RoundFacts, ...] = ()


@dataclass(frozen=True)
class Eligibility:
    """The evidence and the verdict."""

    level: str
    next_level: str
    eligible: bool
    #: the day count's day 0 (local date) and N
    day0: dt.date
    days_required: int
    last_infection_at: dt.datetime | None
    #: the round that meets the day-N condition (None when none does or none is needed)
    qualifying_round: int | None
    #: the local date from which it is (or will be, when nothing new happens) eligible; None while a
    #: required round is missing or incomplete on or after day N
    eligible_on: dt.date | None
    #: why not yet (a stable code): "", "days", "round_missing", "round_incomplete", "round_positive"
    waiting_for: str = ""
    days_quiet: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def _local_date(at: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return at.astimezone(tz).date()


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


def days_required(facts: ZoneFacts, days: DowngradeDays) -> int:
    if facts.level == "high":
        return days.high_days
    if facts.level == "medium":
        return days.medium_days_after_high if facts.came_from_high else days.medium_days
    return days.low_days


def eligibility(facts: ZoneFacts, days: DowngradeDays, *, at: dt.datetime, tz: dt.tzinfo) -> Eligibility:
    """Whether the zone may move down one level at `at`, and the evidence.

    Only what was known at `at` counts: infections and rounds after `at` are ignored (a round's
    results are its counts as the caller read them at `at`)."""
    if facts.level not in LEVEL_RANK:
        raise ValueError(f"unknown level {facts.level!r}")
    known = [t for t in facts.infections if t <= at]
    last = max(known) if known else None
    anchor = max(facts.level_since, last) if last is not None else facts.level_since
    day0 = _local_date(anchor, tz)
    n = days_required(facts, days)
    day_n = day0 + dt.timedelta(days=n)
    quiet_from = _midnight(day_n + dt.timedelta(days=1), tz)
    today = _local_date(at, tz)
    quiet = max(0, min((today - day0).days - 1, n)) if today > day0 else 0
    if at >= quiet_from:
        quiet = n
    nxt = NEXT_LEVEL[facts.level]
    needs_round = facts.level == "high" and days.high_round_required
    if not needs_round:
        eligible = at >= quiet_from
        return Eligibility(facts.level, nxt, eligible, day0, n, last, None, quiet_from.date(),
                           "" if eligible else "days", quiet)
    # a round started on day N (local date) or later, after the last infection
    candidates = [r for r in facts.rounds if r.started_at <= at and _local_date(r.started_at, tz) >= day_n]
    good = [r for r in candidates if r.complete_negative]
    if good:
        best = min(good, key=lambda r: (r.last_result_at or r.started_at, r.round_id))
        done_at = max(quiet_from, best.last_result_at or quiet_from)
        eligible = at >= done_at
        on = _local_date(done_at, tz)
        return Eligibility(facts.level, nxt, eligible, day0, n, last, best.round_id, on,
                           "" if eligible else "days", quiet)
    if at < quiet_from and today < day_n:
        # day N has not come: the date it would be, given a clean round on day N
        return Eligibility(facts.level, nxt, False, day0, n, last, None, quiet_from.date(), "days", quiet)
    if not candidates:
        waiting = "round_missing"
    elif any(r.positive for r in candidates):
        waiting = "round_positive"
    else:
        waiting = "round_incomplete"
    return Eligibility(facts.level, nxt, False, day0, n, last, None, None, waiting, quiet)
