"""Measures (管控措施): start one with its schedule and due tests, end it, extend it, move it to the
right person after a wrong merge; read the measures in force."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fangkong.control import measure_rules, rules
from fangkong.control.models import PLACE_KINDS, DueTest, Measure
from fangkong.control.service import due, lifecycle
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.errors import ONE_OF, Conflict, FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.messages import Term, _, labels, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack

UNKNOWN_CATEGORY_IN = message("measure.unknown_category", _("unknown category %(category)s in %(pack)s"))
SITE_REQUIRED = message("measure.site_required", _("a quarantine site is required"))
INVALID_MEASURE = message("measure.invalid", _("invalid measure"))
NOT_ACTIVE = message("measure.not_active", _("measure %(id)s is %(status)s, not active"))
labels("measure_place", {"home": _("at home"), "site": _("at a quarantine site")})
labels("measure_status", {"planned": _("planned"), "active": _("active"), "ended": _("ended"),
                          "released": _("released"), "converted": _("converted"),
                          "transferred_out": _("transferred out"), "cancelled": _("cancelled")})
labels("record", {"measure": _("measure")})
labels("audit_action", {"measure.started": _("Measure started"), "measure.ended": _("Measure ended")})
labels("field", {"place_kind": _("Where"), "measure_id": _("Measure")})

CHUNK = 500

NO_LONGER_ACTIVE = message("measure.no_longer_active", _("measure %(id)s is no longer active"))
INVALID_EXTENSION = message("measure.invalid_extension", _("the measure cannot be extended"))
EXTEND_DAYS = message("measure.extend_days", _("between %(min)s and %(max)s days"))
OPEN_ENDED = message("measure.open_ended", _("this measure ends on negative tests, not on a day count"))
MAX_EXTENSION_DAYS = 60

#: measure kinds from weakest to strongest (the same order intake decides by)
KIND_RANK = rules.KIND_RANK


def schedule(pack: Pack, category: str, started_at: dt.datetime, *, anchor_on: dt.date | None = None
             ) -> dict[str, Any]:
    """Phases with start and end, test dates (local dates) and the planned end (None when the category
    ends on negatives rather than on a day count). Each phase carries its measure's names from the
    pack, so the status can name it without the pack.

    A category that ends on its day count counts from day 0 = `anchor_on` (default: the start's local
    date): test day k falls k days later, phases end k days after the anchor (at the start's time of
    day), and test days before the start's date are served, not listed (缺几天补几天). One that ends on
    negatives tests from the start's date on (day 1 = the start's local date)."""
    cat = pack.category(category)
    start_day = clock.to_local(started_at).date()  # type: ignore[union-attr]
    by_count = cat.until_negatives is None
    day0 = rules.due_day0(by_count, start_day, anchor_on)
    base = started_at - dt.timedelta(days=(start_day - day0).days) if by_count else started_at
    first_test = day0 if by_count else start_day - dt.timedelta(days=1)
    phases: list[dict[str, Any]] = []
    tests: list[str] = []
    offset = 0
    for i, phase in enumerate(cat.phases):
        p_start = started_at if i == 0 else max(started_at, base + dt.timedelta(days=offset))
        p_end = max(p_start, base + dt.timedelta(days=offset + phase.days)) if phase.days is not None else None
        dates = [(first_test + dt.timedelta(days=offset + d)).isoformat() for d in phase.test_days
                 if first_test + dt.timedelta(days=offset + d) >= start_day]
        tests.extend(dates)
        m = pack.measure(phase.measure)
        phases.append({"measure": phase.measure, "kind": m.kind, "name_zh": m.name_zh, "name_en": m.name_en,
                       "start_at": p_start.isoformat(), "end_at": p_end.isoformat() if p_end else None,
                       "days": phase.days, "test_dates": dates})
        offset += phase.days or 0
    total = cat.total_days
    kind = rules.strongest(p["kind"] for p in phases)
    return {"phases": phases, "test_dates": tests, "kind": kind,
            "planned_end_at": max(started_at, base + dt.timedelta(days=total)) if total is not None else None}


def _pack_of(session: Session, measure: Measure) -> Pack:
    try:
        return policy_service.get_pack(session, measure.pack_version)
    except Exception:  # a pack removed since: the active one still knows the categories
        return policy_service.active_pack(session)


def start_measure(
    session: Session,
    actor: Actor,
    *,
    person_id: int,
    category: str,
    rule: str,
    lead_id: int | None = None,
    place_kind: str = "home",
    place_id: int | None = None,
    started_at: dt.datetime | None = None,
    pack_version: str | None = None,
    chase_missed: bool = True,
    exposure_at: dt.datetime | None = None,
    departure_at: dt.datetime | None = None,
    arrival_at: dt.datetime | None = None,
    planned: bool = False,
) -> Measure:
    """Start the measure a policy category asks for (落实管控), with its test days and planned end;
    every test day becomes a due test of the person (应检日).

    `pack_version` names the pack that decided it (default: the active pack). A site measure names
    the quarantine site's place id. Owned by the person's unit. `chase_missed=False` when the caller
    chases the tests itself (a positive pool's retest task), so a missed day makes no second task.

    Day 0 of the measure is its category's anchor (`exposure_at`, `departure_at`, `arrival_at` or the
    start, see `measure_rules.anchor_of`); `planned=True` when it awaits a room or transport (it
    becomes active on arrival). The start is kept as the measure's first event.
    """
    actor.require("measure.start")
    errors: list[FieldError] = []
    pack = policy_service.get_pack(session, pack_version) if pack_version else policy_service.active_pack(session)
    category = pack.category_code(category)
    if category not in pack.categories:
        errors.append(FieldError("category", UNKNOWN_CATEGORY_IN(category=repr(category), pack=pack.version_tag)))
    if place_kind not in PLACE_KINDS:
        errors.append(FieldError("place_kind", ONE_OF(choices=[Term(k, kind="measure_place") for k in PLACE_KINDS])))
    if place_kind == "site":
        place = session.get(Place, place_id) if place_id is not None else None
        if place is None or place.kind != "quarantine_site":
            errors.append(FieldError("site_place_id", SITE_REQUIRED()))
    if errors:
        raise ValidationFailed(INVALID_MEASURE(), errors)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(record_not_found("person", person_id))
    now = clock.now()
    start = started_at or now
    facts = measure_rules.AnchorFacts(started_at=start, exposure_at=exposure_at, departure_at=departure_at,
                                      arrival_at=arrival_at)
    anchor_used, anchor_on = measure_rules.anchor_day(pack.category(category).anchor, facts, clock.tz())
    plan = schedule(pack, category, start, anchor_on=anchor_on)
    measure = Measure(
        person_id=person.id, category=category, measure_code=pack.category(category).phases[0].measure,
        kind=plan["kind"], phases=plan["phases"], test_dates=plan["test_dates"], started_at=start,
        planned_end_at=plan["planned_end_at"], status="planned" if planned else "active",
        pack_version=pack.version_tag, rule=rule,
        lead_id=lead_id, place_kind=place_kind, place_id=place_id if place_kind == "site" else None,
        unit_id=person.unit_id, unit_path=person.unit_path, created_at=now, anchor=anchor_used, anchor_on=anchor_on,
    )
    session.add(measure)
    session.flush()
    made = due.sync_due_tests(session, actor, measure, pack, at=now, chase=chase_missed)
    anchor = lifecycle.began(session, actor, measure, pack=pack, at=start, facts=facts)
    audit.record(session, actor, "measure.started", object_type="measure", object_id=measure.id,
                 person_id=person.id, category=category, measure=measure.measure_code, rule=rule,
                 pack_version=pack.version_tag, place_kind=place_kind, lead_id=lead_id, due_tests=made, **anchor)
    return measure


def end_measure(session: Session, actor: Actor, *, measure_id: int, reason: str,
                at: dt.datetime | None = None) -> Measure:
    """End a measure before or at its planned end (解除管控), e.g. after a negative single-tube retest.
    Its due tests not yet done whose window has not closed are cancelled."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    if measure.status != "active":
        raise Conflict(NOT_ACTIVE(id=measure_id, status=Term(measure.status, kind="measure_status")))
    at = at or clock.now()
    measure.ended_at = at
    measure.end_reason = reason[:200]
    lifecycle.record_change(session, actor, measure, action="ended", to_status="ended", to_phase="ended", at=at,
                            reason=reason, audited=False)  # audited below, with the due tests cancelled
    cancelled = due.cancel_due_tests(session, measure, at=at)
    audit.record(session, actor, "measure.ended", object_type="measure", object_id=measure.id,
                 person_id=measure.person_id, reason=reason[:200], due_tests_cancelled=cancelled)
    return measure


def extend_measure(session: Session, actor: Actor, *, measure_id: int, days: int, reason: str,
                   at: dt.datetime | None = None) -> Measure:
    """Lengthen the last phase of an active measure by `days` (延长管控), e.g. after a new exposure.

    The planned end moves by `days`; when the pack tests on the last day of that phase (a test
    before release), the new last day gets that test too. The due list follows."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    if measure.status != "active":
        raise Conflict(NO_LONGER_ACTIVE(id=measure_id))
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationFailed(INVALID_EXTENSION(), [FieldError("days", EXTEND_DAYS(min=1, max=MAX_EXTENSION_DAYS))])
    phases = [dict(p) for p in measure.phases]
    last = phases[-1] if phases else None
    if last is None or last.get("days") is None or measure.planned_end_at is None:
        raise ValidationFailed(INVALID_EXTENSION(), [FieldError("days", OPEN_ENDED())])
    start_day = clock.to_local(measure.started_at).date()  # type: ignore[union-attr]
    pack = _pack_of(session, measure)
    by_count = measure.category not in pack.categories or pack.categories[measure.category].until_negatives is None
    day0 = rules.due_day0(by_count, start_day, measure.anchor_on)
    offset = sum(int(p.get("days") or 0) for p in phases[:-1])
    old_last_day = day0 + dt.timedelta(days=offset + int(last["days"]))
    last["days"] = int(last["days"]) + days
    last["end_at"] = (rules.as_time(last["end_at"]) + dt.timedelta(days=days)).isoformat()  # type: ignore[operator]
    dates = list(last.get("test_dates") or [])
    if old_last_day.isoformat() in dates:
        dates.append((old_last_day + dt.timedelta(days=days)).isoformat())
    last["test_dates"] = dates
    phases[-1] = last
    measure.phases = phases
    measure.test_dates = [d for p in phases for d in p.get("test_dates") or []]
    measure.planned_end_at = measure.planned_end_at + dt.timedelta(days=days)
    if measure.planned_end_on is not None:
        measure.planned_end_on = measure.planned_end_on + dt.timedelta(days=days)
    session.flush()
    made = due.sync_due_tests(session, actor, measure, pack, at=at or clock.now())
    audit.record(session, actor, "measure.extended", object_type="measure", object_id=measure.id,
                 person_id=measure.person_id, days=days, reason=reason[:200], due_tests_added=made)
    return measure


MEASURE_HOLD_NOT_ACTIVE = message("measure.hold_not_active", _("measure %(id)s is no longer in force"))


def hold_measure(session: Session, actor: Actor, *, measure_id: int, reason: str) -> Measure:
    """Keep a measure in force past its planned end until it is ended explicitly (暂缓解除), e.g. a
    secondary contact whose close contact's first tests are not yet negative (9th edition). The
    schedule (phases, test dates) is kept; holding a held measure changes nothing. While held, the
    person stays in the last phase (the control status says so)."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    if measure.status != "active":
        raise Conflict(MEASURE_HOLD_NOT_ACTIVE(id=measure_id))
    if measure.planned_end_at is None:
        return measure
    planned = measure.planned_end_at
    measure.planned_end_at = None
    session.flush()
    audit.record(session, actor, "measure.held", object_type="measure", object_id=measure.id,
                 person_id=measure.person_id, reason=reason[:200], planned_end_at=clock.iso_local(planned))
    return measure


def get_measure(session: Session, actor: Actor, measure_id: int) -> Measure:
    actor.require("person.view")
    return scope.get_visible(session, actor, Measure, measure_id)


def measures_in_force(session: Session, person_ids: Iterable[int], *, at: dt.datetime | None = None
                      ) -> dict[int, list[Measure]]:
    """Active measures not yet past their planned end, by person (unscoped: for decisions)."""
    at = at or clock.now()
    ids = sorted(set(person_ids))
    out: dict[int, list[Measure]] = defaultdict(list)
    for i in range(0, len(ids), CHUNK):
        stmt = select(Measure).where(
            in_list(session, Measure.person_id, ids[i:i + CHUNK]), Measure.status == "active",
            or_(Measure.planned_end_at.is_(None), Measure.planned_end_at > at))
        for m in session.execute(stmt.order_by(Measure.id)).scalars():
            out[m.person_id].append(m)
    return out


def kinds_in_force(session: Session, person_ids: Iterable[int], *, at: dt.datetime | None = None
                   ) -> dict[int, set[str]]:
    """The kinds of the active measures not yet past their planned end, by person (unscoped: for
    decisions) — `measures_in_force` read as two columns, for tens of thousands of persons at once
    (a zone's residents, a round's targets): no ORM object per measure."""
    at = at or clock.now()
    ids = sorted(set(person_ids))
    out: dict[int, set[str]] = defaultdict(set)
    for i in range(0, len(ids), 5000):
        stmt = select(Measure.person_id, Measure.kind).where(
            in_list(session, Measure.person_id, ids[i:i + 5000]), Measure.status == "active",
            or_(Measure.planned_end_at.is_(None), Measure.planned_end_at > at))
        for pid, kind in session.execute(stmt):
            out[pid].add(kind)
    return dict(out)


def measures_of_person(session: Session, person_id: int, *, limit: int = 20) -> list[Measure]:
    """A person's measures, newest first (unscoped: the caller has checked the person)."""
    return list(session.execute(select(Measure).where(Measure.person_id == person_id)
                                .order_by(Measure.started_at.desc(), Measure.id.desc()).limit(limit)).scalars())


def move_measures(session: Session, actor: Actor, *, measure_ids: Sequence[int], from_person_id: int,
                  to_person_id: int) -> list[int]:
    """Give measures (and their due tests) of `from_person_id` to `to_person_id` (拆分人员: the leads
    that started them belong to someone else). Measures of another person are left alone. Audited."""
    actor.require("person.split")
    ids = sorted(set(measure_ids))
    if not ids:
        return []
    moved = list(session.execute(select(Measure.id).where(
        Measure.id.in_(ids), Measure.person_id == from_person_id)).scalars())
    if not moved:
        return []
    session.execute(update(Measure).where(Measure.id.in_(moved)).values(person_id=to_person_id)
                    .execution_options(synchronize_session=False))
    session.execute(update(DueTest).where(DueTest.measure_id.in_(moved)).values(person_id=to_person_id)
                    .execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Measure | DueTest):
            session.expire(obj)
    due.refresh(session, [from_person_id, to_person_id], at=clock.now(),
                actor=actor.acting_for("person.split", "task.view", "task.work"))
    audit.record(session, actor, "measure.moved", object_type="person", object_id=from_person_id,
                 to_person_id=to_person_id, measure_ids=moved)
    return moved
