"""Control use cases (管控): start a measure with its schedule; read the measures in force.

Only the start lives here for now; sites, daily check-ins and release are a later issue.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control.models import PLACE_KINDS, Measure
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
labels("measure_status", {"active": _("active"), "ended": _("ended"), "cancelled": _("cancelled")})
labels("record", {"measure": _("measure")})
labels("audit_action", {"measure.started": _("Measure started"), "measure.ended": _("Measure ended")})
labels("field", {"place_kind": _("Where"), "measure_id": _("Measure")})

CHUNK = 500

#: measure kinds from weakest to strongest (the same order intake decides by)
KIND_RANK: dict[str, int] = {
    "none": 0, "test_only": 1, "self_health_monitoring": 2, "home_health_monitoring": 3,
    "temporary_control": 4, "home_quarantine": 5, "centralised_quarantine": 6,
}


def schedule(pack: Pack, category: str, started_at: dt.datetime) -> dict[str, Any]:
    """Phases with start and end, test dates (local dates; day 1 = the start's local date) and the
    planned end (None when the category ends on negatives rather than on a day count)."""
    cat = pack.category(category)
    start_day = clock.to_local(started_at).date()  # type: ignore[union-attr]
    phases: list[dict[str, Any]] = []
    tests: list[str] = []
    offset = 0
    for phase in cat.phases:
        p_start = started_at + dt.timedelta(days=offset)
        p_end = p_start + dt.timedelta(days=phase.days) if phase.days is not None else None
        dates = [(start_day + dt.timedelta(days=offset + d - 1)).isoformat() for d in phase.test_days]
        tests.extend(dates)
        phases.append({"measure": phase.measure, "kind": pack.measure(phase.measure).kind,
                       "start_at": p_start.isoformat(), "end_at": p_end.isoformat() if p_end else None,
                       "days": phase.days, "test_dates": dates})
        offset += phase.days or 0
    total = cat.total_days
    kind = max((p["kind"] for p in phases), key=lambda k: KIND_RANK.get(k, 0), default="none")
    return {"phases": phases, "test_dates": tests, "kind": kind,
            "planned_end_at": started_at + dt.timedelta(days=total) if total is not None else None}


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
) -> Measure:
    """Start the measure a policy category asks for (落实管控), with its test days and planned end.

    `pack_version` names the pack that decided it (default: the active pack). A site measure names
    the quarantine site's place id. Owned by the person's unit.
    """
    actor.require("measure.start")
    errors: list[FieldError] = []
    pack = policy_service.get_pack(session, pack_version) if pack_version else policy_service.active_pack(session)
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
    start = started_at or clock.now()
    plan = schedule(pack, category, start)
    measure = Measure(
        person_id=person.id, category=category, measure_code=pack.category(category).phases[0].measure,
        kind=plan["kind"], phases=plan["phases"], test_dates=plan["test_dates"], started_at=start,
        planned_end_at=plan["planned_end_at"], status="active", pack_version=pack.version_tag, rule=rule,
        lead_id=lead_id, place_kind=place_kind, place_id=place_id if place_kind == "site" else None,
        unit_id=person.unit_id, unit_path=person.unit_path, created_at=clock.now(),
    )
    session.add(measure)
    session.flush()
    audit.record(session, actor, "measure.started", object_type="measure", object_id=measure.id,
                 person_id=person.id, category=category, measure=measure.measure_code, rule=rule,
                 pack_version=pack.version_tag, place_kind=place_kind, lead_id=lead_id)
    return measure


def end_measure(session: Session, actor: Actor, *, measure_id: int, reason: str) -> Measure:
    """End a measure before or at its planned end (解除管控), e.g. after a negative single-tube retest."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    if measure.status != "active":
        raise Conflict(NOT_ACTIVE(id=measure_id, status=Term(measure.status, kind="measure_status")))
    measure.status = "ended"
    measure.ended_at = clock.now()
    measure.end_reason = reason[:200]
    session.flush()
    audit.record(session, actor, "measure.ended", object_type="measure", object_id=measure.id,
                 person_id=measure.person_id, reason=reason[:200])
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


MEASURE_HOLD_NOT_ACTIVE = message("measure.hold_not_active", _("measure %(id)s is no longer in force"))


def hold_measure(session: Session, actor: Actor, *, measure_id: int, reason: str) -> Measure:
    """Keep a measure in force past its planned end until it is ended explicitly (暂缓解除), e.g. a
    secondary contact whose close contact's first tests are not yet negative (9th edition). The
    schedule (phases, test dates) is kept; holding a held measure changes nothing."""
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
