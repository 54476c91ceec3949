"""The control status of persons (管控状态): one read for every page and answer that says whether
someone is under a measure — the person page, the lead, a case's contacts, the citizen's own page,
the venue scan. Bulk and cheap: one query for any number of persons (in chunks of 500 ids)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control import measure_rules, rules
from fangkong.control.models import Measure, MeasureEvent
from fangkong.control.rules import ControlStatus
from fangkong.control.service import due, lifecycle
from fangkong.control.service.due import DueTestView
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.people import service as people_service
from fangkong.kernel.places.models import Place

CHUNK = 500


def _facts(session: Session, person_ids: Sequence[int], lo: dt.datetime, hi: dt.datetime
           ) -> dict[int, list[rules.MeasureFacts]]:
    """Measures of these persons that may be in force at some moment in [lo, hi]."""
    out: dict[int, list[rules.MeasureFacts]] = defaultdict(list)
    ids = sorted(set(person_ids))
    for i in range(0, len(ids), CHUNK):
        stmt = (select(Measure, Place.name).outerjoin(Place, Place.id == Measure.place_id)
                .where(in_list(session, Measure.person_id, ids[i:i + CHUNK]),
                       Measure.status.in_(("active", *rules.FINISHED)), Measure.started_at <= hi,
                       or_(Measure.ended_at.is_(None), Measure.ended_at > lo),
                       or_(Measure.planned_end_at.is_(None), Measure.planned_end_at > lo)))
        for m, site in session.execute(stmt):
            out[m.person_id].append(rules.MeasureFacts(
                m.id, m.person_id, m.category, m.kind, m.phases or [], m.started_at, m.planned_end_at, m.status,
                m.ended_at, m.place_kind, m.place_id, site, m.unit_id, m.pack_version))
    return out


def status_of(session: Session, person_ids: Iterable[int], *, at: dt.datetime) -> dict[int, ControlStatus]:
    """Each person's control status at `at` (every id gets one; `kind == "none"` when not under
    control). Unscoped: callers show it only for persons they may see."""
    ids = sorted(set(person_ids))
    facts = _facts(session, ids, at, at)
    return {pid: rules.status_from(pid, facts.get(pid, []), at) for pid in ids}


def statuses_at(session: Session, items: Sequence[tuple[int, dt.datetime]]) -> list[ControlStatus]:
    """The status of each (person, moment) pair, in order — e.g. a batch of scans, each at its own
    time — from one query over all the persons."""
    if not items:
        return []
    lo, hi = min(at for _p, at in items), max(at for _p, at in items)
    facts = _facts(session, [p for p, _at in items], lo, hi)
    return [rules.status_from(pid, facts.get(pid, []), at) for pid, at in items]


@dataclass
class PersonControl:
    """What the person page and the API show of one person's control: the status now, the person's
    measures (newest first) and the test days of them (应检日)."""

    status: ControlStatus
    measures: list[Measure]
    due_tests: list[DueTestView]


def control_of_person(session: Session, actor: Actor, person_id: int, *, at: dt.datetime,
                      audit_view: bool = True) -> PersonControl:
    """One person's control (NotFound outside the actor's jurisdiction; the view audited unless the
    page that includes it has audited it already)."""
    person = people_service.get_person(session, actor, person_id, audit_view=audit_view)
    measures = list(session.execute(select(Measure).where(Measure.person_id == person.id)
                                    .order_by(Measure.started_at.desc(), Measure.id.desc()).limit(20)).scalars())
    return PersonControl(status_of(session, [person.id], at=at)[person.id], measures,
                         due.due_tests_of_person(session, person.id, at=at))


# ---------------------------------------------------------------------------------- the lifecycle

@dataclass(frozen=True)
class MeasureState:
    """One measure as of a moment (管控状态): its stored state then (the last change at or before it),
    `releasable` when the rules allow release of an active one, the phase, day 0, day N, the stepdown and
    release dates the rules give, and the missed test days. What the person page, a case's contacts,
    the citizen page, the venue scan and `fangkong export measures` show alike."""

    person_id: int
    measure_id: int
    category: str
    status: str
    phase: str | None
    anchor_on: dt.date
    planned_end_on: dt.date | None
    stepdown_on: dt.date | None
    releasable_on: dt.date | None
    released_at: dt.datetime | None
    place_kind: str
    site_id: int | None
    site_name: str | None
    missed_tests: tuple[int, ...]
    pack_version: str
    rule: str
    evaluation: measure_rules.Evaluation | None


def _as_of(m: Measure, events: Sequence[MeasureEvent], at: dt.datetime) -> tuple[str, str | None, dt.date | None]:
    """(status, phase, day 0) of `m` at `at`: the last event at or before it; a measure from before the
    lifecycle (no events) is active from its start until it ended."""
    if events:
        last = events[-1]
        day0 = None
        for e in events:
            if (e.detail or {}).get("anchor_on"):
                day0 = dt.date.fromisoformat(e.detail["anchor_on"])
        return last.to_status, last.to_phase, day0
    if m.ended_at is not None and m.ended_at <= at:
        return m.status, "ended", None
    return "active", None, None


def status_as_of(session: Session, *, at: dt.datetime, person_ids: Iterable[int] | None = None,
                 measures: Sequence[Measure] | None = None) -> list[MeasureState]:
    """The measures of these persons (or these measures) as of `at`: measures started later and
    events after `at` are ignored, and the rules see only results reported by `at`. Unscoped: callers
    show it only for persons they may see."""
    if measures is None:
        ids = sorted(set(person_ids or ()))
        found: list[Measure] = []
        for i in range(0, len(ids), CHUNK):
            found += session.execute(select(Measure).where(
                in_list(session, Measure.person_id, ids[i:i + CHUNK]), Measure.started_at <= at)
                .order_by(Measure.id)).scalars().all()
        measures = found
    measures = [m for m in measures if m.started_at <= at]
    events = lifecycle.events_of(session, [m.id for m in measures], at=at)
    sites = {p.id: p.name for p in session.execute(select(Place).where(
        Place.id.in_({m.place_id for m in measures if m.place_id is not None} or {0}))).scalars()}
    evs = lifecycle.evaluations(session, [m for m in measures if _as_of(m, events.get(m.id, []), at)[0] == "active"],
                                at=at)
    out: list[MeasureState] = []
    tz = clock.tz()
    for m in measures:
        status, phase, day0 = _as_of(m, events.get(m.id, []), at)
        ev = evs.get(m.id)
        if ev is not None and day0 is not None and day0 != ev.day0:
            ev = None  # restarted since `at`: the count then is not today's (kept simple: no dates)
        if ev is not None:
            if ev.status == "releasable":
                status = "releasable"
            phase = phase if phase and phase != ev.plan.first_phase else ev.phase
        released = m.released_at if m.released_at is not None and m.released_at <= at else None
        out.append(MeasureState(
            person_id=m.person_id, measure_id=m.id, category=m.category, status=status, phase=phase,
            anchor_on=day0 or lifecycle.day0_of(m),
            planned_end_on=m.planned_end_on if ev is None else ev.planned_end_on,
            stepdown_on=measure_rules.local_date(ev.stepdown_at, tz) if ev is not None and ev.stepdown_at else None,
            releasable_on=ev.releasable_on if ev is not None else None, released_at=released,
            place_kind=m.place_kind, site_id=m.place_id, site_name=sites.get(m.place_id) if m.place_id else None,
            missed_tests=ev.missed_days if ev is not None else (), pack_version=m.pack_version, rule=m.rule,
            evaluation=ev))
    return out
