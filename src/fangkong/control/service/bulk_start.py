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

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    Integer,
    String,
    and_,
    case,
    insert,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from fangkong.control import measure_rules
from fangkong.control.models import PLACE_KINDS, DueTest, Measure, MeasureEvent
from fangkong.control.service import due
from fangkong.control.service.measures import INVALID_MEASURE, SITE_REQUIRED, UNKNOWN_CATEGORY_IN, schedule
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import CHUNK, bulk_insert, in_list
from fangkong.kernel.db import UTCDateTime
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

    # the events and the due tests are derived from the measures just inserted, one INSERT … SELECT per
    # layout (a zone's residents share one): no Python row per event or test day (a zone of 50,000
    # residents under a 7-day daily-test measure has 350,000 due tests)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for mid, r, it in zip(ids, rows, items, strict=True):
        groups.setdefault((r["category"], r["started_at"], r["anchor"], r["anchor_on"], r["planned_end_on"],
                           it.chase_missed), []).append(mid)
    n_tests = 0
    first_due: dt.date | None = None
    last_window: dt.date | None = None
    by_layout: dict[tuple[Any, ...], list[int]] = {}
    for key, mids in groups.items():
        by_layout.setdefault(key[:5], []).extend(mids)
    for (category, _start, anchor, anchor_on, planned_end_on), mids in by_layout.items():
        _insert_events(session, actor, sorted(mids), pack.version_tag, category, {
            "anchor": anchor, "anchor_on": anchor_on.isoformat(),
            "planned_end_on": planned_end_on.isoformat() if planned_end_on else None})
    phases_of = {(r["category"], r["started_at"], r["anchor_on"]): r["phases"] for r in rows}
    for (category, start, _anchor, anchor_on, _end, chase), mids in groups.items():
        plan = due.plan_of(Measure(category=category, started_at=start, anchor_on=anchor_on,
                                   phases=phases_of[(category, start, anchor_on)]), pack)
        if not plan:
            continue
        _insert_due_tests(session, sorted(mids), plan, chase=chase, now=now)
        n_tests += len(plan) * len(mids)
        first_due = min(filter(None, [first_due, *(p.due_on for p in plan)]))
        last_window = max(filter(None, [last_window, *(p.window_end_on for p in plan)]))
    # samples already taken on a test day count, as with one start: only the persons with a sample
    # inside the new test days' windows can change, so only they are matched again
    if n_tests and first_due is not None and last_window is not None:
        since = clock.local_day_bounds(first_due)[0]
        until = clock.local_day_bounds(last_window)[1]
        sampled: set[int] = set()
        for i in range(0, len(person_ids), CHUNK):
            sampled.update(due.sample_persons(session, person_ids[i:i + CHUNK], since, until))
        if sampled:
            due.refresh(session, sorted(sampled), at=now,
                        actor=actor.acting_for("measure.start", "task.view", "task.work"))
    audit.record(session, actor, "measure.started", object_type="measure", object_id=ids[0] if len(ids) == 1 else None,
                 count=len(ids), ids=audit.compact_ids(ids), categories=dict(Counter(r["category"] for r in rows)),
                 rules=sorted({r["rule"] for r in rows})[:20], pack_version=pack.version_tag, due_tests=n_tests,
                 place_kinds=dict(Counter(r["place_kind"] for r in rows)))
    return ids


def _insert_events(session: Session, actor: Actor, measure_ids: list[int], pack_version: str, category: str,
                   detail: dict[str, Any]) -> None:
    """Each new measure's first lifecycle event (`started`), as `start_measure` writes it, read from
    the measure rows themselves (one statement for measures sharing a layout)."""
    m = Measure.__table__
    cols = ("measure_id", "person_id", "at", "action", "from_status", "to_status", "from_phase", "to_phase",
            "user_id", "username", "reason", "rule", "pack_version", "override", "detail", "unit_id", "unit_path")
    query = select(
        m.c.id, m.c.person_id, m.c.started_at, literal("started", String), null(), m.c.status, null(), m.c.phase,
        literal(actor.user_id, Integer), literal(actor.username[:64], String), m.c.rule,
        literal(f"categories.{category}", String), literal(pack_version, String), literal(False, Boolean),
        literal(detail, JSON), m.c.unit_id, m.c.unit_path,
    ).where(in_list(session, m.c.id, measure_ids)).order_by(m.c.id)
    session.execute(insert(MeasureEvent.__table__).from_select(cols, query))


def _insert_due_tests(session: Session, measure_ids: list[int], plan: Sequence[Any], *, chase: bool,
                      now: dt.datetime) -> None:
    """The due tests of measures sharing one plan (`due.plan_of`): measures × test days in one
    INSERT … SELECT; a test of a centralised-quarantine phase is taken at the measure's site."""
    m = Measure.__table__
    days = union_all(*[select(
        literal(p.day, Integer).label("day"), literal(p.due_on, Date).label("due_on"),
        literal(p.window_end_on, Date).label("window_end_on"), literal(float(p.min_gap_hours), Float).label("gap"),
        literal(p.phase_measure, String).label("phase_measure"), literal(p.phase_kind, String).label("phase_kind"),
    ) for p in plan]).subquery("plan")
    at_site = and_(m.c.place_kind == "site", days.c.phase_kind == "centralised_quarantine")
    cols = ("measure_id", "person_id", "day", "due_on", "window_end_on", "min_gap_hours", "phase_measure",
            "phase_kind", "place_kind", "site_id", "status", "sampled_at", "chase", "task_id", "created_at",
            "cancelled_at", "unit_id", "unit_path")
    query = select(
        m.c.id, m.c.person_id, days.c.day, days.c.due_on, days.c.window_end_on, days.c.gap, days.c.phase_measure,
        days.c.phase_kind, case((at_site, literal("site", String)), else_=literal("home", String)),
        case((at_site, m.c.place_id), else_=null()), literal("due", String), null(), literal(chase, Boolean), null(),
        literal(now, UTCDateTime), null(), m.c.unit_id, m.c.unit_path,
    ).select_from(m.join(days, true())).where(in_list(session, m.c.id, measure_ids)).order_by(m.c.id, days.c.day)
    session.execute(insert(DueTest.__table__).from_select(cols, query))
