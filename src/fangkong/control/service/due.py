"""Due tests (应检日): every test day of every measure is a sample due from the person.

Made when a measure starts (and kept in step when it is extended or ended), satisfied by a sample
collected on its day (decisions.md: a test is done at its collection time), listed for the person's
page, the samplers' lists and the API, and — when a day passes without a sample and the pack's
grace (`sla_hours.missed_test_grace`) is over — turned into one task for the measure's unit.

Control keeps no samples. The capability that records them registers a *sample source*
(`register_sample_source`, done by `testing`) that answers "when were these persons sampled between
these times", and tells control when it recorded new ones (`samples_recorded`). Control never
imports the sampling tables.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from fangkong.control import kinds, rules
from fangkong.control.models import DueTest, Measure
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.messages import _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack
from fangkong.kernel.tasks import service as tasks_service

CHUNK = 500
MAX_LIMIT = 1000

UNKNOWN_STATE = message("due_test.unknown_state", _("unknown state: one of %(states)s"))
UNKNOWN_PLACE = message("due_test.unknown_place", _("unknown place: home or site"))

#: (session, person ids, since, until) → person id → collection times of their samples in [since, until)
SampleSource = Callable[[Session, Sequence[int], dt.datetime, dt.datetime], dict[int, list[dt.datetime]]]
_SOURCES: dict[str, SampleSource] = {}


def register_sample_source(name: str, source: SampleSource) -> None:
    """Let a capability that records samples answer for them (testing registers its tubes)."""
    _SOURCES[name] = source


def has_sample_source() -> bool:
    return bool(_SOURCES)


def _samples(session: Session, person_ids: Sequence[int], since: dt.datetime, until: dt.datetime
             ) -> dict[int, list[dt.datetime]]:
    out: dict[int, list[dt.datetime]] = defaultdict(list)
    for source in _SOURCES.values():
        for pid, times in source(session, person_ids, since, until).items():
            out[pid].extend(t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in times)
    return out


def sample_persons(session: Session, person_ids: Sequence[int], since: dt.datetime, until: dt.datetime) -> set[int]:
    """Which of these persons have a sample collected in [since, until)."""
    return {pid for pid, times in _samples(session, person_ids, since, until).items() if times}


# ------------------------------------------------------------------------------------- the schedule

def _place_of(measure: Measure, phase_kind: str) -> tuple[str, int | None]:
    if measure.place_kind == "site" and phase_kind == "centralised_quarantine":
        return "site", measure.place_id
    return "home", None


def plan_of(measure: Measure, pack: Pack) -> list[rules.DuePlan]:
    """The due tests of `measure` by its phases and its category's `until_negatives` in `pack`."""
    start_day = clock.to_local(measure.started_at).date()  # type: ignore[union-attr]
    until = pack.categories[measure.category].until_negatives if measure.category in pack.categories else None
    day0 = rules.due_day0(until is None, start_day, measure.anchor_on)
    return rules.due_plan(measure.phases, day0, until_count=until.count if until else None,
                          within_days=until.within_days if until else None,
                          min_gap_hours=until.min_gap_hours if until else 0)


def sync_due_tests(session: Session, actor: Actor, measure: Measure, pack: Pack, *, at: dt.datetime,
                   chase: bool | None = None) -> int:
    """Make the measure's due list match its schedule: new test days added (a cancelled one comes
    back), days no longer in the schedule cancelled unless done; then match the samples. Returns the
    due tests added."""
    plan = {p.day: p for p in plan_of(measure, pack)}
    rows = {r.day: r for r in session.execute(select(DueTest).where(DueTest.measure_id == measure.id)).scalars()}
    if chase is None:  # an extension keeps what the start chose
        chase = next(iter(rows.values())).chase if rows else True
    added = 0
    for day, p in plan.items():
        place_kind, site_id = _place_of(measure, p.phase_kind)
        row = rows.get(day)
        if row is None:
            session.add(_due_test(measure, day, p, place_kind, site_id, chase=chase, at=at))
            added += 1
        elif row.status == "cancelled":
            row.status, row.cancelled_at, row.due_on, row.window_end_on = "due", None, p.due_on, p.window_end_on
            added += 1
    for day, row in rows.items():
        if day not in plan and row.status == "due":
            row.status, row.cancelled_at = "cancelled", at
    session.flush()
    # a test day already sampled closes its missed-test task, as the user who changed the measure
    refresh(session, [measure.person_id], at=at, actor=actor.acting_for("measure.start", "task.view", "task.work"))
    return added


def _due_test(measure: Measure, day: int, p: rules.DuePlan, place_kind: str, site_id: int | None, *, chase: bool,
              at: dt.datetime) -> DueTest:
    """A new due test of `measure` for its schedule's day `p` (one plan entry)."""
    return DueTest(measure_id=measure.id, person_id=measure.person_id, day=day, due_on=p.due_on,
                   window_end_on=p.window_end_on, min_gap_hours=p.min_gap_hours, phase_measure=p.phase_measure,
                   phase_kind=p.phase_kind, place_kind=place_kind, site_id=site_id, status="due", chase=chase,
                   created_at=at, unit_id=measure.unit_id, unit_path=measure.unit_path)


def redate_due_tests(session: Session, actor: Actor, measure: Measure, pack: Pack, *, at: dt.datetime) -> int:
    """A measure restarted at `at` (its day 0 moved, 自新发现阳性当日起重新计算): every test day of its
    new schedule is due again on its new date — a test taken before the restart no longer counts, so
    a done day goes back to due — and days no longer in the schedule are cancelled. Rows keep their
    day number. Returns the due tests re-dated or added."""
    plan = {p.day: p for p in plan_of(measure, pack)}
    rows = {r.day: r for r in session.execute(select(DueTest).where(DueTest.measure_id == measure.id)).scalars()}
    chase = next(iter(rows.values())).chase if rows else True
    # the missed-test tasks of the old dates chase days that no longer count: withdrawn, with the reason
    _withdraw_tasks(session, actor, [r for r in rows.values() if r.task_id is not None], measure, at=at)
    n = 0
    for day, p in plan.items():
        place_kind, site_id = _place_of(measure, p.phase_kind)
        row = rows.get(day)
        if row is None:
            session.add(_due_test(measure, day, p, place_kind, site_id, chase=chase, at=at))
        else:
            row.due_on, row.window_end_on, row.min_gap_hours = p.due_on, p.window_end_on, p.min_gap_hours
            row.phase_measure, row.phase_kind, row.place_kind, row.site_id = (p.phase_measure, p.phase_kind,
                                                                              place_kind, site_id)
            row.status, row.sampled_at, row.cancelled_at, row.task_id = "due", None, None, None
        n += 1
    for day, row in rows.items():
        if day not in plan and row.status != "cancelled":
            row.status, row.cancelled_at = "cancelled", at
    session.flush()
    refresh(session, [measure.person_id], at=at, actor=actor.acting_for("measure.start", "task.view", "task.work"))
    return n


def _withdraw_tasks(session: Session, actor: Actor, rows: Sequence[DueTest], measure: Measure, *,
                    at: dt.datetime, converted: bool = False) -> int:
    """Withdraw (撤销) the open missed-test tasks of these due tests: the measure restarted at `at` (the
    old dates they chase no longer count: 隔离期重新计算) or converted (the person is a case now). Each
    task keeps its old day and date in its detail; the due test lets go of it. Returns the tasks withdrawn."""
    doer = actor.acting_for("measure.start", "task.view", "task.assign")
    day0 = measure.anchor_on.isoformat() if measure.anchor_on else ""
    n = 0
    for r in rows:
        assert r.task_id is not None
        task = tasks_service.get_task(session, doer, r.task_id)
        if task.status == "open":
            why = (f"已转为病例({clock.iso_local(at)}):第{r.day}天({r.due_on})不再追检" if converted else
                   f"隔离期自 {day0} 重新计算(restarted {clock.iso_local(at)}):第{r.day}天({r.due_on})不再计")
            tasks_service.cancel_task(session, doer, task.id, reason=why[:200])
            n += 1
        r.task_id = None
    return n


def withdraw_missed_tasks(session: Session, actor: Actor, measure: Measure, *, at: dt.datetime) -> int:
    """A measure converted at `at` (the person became a case; tracing takes over): its open missed-test
    tasks are withdrawn. Returns how many."""
    rows = session.execute(select(DueTest).where(DueTest.measure_id == measure.id,
                                                 DueTest.task_id.is_not(None))).scalars().all()
    return _withdraw_tasks(session, actor, rows, measure, at=at, converted=True)


def cancel_due_tests(session: Session, measure: Measure, *, at: dt.datetime) -> int:
    """A measure ended at `at`: its due tests not done whose window has not closed are cancelled."""
    today = at.astimezone(clock.tz()).date()
    rows = session.execute(select(DueTest).where(DueTest.measure_id == measure.id, DueTest.status == "due",
                                                 DueTest.window_end_on >= today)).scalars().all()
    for row in rows:
        row.status, row.cancelled_at = "cancelled", at
    session.flush()
    return len(rows)


# ------------------------------------------------------------------------------------------ samples

def refresh(session: Session, person_ids: Iterable[int], *, at: dt.datetime, actor: Actor) -> int:
    """Match the persons' samples to their due tests (not cancelled) again; a due test that becomes
    done closes its missed-test task (outcome `sampled`) as `actor` — the user whose sample did it,
    acting for their own permission (`Actor.acting_for`), or the system in a job. Returns the due
    tests newly done."""
    ids = sorted(set(person_ids))
    tz = clock.tz()
    done = 0
    for i in range(0, len(ids), CHUNK):
        rows = list(session.execute(select(DueTest).where(
            in_list(session, DueTest.person_id, ids[i:i + CHUNK]), DueTest.status != "cancelled")).scalars())
        if not rows:
            continue
        since = min(clock.local_day_bounds(r.due_on)[0] for r in rows)
        until = max(clock.local_day_bounds(r.window_end_on)[1] for r in rows)
        if any(r.task_id is not None for r in rows):  # a make-up after a missed day closes its task
            until = max(until, at + dt.timedelta(microseconds=1))
        samples = _samples(session, sorted({r.person_id for r in rows}), since, until)
        by_measure: dict[int, list[DueTest]] = defaultdict(list)
        for r in rows:
            by_measure[r.measure_id].append(r)
        for measure_rows in by_measure.values():
            slots = [rules.DueSlot(r.id, r.due_on, r.window_end_on, r.min_gap_hours or 0.0) for r in measure_rows]
            found = rules.assign_samples(slots, samples.get(measure_rows[0].person_id, []), tz)
            for r in measure_rows:
                got = found.get(r.id)
                if got is not None and (r.status != "done" or r.sampled_at != got):
                    if r.status != "done":
                        done += 1
                        _close_task(session, actor, r)
                    r.status, r.sampled_at = "done", got
                elif got is None and r.status == "done":
                    r.status, r.sampled_at = "due", None
            _close_made_up(session, actor, measure_rows, found, samples.get(measure_rows[0].person_id, []), at, tz)
    session.flush()
    return done


def _close_made_up(session: Session, actor: Actor, rows: Sequence[DueTest], found: dict[int, dt.datetime],
                   samples: Sequence[dt.datetime], at: dt.datetime, tz: Any) -> None:
    """Missed test days (window over, no sample in it) are made up, in day order, by the earliest
    sample collected after the window not used by another test day (补采): the day stays missed — the
    release rule counts the make-up — and its open task is closed as `made_up`."""
    used = set(found.values())
    spare = sorted(t for t in samples if t not in used and t <= at)
    missed = sorted((r for r in rows if r.status == "due" and r.id not in found and r.window_end_on < at.astimezone(
        tz).date()), key=lambda r: (r.window_end_on, r.day))
    for r in missed:
        late = next((t for t in spare if t.astimezone(tz).date() > r.window_end_on), None)
        if late is None:
            continue
        spare.remove(late)
        if r.task_id is None:
            continue
        task = tasks_service.get_task(session, actor, r.task_id)
        if task.status == "open":
            tasks_service.complete_task(session, actor, task.id, outcome_code="made_up",
                                        outcome={"due_test_id": r.id, "sampled_at": clock.iso_local(late)})


def _close_task(session: Session, actor: Actor, row: DueTest) -> None:
    if row.task_id is None:
        return
    task = tasks_service.get_task(session, actor, row.task_id)
    if task.status == "open":
        tasks_service.complete_task(session, actor, task.id, outcome_code="sampled",
                                    outcome={"due_test_id": row.id})


def samples_recorded(session: Session, actor: Actor, *, person_ids: Iterable[int],
                     at: dt.datetime | None = None) -> int:
    """Samples of these persons were recorded (by the capability that keeps samples, as the user who
    recorded them: `actor.acting_for("testing.sample", "task.view", "task.work")`): their due tests are
    matched again. Returns the due tests newly done."""
    return refresh(session, person_ids, at=at or clock.now(), actor=actor)


# -------------------------------------------------------------------------------------------- lists

@dataclass
class DueTestView:
    """A due test with its person and place, as lists and pages show it."""

    id: int
    measure_id: int
    person_id: int
    name: str | None
    phone_masked: str | None
    id_number_masked: str | None
    address_text: str | None
    day: int
    due_on: dt.date
    window_end_on: dt.date
    min_gap_hours: float
    phase_measure: str
    phase_kind: str
    place_kind: str
    site_id: int | None
    site_name: str | None
    status: str
    state: str
    sampled_at: dt.datetime | None
    task_id: int | None
    unit_id: int

    @property
    def phase_label(self) -> Any:
        return rules.phase_label(self.phase_kind)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "measure_id": self.measure_id, "person_id": self.person_id, "name": self.name,
                "phone_masked": self.phone_masked, "day": self.day, "due_on": self.due_on.isoformat(),
                "window_end_on": self.window_end_on.isoformat(), "min_gap_hours": self.min_gap_hours,
                "measure": self.phase_measure,
                "kind": self.phase_kind, "place_kind": self.place_kind, "site_id": self.site_id,
                "site_name": self.site_name, "status": self.status, "state": self.state,
                "sampled_at": clock.iso_local(self.sampled_at) or None, "task_id": self.task_id,
                "unit_id": self.unit_id}


STATES = rules.DUE_STATES


def _state_clause(state: str, today: dt.date) -> Any:
    if state in ("done", "cancelled"):
        return DueTest.status == state
    if state == "upcoming":
        return and_(DueTest.status == "due", DueTest.due_on > today)
    if state == "due":
        return and_(DueTest.status == "due", DueTest.due_on <= today, DueTest.window_end_on >= today)
    if state == "missed":
        return and_(DueTest.status == "due", DueTest.window_end_on < today)
    raise ValidationFailed(UNKNOWN_STATE(states=", ".join(STATES)), [FieldError("state", UNKNOWN_STATE(
        states=", ".join(STATES)))])


def _views(session: Session, stmt: Any, at: dt.datetime) -> list[DueTestView]:
    tz = clock.tz()
    out = []
    for r, name, phone, idm, addr, site in session.execute(stmt):
        state = rules.due_state(r.status, r.due_on, r.window_end_on, at, tz)
        out.append(DueTestView(r.id, r.measure_id, r.person_id, name, phone, idm, addr, r.day, r.due_on,
                               r.window_end_on, r.min_gap_hours or 0.0, r.phase_measure, r.phase_kind,
                               r.place_kind, r.site_id, site, r.status, state, r.sampled_at, r.task_id, r.unit_id))
    return out


def _select() -> Any:
    return (select(DueTest, Person.name, Person.phone_masked, Person.id_number_masked, Person.address_text, Place.name)
            .join(Person, Person.id == DueTest.person_id).outerjoin(Place, Place.id == DueTest.site_id))


def due_tests(session: Session, actor: Actor, *, on: dt.date | None = None, since: dt.date | None = None,
              until: dt.date | None = None, state: str | None = None, unit_id: int | None = None,
              site_id: int | None = None, place_kind: str | None = None, person_id: int | None = None,
              at: dt.datetime | None = None, limit: int = 200, after_id: int | None = None) -> list[DueTestView]:
    """Due tests in the actor's jurisdiction (or `unit_id`'s subtree), for the samplers' lists (应采样名单):
    `on` a day (the tests whose window holds it), or due between `since` and `until`; by state, site
    (`site_id`), place (`home`/`site`) or person. Ordered by place, site, day, id; `after_id` pages."""
    actor.require("person.view")
    at = at or clock.now()
    today = at.astimezone(clock.tz()).date()
    stmt = scope.visible(_select(), actor, DueTest)
    if unit_id is not None:
        unit = jurisdictions_service.get_unit(session, actor, unit_id)
        stmt = scope.within(stmt, unit, DueTest)
    if on is not None:
        stmt = stmt.where(DueTest.due_on <= on, DueTest.window_end_on >= on, DueTest.status != "cancelled")
    if since is not None:
        stmt = stmt.where(DueTest.due_on >= since)
    if until is not None:
        stmt = stmt.where(DueTest.due_on <= until)
    if state:
        stmt = stmt.where(_state_clause(state, today))
    if site_id is not None:
        stmt = stmt.where(DueTest.site_id == site_id)
    if place_kind:
        if place_kind not in ("home", "site"):
            raise ValidationFailed(UNKNOWN_PLACE(), [FieldError("place_kind", UNKNOWN_PLACE())])
        stmt = stmt.where(DueTest.place_kind == place_kind)
    if person_id is not None:
        stmt = stmt.where(DueTest.person_id == person_id)
    if after_id is not None:
        stmt = stmt.where(DueTest.id > after_id)
    stmt = stmt.order_by(DueTest.id).limit(max(1, min(limit, MAX_LIMIT)))
    return _views(session, stmt, at)


def due_tests_of_person(session: Session, person_id: int, *, at: dt.datetime, include_cancelled: bool = False
                        ) -> list[DueTestView]:
    """A person's due tests, by day (unscoped: the caller has checked the person — the person page,
    the citizen's own page)."""
    stmt = _select().where(DueTest.person_id == person_id)
    if not include_cancelled:
        stmt = stmt.where(DueTest.status != "cancelled")
    return _views(session, stmt.order_by(DueTest.due_on, DueTest.id), at)


def next_due_at(views: Sequence[DueTestView]) -> dt.datetime | None:
    """The end of the window of the first due test not yet done (due or upcoming)."""
    open_ = [v for v in views if v.state in ("due", "upcoming")]
    if not open_:
        return None
    return rules.day_end(min(v.window_end_on for v in open_), clock.tz())


# ------------------------------------------------------------------------------------ missed tests

def create_missed_tasks(session: Session, actor: Actor, *, at: dt.datetime) -> dict[str, int]:
    """Every due test of a measure still in force whose window ended, plus the pack's grace, before
    `at` without a sample gets one task for the measure's unit (漏检督促). Samples are matched again
    first; a due test that already has a task gets no other. Refuses to judge (does nothing) when no
    capability answers for samples."""
    if not has_sample_source():
        return {"checked": 0, "tasks": 0, "skipped_no_sample_source": 1}
    pack = policy_service.active_pack(session)
    grace = pack.sla("missed_test_grace")
    cutoff = rules.missed_cutoff(at, grace, clock.tz())
    candidate = (select(DueTest.person_id).join(Measure, Measure.id == DueTest.measure_id)
                 .where(DueTest.status == "due", DueTest.task_id.is_(None), DueTest.chase.is_(True),
                        DueTest.window_end_on < cutoff, Measure.status == "active"))
    person_ids = sorted(set(session.execute(candidate).scalars()))
    refresh(session, person_ids, at=at, actor=actor)
    rows = session.execute(
        select(DueTest, Person).join(Person, Person.id == DueTest.person_id)
        .join(Measure, Measure.id == DueTest.measure_id)
        .where(DueTest.status == "due", DueTest.task_id.is_(None), DueTest.chase.is_(True),
               DueTest.window_end_on < cutoff, Measure.status == "active")
        .order_by(DueTest.id)).all()
    new = []
    for row, person in rows:
        who = person.name or person.phone_masked or person.id_number_masked or f"#{person.id}"
        new.append(tasks_service.NewTask(
            kind=kinds.MISSED_TEST, title=f"管控人员漏检 {who} 第{row.day}天({row.due_on})",
            unit_id=row.unit_id, subject_type="person", subject_id=row.person_id, due_at=at + grace,
            policy_version=pack.version_tag, rule="sla_hours.missed_test_grace",
            detail={"due_test_id": row.id, "measure_id": row.measure_id, "day": row.day,
                    "due_on": row.due_on.isoformat(), "window_end_on": row.window_end_on.isoformat()}))
    # one bulk write for the morning's tasks (the tasks' one write path, audited there)
    for (row, _person), task_id in zip(rows, tasks_service.create_tasks(session, actor, new), strict=True):
        row.task_id = task_id
    made = len(new)
    session.flush()
    if made:
        audit.record(session, actor, "control.missed_tests", object_type="due_test", tasks=made,
                     cutoff=cutoff.isoformat())
    return {"checked": len(person_ids), "tasks": made}
