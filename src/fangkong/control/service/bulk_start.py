"""Starting many measures at once (批量落实管控): a zone's residents, a file of measures. The same rules
and the same pack version as `start_measure` — category, place, anchor, schedule, due tests, the
lifecycle's first event — applied in one pass: the measures, their events and their due tests are
inserted in bulk (`fangkong.kernel.bulk`), the samples already taken are matched once, and one audit
entry names every new id (`audit.compact_ids`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import measure_rules
from fangkong.control.models import PLACE_KINDS, DueTest, Measure, MeasureEvent
from fangkong.control.service import due
from fangkong.control.service.measures import INVALID_MEASURE, SITE_REQUIRED, UNKNOWN_CATEGORY_IN, schedule
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import CHUNK, bulk_insert, in_list
from fangkong.kernel.errors import ONE_OF, FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.messages import Term
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service


@dataclass(frozen=True)
class NewMeasure:
    """One measure to start, as `start_measure`'s arguments."""

    person_id: int
    category: str
    rule: str
    started_at: dt.datetime | None = None
    place_kind: str = "home"
    place_id: int | None = None
    lead_id: int | None = None
    exposure_at: dt.datetime | None = None
    departure_at: dt.datetime | None = None
    arrival_at: dt.datetime | None = None
    planned: bool = False
    chase_missed: bool = True
    #: count from this anchor instead of the category's (`start`, `exposure`: a measure taken over
    #: from another system keeps the sender's day count)
    anchor: str | None = None
    source_ref: str | None = None
    household: str | None = None
    contact_of: int | None = None


def start_many(session: Session, actor: Actor, items: Sequence[NewMeasure], *, pack_version: str | None = None
               ) -> list[int]:
    """Start every measure of `items` (in order; returns their ids) with `start_measure`'s rules: one
    pack for all (`pack_version`, default the active pack), refused as a whole (422 naming
    `items[i].field`, 404 for an unknown person) before anything is written."""
    actor.require("measure.start")
    if not items:
        return []
    pack = policy_service.get_pack(session, pack_version) if pack_version else policy_service.active_pack(session)
    errors: list[FieldError] = []
    categories = [pack.category_code(it.category) for it in items]
    sites = {it.place_id for it in items if it.place_kind == "site" and it.place_id is not None}
    site_ok = set(session.execute(select(Place.id).where(in_list(session, Place.id, sorted(sites)),
                                                         Place.kind == "quarantine_site")).scalars()) if sites else set()
    for i, (it, category) in enumerate(zip(items, categories, strict=True)):
        if category not in pack.categories:
            errors.append(FieldError(f"items[{i}].category",
                                     UNKNOWN_CATEGORY_IN(category=repr(category), pack=pack.version_tag)))
        if it.place_kind not in PLACE_KINDS:
            errors.append(FieldError(f"items[{i}].place_kind",
                                     ONE_OF(choices=[Term(k, kind="measure_place") for k in PLACE_KINDS])))
        elif it.place_kind == "site" and it.place_id not in site_ok:
            errors.append(FieldError(f"items[{i}].site_place_id", SITE_REQUIRED()))
        if len(errors) >= 20:
            break
    if errors:
        raise ValidationFailed(INVALID_MEASURE(), errors)
    person_ids = sorted({it.person_id for it in items})
    units: dict[int, tuple[int, str]] = {}
    for i in range(0, len(person_ids), CHUNK):
        units.update({pid: (uid, path) for pid, uid, path in session.execute(
            select(Person.id, Person.unit_id, Person.unit_path).where(
                in_list(session, Person.id, person_ids[i:i + CHUNK])))})
    missing = next((pid for pid in person_ids if pid not in units), None)
    if missing is not None:
        raise NotFound(record_not_found("person", missing))

    now = clock.now()
    tz = clock.tz()
    layouts: dict[tuple[Any, ...], tuple[str, dt.date, dict[str, Any], measure_rules.MeasurePlan]] = {}
    rows: list[dict[str, Any]] = []
    for it, category in zip(items, categories, strict=True):
        start = it.started_at or now
        facts = measure_rules.AnchorFacts(started_at=start, exposure_at=it.exposure_at,
                                          departure_at=it.departure_at, arrival_at=it.arrival_at)
        key = (category, start, it.exposure_at, it.departure_at, it.arrival_at, it.anchor)
        if key not in layouts:  # a zone's residents share one layout
            plan = measure_rules.plan_for(pack, category)
            used, day0 = measure_rules.anchor_day(it.anchor or pack.category(category).anchor, facts, tz)
            layouts[key] = (used, day0, schedule(pack, category, start, anchor_on=day0), plan)
        used, day0, laid, plan = layouts[key]
        uid, upath = units[it.person_id]
        rows.append({
            "person_id": it.person_id, "category": category, "measure_code": pack.category(category).phases[0].measure,
            "kind": laid["kind"], "phases": laid["phases"], "test_dates": laid["test_dates"], "started_at": start,
            "planned_end_at": laid["planned_end_at"], "status": "planned" if it.planned else "active",
            "pack_version": pack.version_tag, "rule": it.rule, "lead_id": it.lead_id, "place_kind": it.place_kind,
            "place_id": it.place_id if it.place_kind == "site" else None, "created_at": now, "unit_id": uid,
            "unit_path": upath, "phase": plan.first_phase, "anchor": used, "anchor_on": day0,
            "planned_end_on": measure_rules.day_of(day0, plan.day_n) if plan.day_n is not None else None,
            "ended_at": None, "end_reason": None, "counts_from": None, "stepped_down_at": None,
            "released_at": None, "household": it.household, "contact_of": it.contact_of,
            "source_ref": it.source_ref,
        })
    ids = bulk_insert(session, Measure.__table__, rows)

    events = [{
        "measure_id": mid, "person_id": r["person_id"], "at": r["started_at"], "action": "started",
        "from_status": None, "to_status": r["status"], "from_phase": None, "to_phase": r["phase"],
        "user_id": actor.user_id, "username": actor.username[:64], "reason": r["rule"][:200],
        "rule": f"categories.{r['category']}", "pack_version": r["pack_version"], "override": False,
        "detail": {"anchor": r["anchor"], "anchor_on": r["anchor_on"].isoformat(),
                   "planned_end_on": r["planned_end_on"].isoformat() if r["planned_end_on"] else None},
        "unit_id": r["unit_id"], "unit_path": r["unit_path"]} for mid, r in zip(ids, rows, strict=True)]
    bulk_insert(session, MeasureEvent.__table__, events)

    plans: dict[tuple[Any, ...], list[Any]] = {}
    tests: list[dict[str, Any]] = []
    for mid, r, it in zip(ids, rows, items, strict=True):
        key = (r["category"], r["started_at"], r["anchor_on"])
        if key not in plans:
            plans[key] = due.plan_of(Measure(category=r["category"], started_at=r["started_at"],
                                             anchor_on=r["anchor_on"], phases=r["phases"]), pack)
        for p in plans[key]:
            at_site = r["place_kind"] == "site" and p.phase_kind == "centralised_quarantine"
            tests.append({
                "measure_id": mid, "person_id": r["person_id"], "day": p.day, "due_on": p.due_on,
                "window_end_on": p.window_end_on, "min_gap_hours": p.min_gap_hours, "phase_measure": p.phase_measure,
                "phase_kind": p.phase_kind, "place_kind": "site" if at_site else "home",
                "site_id": r["place_id"] if at_site else None, "status": "due", "sampled_at": None,
                "chase": it.chase_missed, "task_id": None, "created_at": now, "cancelled_at": None,
                "unit_id": r["unit_id"], "unit_path": r["unit_path"]})
    bulk_insert(session, DueTest.__table__, tests)
    # samples already taken on a test day count, as with one start: only the persons with a sample
    # inside the new test days' windows can change, so only they are matched again
    if tests:
        since = clock.local_day_bounds(min(t["due_on"] for t in tests))[0]
        until = clock.local_day_bounds(max(t["window_end_on"] for t in tests))[1]
        sampled: set[int] = set()
        for i in range(0, len(person_ids), CHUNK):
            sampled.update(due.sample_persons(session, person_ids[i:i + CHUNK], since, until))
        if sampled:
            due.refresh(session, sorted(sampled), at=now,
                        actor=actor.acting_for("measure.start", "task.view", "task.work"))
    audit.record(session, actor, "measure.started", object_type="measure", object_id=ids[0] if len(ids) == 1 else None,
                 count=len(ids), ids=audit.compact_ids(ids), categories=dict(Counter(r["category"] for r in rows)),
                 rules=sorted({r["rule"] for r in rows})[:20], pack_version=pack.version_tag, due_tests=len(tests),
                 place_kinds=dict(Counter(r["place_kind"] for r in rows)))
    return ids
