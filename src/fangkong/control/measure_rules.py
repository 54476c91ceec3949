"""Release rules of a measure (解除规则), pure: no session, no clock — callers pass `at` and the time zone.

What a policy pack's category asks of a person, and what the person's samples say about it:

- the plan (`plan_for`): phases with their day ranges, PCR test days, how the measure ends (on day N,
  on two negatives ≥ 24 h apart, on a negative retest), its anchor, the pack version and rule;
- day numbering (`anchor_day`): day 0 is the anchor's local date (缺几天补几天: a contact found on day 3
  of their exposure serves days 3–7; test days before the start's local date are served, not due);
- `evaluate`: test-day matching (each test day in order takes the earliest unused negative collected on
  or after its date), the stepdown and release dates, conversion by a positive, missed test days;
- `extensions`: who restarts when someone under a measure turns positive (floors rule, household,
  secondary contacts), applied in report order;
- check-in slots and alerts.

Release is monotone by construction: the releasable moment is the earliest result report after which
every test day has a negative (so a later result — even of an earlier sample — never moves it), and a
superset of negatives matches whatever a subset matched (each test day accepts any later sample).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

#: measure states (issue #12): planned → active → releasable → released; or converted, transferred_out,
#: cancelled. `releasable` is what the rule says of an active measure; it is not stored.
STATUSES = ("planned", "active", "releasable", "released", "converted", "transferred_out", "cancelled")
#: the phases of an active measure, and `ended` once released or converted
PHASES = ("central", "home_quarantine", "home_monitoring", "self_monitoring", "temporary", "ended")
#: the phase by the pack's measure kind
PHASE_OF_KIND: dict[str, str] = {
    "centralised_quarantine": "central", "home_quarantine": "home_quarantine",
    "home_health_monitoring": "home_monitoring", "self_health_monitoring": "self_monitoring",
    "test_only": "self_monitoring", "temporary_control": "temporary", "none": "ended",
}
#: the phases a person checks in twice a day in
CHECKIN_PHASES = ("central", "home_quarantine", "home_monitoring")
ANCHORS = ("exposure", "departure", "arrival", "start")
#: how a measure ends: on day N with every test day negative, on negatives ≥ gap apart, on a retest
ENDINGS = ("days", "self_monitoring", "temporary")


# ------------------------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class PhasePlan:
    """One phase: days `from_day`..`to_day` of the measure (day 0 = the anchor's date; `to_day` None
    when open-ended) and its PCR test days counted from day 0."""

    phase: str
    measure: str
    from_day: int
    to_day: int | None
    test_days: tuple[int, ...]


@dataclass(frozen=True)
class MeasurePlan:
    """What a category asks for, as one pack version lays it out."""

    category: str
    anchor: str
    phases: tuple[PhasePlan, ...]
    ending: str
    pack_version: str
    rule: str
    negatives: int = 0
    min_gap_hours: float = 0.0
    within_days: int | None = None

    @property
    def day_n(self) -> int | None:
        """The last day (planned end): None for temporary control."""
        if self.ending == "temporary":
            return None
        if self.ending == "self_monitoring":
            return self.within_days if self.within_days is not None else self.phases[-1].to_day
        return self.phases[-1].to_day

    @property
    def test_days(self) -> tuple[int, ...]:
        return tuple(d for p in self.phases for d in p.test_days) if self.ending == "days" else ()

    @property
    def stepdown_day(self) -> int | None:
        """The last day of the first phase of a two-phase measure (central → home), else None."""
        return self.phases[0].to_day if self.ending == "days" and len(self.phases) > 1 else None

    @property
    def first_phase(self) -> str:
        return self.phases[0].phase if self.phases else "ended"


def plan_for(pack: Any, category: str) -> MeasurePlan:
    """The plan of `category` (its code or an alias) in `pack` (a `kernel.policy.schema.Pack`)."""
    code = pack.category_code(category)
    cat = pack.category(code)
    phases: list[PhasePlan] = []
    offset = 0
    for p in cat.phases:
        kind = pack.measure(p.measure).kind
        phases.append(PhasePlan(PHASE_OF_KIND.get(kind, "ended"), p.measure, offset,
                                offset + p.days if p.days is not None else None,
                                tuple(offset + d for d in p.test_days)))
        offset += p.days or 0
    until = cat.until_negatives
    if until is not None and until.count >= 2:
        ending = "self_monitoring"
    elif until is not None:
        ending = "temporary"
    else:
        ending = "days"
    return MeasurePlan(code, cat.anchor, tuple(phases), ending, pack.version_tag, f"categories.{code}",
                       negatives=until.count if until else 0, min_gap_hours=float(until.min_gap_hours) if until else 0.0,
                       within_days=until.within_days if until else None)


# ------------------------------------------------------------------------------------------ anchor

@dataclass(frozen=True)
class AnchorFacts:
    """The moments a measure may count from: its start, and what the lead said."""

    started_at: dt.datetime
    exposure_at: dt.datetime | None = None
    departure_at: dt.datetime | None = None
    arrival_at: dt.datetime | None = None


def anchor_of(anchor: str, facts: AnchorFacts) -> tuple[str, dt.datetime]:
    """(which moment was used, the moment) for a category's anchor: `departure` falls back to
    arrival, every anchor to the start when its moment is unknown; an anchor after the start (a
    mistyped date) is not believed: the start is used."""
    order = {"exposure": ("exposure",), "departure": ("departure", "arrival"), "arrival": ("arrival",),
             "start": ()}[anchor]
    for name in order:
        value = getattr(facts, f"{name}_at")
        if value is not None and value <= facts.started_at:
            return name, value
    return "start", facts.started_at


def anchor_day(anchor: str, facts: AnchorFacts, tz: dt.tzinfo) -> tuple[str, dt.date]:
    """(which moment was used, day 0): the local date of the anchor."""
    used, at = anchor_of(anchor, facts)
    return used, local_date(at, tz)


def local_date(at: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return at.astimezone(tz).date()


def day_start(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """Local midnight opening `day`, in UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def day_of(day0: dt.date, k: int) -> dt.date:
    return day0 + dt.timedelta(days=k)


# ----------------------------------------------------------------------------------------- samples

@dataclass(frozen=True)
class Sample:
    """A single-tube sample of the person: collected at, result (`negative`, `positive` or None while
    pending) and when the result was reported."""

    collected_at: dt.datetime
    result: str | None = None
    reported_at: dt.datetime | None = None
    id: int | None = None

    def known(self, at: dt.datetime) -> str | None:
        """The result as known at `at` (None when not reported by then)."""
        if self.result is None or self.reported_at is None or self.reported_at > at:
            return None
        return self.result


def match_days(days: Sequence[dt.date], negatives: Iterable[Sample], tz: dt.tzinfo) -> list[Sample | None]:
    """Test days in order, each taking the earliest unused sample collected on or after its date."""
    pool = sorted(negatives, key=lambda s: (s.collected_at, s.id or 0))
    used = [False] * len(pool)
    out: list[Sample | None] = []
    for day in days:
        found = None
        for i in range(len(pool)):
            if not used[i] and local_date(pool[i].collected_at, tz) >= day:
                used[i], found = True, pool[i]
                break
        out.append(found)
    return out


def completed_at(days: Sequence[dt.date], negatives: Sequence[Sample], tz: dt.tzinfo, at: dt.datetime
                 ) -> tuple[dt.datetime | None, list[Sample | None]]:
    """The earliest report time (≤ `at`) after which every day in `days` has a negative, and the
    matching as it stood then (or as it stands at `at` when incomplete). No days: complete at once
    (returns the epoch's minimum)."""
    known = sorted((s for s in negatives if s.known(at) == "negative"),
                   key=lambda s: (s.reported_at, s.collected_at))  # type: ignore[arg-type, return-value]
    if not days:
        return dt.datetime.min.replace(tzinfo=dt.UTC), []
    everything = match_days(days, known, tz)
    if any(g is None for g in everything):
        return None, everything
    # a longer prefix (in report order) matches whatever a shorter one did: bisect for the shortest
    lo, hi = len(days) - 1, len(known) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if all(g is not None for g in match_days(days, known[:mid + 1], tz)):
            hi = mid
        else:
            lo = mid + 1
    when = known[lo].reported_at
    # every result reported at that same moment was known then too
    return when, match_days(days, [s for s in known if s.reported_at <= when], tz)  # type: ignore[operator]


# -------------------------------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class TestDay:
    """A PCR test day of a measure as of a moment.

    `state`: `served` (before the measure started: 缺几天补几天), `upcoming`, `due` (its day, or
    after it inside the grace), `done` (a negative collected on the day), `made_up` (a later negative
    counts for it), `pending` (sampled, no result yet), `missed` (no sample on its own date and the
    grace is over; stays listed as `missed` in `missed_days` even when made up)."""

    day: int
    on: dt.date
    phase: str
    state: str
    missed: bool
    sample: Sample | None = None


@dataclass(frozen=True)
class Evaluation:
    """What the rule says of one measure at `at`."""

    plan: MeasurePlan
    at: dt.datetime
    day0: dt.date
    #: `active`, `releasable` or `converted` (the stored states planned/released/… are the service's)
    status: str
    #: the phase the rule puts the person in (`central` until the stepdown is due …)
    phase: str
    planned_end_on: dt.date | None
    stepdown_on: dt.date | None
    stepdown_at: dt.datetime | None
    releasable_on: dt.date | None
    releasable_at: dt.datetime | None
    converted_at: dt.datetime | None
    converted_by: Sample | None
    test_days: tuple[TestDay, ...] = field(default_factory=tuple)

    @property
    def missed_days(self) -> tuple[int, ...]:
        return tuple(t.day for t in self.test_days if t.missed)

    @property
    def releasable(self) -> bool:
        return self.status == "releasable"

    def waiting_for(self) -> tuple[int, ...]:
        """Test days (not served) that have no negative yet: what a manual release lacks."""
        return tuple(t.day for t in self.test_days if t.state not in ("served", "done", "made_up"))


def _moment(day_n_on: dt.date | None, done: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    if done is None:
        return None
    floor = day_start(day_n_on, tz) if day_n_on is not None else done
    return max(floor, done)


def evaluate(plan: MeasurePlan, *, day0: dt.date, started_at: dt.datetime, samples: Iterable[Sample],
             at: dt.datetime, tz: dt.tzinfo, grace: dt.timedelta = dt.timedelta(hours=12),
             counts_from: dt.datetime | None = None, released_at: dt.datetime | None = None) -> Evaluation:
    """The measure as of `at`.

    `day0` is the anchor's local date (or a restart's, see `extensions`); `counts_from` the restart
    moment: samples collected before it no longer count for release. Only samples collected by `at`
    and results reported by `at` are seen. A positive collected since `started_at` and reported by
    `at` (and before `released_at`, when released) converts the measure; nothing else releases it.
    """
    seen = [s for s in samples if s.collected_at <= at]
    positive = min((s for s in seen if s.collected_at >= started_at and s.known(at) == "positive"
                    and (released_at is None or s.reported_at <= released_at)),  # type: ignore[operator]
                   key=lambda s: s.reported_at, default=None)  # type: ignore[arg-type, return-value]
    since = max(started_at, counts_from) if counts_from is not None else started_at
    counting = [s for s in seen if s.collected_at >= since]
    negatives = [s for s in counting if s.result == "negative"]
    n = plan.day_n
    planned_end_on = day_of(day0, n) if n is not None else None
    stepdown_on = stepdown_at = releasable_at = None
    days: tuple[TestDay, ...] = ()
    if plan.ending == "days":
        served_before = local_date(since, tz)
        schedule = [(k, day_of(day0, k), p.phase) for p in plan.phases for k in p.test_days]
        required = [(k, on, ph) for k, on, ph in schedule if on >= served_before]
        done, got = completed_at([on for _k, on, _p in required], negatives, tz, at)
        releasable_at = _moment(planned_end_on, done, tz)
        matched = {k: g for (k, _on, _p), g in zip(required, got, strict=False)}
        if plan.stepdown_day is not None:
            central = [(k, on) for k, on, _p in required if k <= plan.stepdown_day]
            s_done, _g = completed_at([on for _k, on in central], negatives, tz, at)
            stepdown_at = _moment(day_of(day0, plan.stepdown_day), s_done, tz)
            stepdown_on = day_of(day0, plan.stepdown_day)
        dated = [(local_date(s.collected_at, tz), s) for s in counting]
        days = tuple(_test_day(k, on, ph, on < served_before, matched.get(k), dated, at, tz, grace)
                     for k, on, ph in schedule)
    elif plan.ending == "self_monitoring":
        releasable_at = _pair_done(negatives, plan.min_gap_hours, at)
    else:
        firsts = [s.reported_at for s in negatives if s.known(at) == "negative"]
        releasable_at = min(firsts) if firsts else None  # type: ignore[type-var]
    releasable_on = local_date(releasable_at, tz) if releasable_at is not None else None
    if positive is not None:
        status, phase = "converted", "ended"
    elif releasable_at is not None and releasable_at <= at:
        status, phase = "releasable", plan.phases[-1].phase
    else:
        status = "active"
        phase = plan.first_phase
        if stepdown_at is not None and stepdown_at <= at and len(plan.phases) > 1:
            phase = plan.phases[1].phase
    return Evaluation(plan, at, day0, status, phase, planned_end_on, stepdown_on, stepdown_at, releasable_on,
                      releasable_at, positive.reported_at if positive else None, positive, days)


def _test_day(k: int, on: dt.date, phase: str, served: bool, sample: Sample | None,
              dated: Sequence[tuple[dt.date, Sample]], at: dt.datetime, tz: dt.tzinfo, grace: dt.timedelta) -> TestDay:
    """One test day's state; `dated` are the counting samples with their local collection dates."""
    if served:
        return TestDay(k, on, phase, "served", False)
    missed = not any(d == on for d, _s in dated) and at >= day_start(on + dt.timedelta(days=1), tz) + grace
    if sample is not None:
        state = "done" if local_date(sample.collected_at, tz) == on else "made_up"
    elif missed:
        state = "missed"
    elif any(s.known(at) is None for d, s in dated if d >= on):
        state = "pending"
    elif local_date(at, tz) < on:
        state = "upcoming"
    else:
        state = "due"
    return TestDay(k, on, phase, state, missed, sample)


def _pair_done(negatives: Sequence[Sample], gap_hours: float, at: dt.datetime) -> dt.datetime | None:
    """Self-monitoring: the earliest moment two negatives collected ≥ `gap_hours` apart both have
    their results (reported by `at`)."""
    known = sorted((s for s in negatives if s.known(at) == "negative"), key=lambda s: s.collected_at)
    gap = dt.timedelta(hours=gap_hours)
    best: dt.datetime | None = None
    for i, a in enumerate(known):
        for b in known[i + 1:]:
            if b.collected_at - a.collected_at >= gap:
                when = max(a.reported_at, b.reported_at)  # type: ignore[type-var]
                best = when if best is None or when < best else best
    return best


# -------------------------------------------------------------------------------------- extensions

@dataclass(frozen=True)
class Member:
    """A person under a measure, as extensions see them. `central_from`/`central_until`: when they
    are in central quarantine (None: not / still); `active_until`: released, ended or converted."""

    measure_id: int
    person_id: int
    category: str
    active_from: dt.datetime
    active_until: dt.datetime | None = None
    site_id: int | None = None
    building: str | None = None
    floor: int | None = None
    household: str | None = None
    #: the person id of the close contact this secondary contact is linked to
    contact_of: int | None = None
    central_from: dt.datetime | None = None
    central_until: dt.datetime | None = None

    def active(self, at: dt.datetime) -> bool:
        return self.active_from <= at and (self.active_until is None or at < self.active_until)

    def central(self, at: dt.datetime) -> bool:
        return (self.active(at) and self.central_from is not None and self.central_from <= at
                and (self.central_until is None or at < self.central_until))


@dataclass(frozen=True)
class Positive:
    person_id: int
    reported_at: dt.datetime


@dataclass(frozen=True)
class Restart:
    """A measure restarted by someone's positive (自新发现阳性当日起重新计算): day 0 = `day0`, samples
    before `at` no longer count; `category` is the new category (close_contact) or None (unchanged);
    `needs_room` when they go to central quarantine without a room yet."""

    measure_id: int
    person_id: int
    at: dt.datetime
    day0: dt.date
    reason: str
    source_person_id: int
    category: str | None = None
    needs_room: bool = False


@dataclass(frozen=True)
class Conversion:
    measure_id: int
    person_id: int
    at: dt.datetime


def extensions(members: Sequence[Member], positives: Iterable[Positive], tz: dt.tzinfo, *,
               floors_rule: bool = True, floors_apart: int = 1, close_contact: str = "close_contact"
               ) -> tuple[list[Conversion], list[Restart]]:
    """Conversions and restarts, in report order. For each positive of a person under an active
    measure at its report time t: their measure converts; then, each other active member restarts
    (day 0 = t's local date) when they are — by priority — of the same household (→ close contact,
    central), linked as secondary contact (`contact_of`, → close contact, central, no room yet), or
    (floors rule) in central quarantine in the same site and building on a floor within
    `floors_apart` of the positive person's, who was in central quarantine there at t."""
    state = {m.measure_id: m for m in members}
    by_person: dict[int, list[int]] = {}
    for m in members:
        by_person.setdefault(m.person_id, []).append(m.measure_id)
    conversions: list[Conversion] = []
    restarts: list[Restart] = []
    for pos in sorted(positives, key=lambda p: (p.reported_at, p.person_id)):
        t = pos.reported_at
        own = [state[i] for i in by_person.get(pos.person_id, []) if state[i].active(t)]
        if not own:
            continue
        for m in own:
            conversions.append(Conversion(m.measure_id, m.person_id, t))
            state[m.measure_id] = replace(m, active_until=t)
        households = {m.household for m in own if m.household}
        spots = [(m.site_id, m.building, m.floor) for m in own
                 if m.central(t) and m.site_id is not None and m.floor is not None]
        for mid, m in list(state.items()):
            if m.person_id == pos.person_id or not m.active(t):
                continue
            reason = None
            if m.household and m.household in households:
                reason = "household"
            elif m.contact_of == pos.person_id:
                reason = "contact_of"
            elif floors_rule and m.central(t) and m.floor is not None and any(
                    m.site_id == s and m.building == b and abs(m.floor - f) <= floors_apart for s, b, f in spots):
                reason = "floor"
            if reason is None:
                continue
            to_central = reason != "floor"
            needs_room = reason == "contact_of" or (to_central and not m.central(t))
            category = close_contact if reason in ("household", "contact_of") and m.category != close_contact else None
            restarts.append(Restart(mid, m.person_id, t, local_date(t, tz), reason, pos.person_id, category,
                                    needs_room))
            state[mid] = replace(m, category=category or m.category, central_from=m.central_from if m.central(t)
                                 else t, central_until=None,
                                 site_id=m.site_id if not needs_room else None)
    return conversions, restarts


# --------------------------------------------------------------------------------------- check-ins

def checkin_slots(active_from: dt.datetime, active_until: dt.datetime | None, at: dt.datetime, tz: dt.tzinfo,
                  starts: Sequence[str] = ("00:00", "12:00")) -> list[tuple[dt.datetime, dt.datetime]]:
    """The check-in slots lying wholly inside [active_from, min(active_until, at)] (UTC pairs)."""
    end = min(active_until, at) if active_until is not None else at
    if end <= active_from:
        return []
    times = [dt.time(int(s[:2]), int(s[3:])) for s in starts]
    out = []
    day = local_date(active_from, tz)
    while day_start(day, tz) < end:
        bounds = [dt.datetime.combine(day, t, tzinfo=tz).astimezone(dt.UTC) for t in times]
        bounds.append(day_start(day + dt.timedelta(days=1), tz))
        for a, b in itertools.pairwise(bounds):
            if a >= active_from and b <= end:
                out.append((a, b))
        day += dt.timedelta(days=1)
    return out


def missed_slots(slots: Sequence[tuple[dt.datetime, dt.datetime]], checkins: Iterable[dt.datetime]
                 ) -> list[tuple[dt.datetime, dt.datetime]]:
    """Slots without a check-in inside them."""
    times = sorted(checkins)
    return [(a, b) for a, b in slots if not any(a <= t < b for t in times)]


def checkin_alert(temperature: float | None, symptoms: Iterable[str], *, fever_celsius: float = 37.3,
                  listed: Iterable[str] = ()) -> list[str]:
    """Why a check-in alerts the site doctor: `fever` (≥ the threshold) and each listed symptom named."""
    out = ["fever"] if temperature is not None and temperature >= fever_celsius else []
    known = set(listed)
    out += [s for s in symptoms if s in known]
    return out
