"""Cases (病例): created from a positive individual result, a clinic report or by hand; each gets an
investigation task with the policy's deadlines (core information, full report)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    INVALID_FILTER,
    ONE_OF,
    TIME_ZONE_REQUIRED,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, Term, _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.resolution import PersonKeys, resolve_person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service
from fangkong.testing import service as testing_service
from fangkong.tracing import kinds
from fangkong.tracing.models import CASE_STATUSES, CLASSIFICATIONS, DETECTION_CHANNELS, Case, Contact

SAMPLING_OR_ONSET = message("case.sampling_or_onset", _("give the sampling time or the onset time"))
ASYMPTOMATIC_SAMPLED = message("case.asymptomatic_sampled", _("required for an asymptomatic case"))
IN_THE_FUTURE = message("time.in_the_future", _("in the future"))
INVALID_CASE = message("case.invalid", _("invalid case"))
WHO = message("case.who", _("who is the case?"))
GIVE_PERSON = message("case.give_person", _("give person_id or name, id_number, phone"))
CANNOT_IDENTIFY = message("case.cannot_identify", _("cannot identify the person"))
INVALID_SOURCE = message("case.invalid_source", _("invalid source"))
SOURCE_ONE_OF = message("case.source_one_of", _("one of clinic, manual"))
ALREADY_CASE = message("case.already", _("person %(person)s is already case %(case)s"))
#: a person found by ID or phone who is registered outside the caller's jurisdiction: the case is
#: registered where they belong, and the answer names no one (existence oracle, issue #11)
PERSON_ELSEWHERE = message("case.person_elsewhere", _(
    "this person is registered in another jurisdiction: the case is registered there"))
INVALID_LIMIT = message("limit.invalid", _("invalid limit"))
ONE_TO = message("limit.range", _("1 to %(max)s"))
INVALID_STEP = message("case.invalid_step", _("invalid step"))

MAX_LIMIT = 500


def _aware(value: dt.datetime | None, field: str, errors: list[FieldError]) -> None:
    if value is not None and value.tzinfo is None:
        errors.append(FieldError(field, TIME_ZONE_REQUIRED()))


def _check(classification: str, detection_channel: str, sampled_at: dt.datetime | None,
           onset_at: dt.datetime | None, result_at: dt.datetime | None, isolated_at: dt.datetime | None) -> None:
    errors: list[FieldError] = []
    if classification not in CLASSIFICATIONS:
        errors.append(FieldError("classification", ONE_OF(choices=[Term(c, kind="classification")
                                                                    for c in CLASSIFICATIONS])))
    if detection_channel not in DETECTION_CHANNELS:
        errors.append(FieldError("detection_channel", ONE_OF(choices=[Term(c, kind="detection_channel")
                                                                       for c in DETECTION_CHANNELS])))
    for field, value in (("sampled_at", sampled_at), ("onset_at", onset_at), ("result_at", result_at),
                         ("isolated_at", isolated_at)):
        _aware(value, field, errors)
    if not errors:
        now = clock.now()
        if sampled_at is None and onset_at is None:
            errors.append(FieldError("sampled_at", SAMPLING_OR_ONSET()))
        if classification == "asymptomatic" and sampled_at is None:
            errors.append(FieldError("sampled_at", ASYMPTOMATIC_SAMPLED()))
        for field, value in (("sampled_at", sampled_at), ("onset_at", onset_at), ("result_at", result_at)):
            if value is not None and value > now + dt.timedelta(minutes=5):
                errors.append(FieldError(field, IN_THE_FUTURE()))
    if errors:
        raise ValidationFailed(INVALID_CASE(), errors)


def _task_unit(session: Session, person: Person) -> Unit:
    """The epidemiologists' unit: the district of the person's unit, else the root."""
    unit = session.get(Unit, person.unit_id)
    if unit is not None:
        for u in [*jurisdictions_service.ancestors(session, unit), unit]:
            if u.level == "district":
                return u
    return jurisdictions_service.root_unit(session)


def _person(session: Session, actor: Actor, *, person_id: int | None, name: str | None, id_number: str | None,
            phone: str | None) -> Person:
    if person_id is not None:
        return scope.get_visible(session, actor, Person, person_id)
    if not (id_number or phone or name):
        raise ValidationFailed(WHO(), [FieldError("person_id", GIVE_PERSON())])
    res = resolve_person(session, actor, PersonKeys(name=name, id_number=id_number, phone=phone), source="tracing")
    if res.rejected or res.person_id is None:
        found = [FieldIssue.parse(issue) for issue in res.issues]
        fields = [FieldError(i.field or "person", i.message) for i in found] or [
            FieldError("person", CANNOT_IDENTIFY())]
        raise ValidationFailed(CANNOT_IDENTIFY(), fields)
    person = session.get(Person, res.person_id)
    assert person is not None
    return person


def create_case(
    session: Session,
    actor: Actor,
    *,
    classification: str,
    detection_channel: str,
    source: str = "manual",
    person_id: int | None = None,
    name: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    sampled_at: dt.datetime | None = None,
    onset_at: dt.datetime | None = None,
    result_at: dt.datetime | None = None,
    isolated_at: dt.datetime | None = None,
    note: str | None = None,
    candidate_id: int | None = None,
) -> Case:
    """Register a case (病例登记) and hand its investigation to the epidemiologists (a task with the
    pack's core-information and report deadlines). A person with a case already is a Conflict."""
    actor.require("case.manage")
    if source not in ("candidate", "clinic", "manual"):
        raise ValidationFailed(INVALID_SOURCE(), [FieldError("source", SOURCE_ONE_OF())])
    _check(classification, detection_channel, sampled_at, onset_at, result_at, isolated_at)
    person = _person(session, actor, person_id=person_id, name=name, id_number=id_number, phone=phone)
    if scope.visible_or_none(actor, person) is None:
        # the case would lie outside the caller's jurisdiction (a case belongs to its person's unit):
        # before, the answer was a 404 for the new case's own id and nothing was stored
        raise Conflict(PERSON_ELSEWHERE())
    existing = session.execute(select(Case.id).where(Case.person_id == person.id)).scalar_one_or_none()
    if existing is not None:
        raise Conflict(ALREADY_CASE(person=person.id, case=existing))
    now = clock.now()
    pack = policy_service.active_pack(session)
    core_due, report_due = now + pack.sla(kinds.STEPS["core"]), now + pack.sla(kinds.STEPS["report"])
    case = Case(person_id=person.id, classification=classification, detection_channel=detection_channel,
                source=source, candidate_id=candidate_id, sampled_at=sampled_at, onset_at=onset_at,
                result_at=result_at, isolated_at=isolated_at, status="open", created_at=now,
                created_by=actor.username, core_due_at=core_due, report_due_at=report_due,
                pack_version=pack.version_tag, note=(note or "").strip()[:500] or None,
                unit_id=person.unit_id, unit_path=person.unit_path)
    session.add(case)
    session.flush()
    unit = _task_unit(session, person)
    who = person.name or person.phone_masked or f"#{person.id}"
    steps = {step: {"due_at": clock.iso_local(due), "rule": f"sla_hours.{sla}", "done_at": None}
             for (step, sla), due in zip(kinds.STEPS.items(), (core_due, report_due), strict=True)}
    # the task follows from the case (case.manage was checked): written as the epidemiologist, so creating
    # a case needs no task.assign
    [task_id] = tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
        kind=kinds.INVESTIGATE, title=f"病例流调 #{case.id} {who}", unit_id=unit.id,
        subject_type="case", subject_id=case.id, due_at=report_due, policy_version=pack.version_tag,
        rule=f"sla_hours.{kinds.STEPS['report']}", detail={"case_id": case.id, "steps": steps})])
    case.investigation_task_id = task_id
    session.flush()
    audit.record(session, actor, "tracing.case_created", object_type="case", object_id=case.id,
                 person_id=person.id, classification=classification, detection_channel=detection_channel,
                 source=source, candidate_id=candidate_id, task_id=task_id, pack_version=pack.version_tag)
    # a close contact turned positive: their secondary contacts become this case's close contacts
    from fangkong.tracing.service.followup import promote_secondaries

    promote_secondaries(session, actor, case)
    return case


def confirm_candidate(session: Session, actor: Actor, *, candidate_id: int, classification: str,
                      onset_at: dt.datetime | None = None, detection_channel: str | None = None,
                      note: str | None = None) -> Case:
    """Confirm a positive individual result as a case (阳性转病例). Confirming again returns the case."""
    actor.require("case.manage")
    cand = testing_service.get_case_candidate(session, actor, candidate_id)
    existing = session.execute(select(Case).where(Case.candidate_id == cand.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    channel = detection_channel or ("pool" if cand.via == "retest" else "key_group_screening")
    return create_case(session, actor, classification=classification, detection_channel=channel, source="candidate",
                       person_id=cand.person_id, sampled_at=cand.collected_at, onset_at=onset_at,
                       result_at=cand.reported_at, note=note, candidate_id=cand.id)


def get_case(session: Session, actor: Actor, case_id: int) -> Case:
    """A case in the actor's jurisdiction; NotFound otherwise."""
    actor.require("case.view")
    return scope.get_visible(session, actor, Case, case_id)


def list_cases(session: Session, actor: Actor, *, status: str | None = None, limit: int = 50,
               before_id: int | None = None) -> list[tuple[Case, Person]]:
    """Cases in the actor's jurisdiction, newest first (paginated by id)."""
    actor.require("case.view")
    if status is not None and status not in CASE_STATUSES:
        raise ValidationFailed(INVALID_FILTER(), [FieldError("status", ONE_OF(choices=[
            Term(s, kind="case_status") for s in CASE_STATUSES]))])
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(INVALID_LIMIT(), [FieldError("limit", ONE_TO(max=MAX_LIMIT))])
    stmt = scope.visible(select(Case, Person).join(Person, Person.id == Case.person_id), actor, Case)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    if before_id is not None:
        stmt = stmt.where(Case.id < before_id)
    return [(c, p) for c, p in session.execute(stmt.order_by(Case.id.desc()).limit(limit))]


def pending_candidates(session: Session, actor: Actor, *, limit: int = 100) -> list[tuple[Any, Person]]:
    """Positive individual results not yet confirmed as cases (待确认病例), newest first: testing's
    candidates in the actor's jurisdiction, paged through until `limit` unconfirmed ones are found."""
    actor.require("case.view")
    out: list[tuple[Any, Person]] = []
    before: int | None = None
    while len(out) < limit:
        page = testing_service.case_candidates(session, actor, limit=200, before_id=before)
        if not page:
            break
        ids = [c.id for c in page]
        confirmed = set(session.execute(select(Case.candidate_id).where(Case.candidate_id.in_(ids))).scalars())
        open_ = [c for c in page if c.id not in confirmed]
        persons = {p.id: p for p in session.execute(
            select(Person).where(Person.id.in_(sorted({c.person_id for c in open_})))).scalars()} if open_ else {}
        out.extend((c, persons[c.person_id]) for c in open_ if c.person_id in persons)
        before = page[-1].id
    return out[:limit]


def record_milestone(session: Session, actor: Actor, *, case_id: int, step: str, note: str | None = None) -> Case:
    """Close a step of the investigation (流调节点): `core` (core information, 核心信息) or `report`
    (the full report, which closes the task). Recording a step again changes nothing."""
    actor.require("case.manage")
    if step not in kinds.STEPS:
        raise ValidationFailed(INVALID_STEP(), [FieldError("step", ONE_OF(choices=[Term(s, kind="step")
                                                                                 for s in kinds.STEPS]))])
    case = get_case(session, actor, case_id)
    now = clock.now()
    done = [s for s in (("core",) if step == "core" else ("core", "report"))
            if getattr(case, f"{s}_done_at") is None]
    if not done:
        return case
    for s in done:
        setattr(case, f"{s}_done_at", now)
    case.status = "reported" if case.report_done_at is not None else "core_done"
    if case.investigation_task_id is not None:
        # the case's own task follows its steps, whoever's inbox it sits in
        doer = actor.acting_for("case.manage", "task.view", "task.work")
        task = tasks_service.get_task(session, doer, case.investigation_task_id)
        detail = dict(task.detail or {})
        steps = {k: dict(v) for k, v in (detail.get("steps") or {}).items()}
        for s in done:
            steps.setdefault(s, {})["done_at"] = clock.iso_local(now)
        detail["steps"] = steps
        task.detail = detail
        session.flush()
        if case.report_done_at is not None and task.status == "open":
            tasks_service.complete_task(session, doer, task.id, outcome_code="reported",
                                        outcome={"case_id": case.id}, note=note, by_owner=True)
    session.flush()
    for s in done:
        late = getattr(case, f"{s}_due_at") is not None and now > getattr(case, f"{s}_due_at")
        audit.record(session, actor, f"tracing.{s}_done", object_type="case", object_id=case.id, late=late)
    return case


def case_or_404(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(record_not_found("case", case_id))
    return case


def cases_created(session: Session, base: Unit, *, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """New cases (新增病例) registered in [start, end) in `base`'s subtree, counted by owning unit path
    (the command centre's `cases.new`). `base` must be a unit the caller found visible."""
    stmt = scope.within(select(Case.unit_path, func.count()).where(Case.created_at >= start, Case.created_at < end)
                        .group_by(Case.unit_path), base, Case)
    return {path: int(n) for path, n in session.execute(stmt)}


def contact_lead_ids(session: Session, *, until: dt.datetime) -> list[int]:
    """The leads of contacts confirmed before `until` and not released before it (the command centre
    follows them to control: `contacts.under_control`). Ids only."""
    stmt = select(Contact.lead_id).where(Contact.lead_id.is_not(None), Contact.confirmed_at < until,
                                         or_(Contact.released_at.is_(None), Contact.released_at >= until))
    return [int(i) for i in session.execute(stmt).scalars()]


def case_facts(session: Session, base: Unit | None = None, *, start: dt.datetime | None = None,
               end: dt.datetime | None = None, after_id: int = 0) -> list[dict[str, Any]]:
    """Figures of the cases registered in [start, end) in `base`'s subtree (all cases when not given),
    with ids above `after_id`: `{id, person_id, unit_id, unit_path, created_at, detected_at}`, where
    `detected_at` is the sampling time, else the result time, else the registration (the command
    centre's case reviews and `cases.detected_in_control`). `base` must be a unit the caller found visible."""
    stmt = select(Case.id, Case.person_id, Case.unit_id, Case.unit_path, Case.created_at, Case.sampled_at,
                  Case.result_at).where(Case.id > after_id)
    if start is not None:
        stmt = stmt.where(Case.created_at >= start)
    if end is not None:
        stmt = stmt.where(Case.created_at < end)
    if base is not None:
        stmt = scope.within(stmt, base, Case)
    return [{"id": r[0], "person_id": r[1], "unit_id": r[2], "unit_path": r[3], "created_at": r[4],
             "detected_at": r[5] or r[6] or r[4]} for r in session.execute(stmt.order_by(Case.id))]
