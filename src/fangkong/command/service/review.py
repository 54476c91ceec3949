"""Case review (复盘): what happened around a new case, from the services that hold it, each stage
against its policy target, and the chances missed.

Read only, computed when asked (the sources stay the truth, so a review always agrees with them):
tracing (the case's own steps, its contacts and their leads' clocks), intake (the leads that named the
person), testing (the person's tests) and control (whether a measure was in force when the case was
detected: `detected_in_control`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command import kinds
from fangkong.command.models import CaseReview
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task

REQUIRED = message("rectification.required", _("required"))

H = 3600.0


def _h(a: dt.datetime | None, b: dt.datetime | None) -> float | None:
    return round((b - a).total_seconds() / H, 2) if a is not None and b is not None else None


def _stage(stage: str, start: dt.datetime | None, end: dt.datetime | None, target_h: float | None,
           ref: str) -> dict[str, Any]:
    hours = _h(start, end)
    return {"stage": stage, "ref": ref, "hours": hours, "target_h": target_h,
            "slow": hours is not None and target_h is not None and hours > target_h}


def review(session: Session, actor: Actor, case_id: int) -> dict[str, Any]:
    """The review of one case: `events` [{at, kind, source, ref}] in time order, `stages` [{stage,
    hours, target_h, slow}], `missed` chances and `detected_in_control`."""
    from fangkong.control import service as control_service
    from fangkong.intake import service as intake_service
    from fangkong.testing import service as testing_service
    from fangkong.tracing.service import cases as cases_service
    from fangkong.tracing.service import contacts as contacts_service

    actor.require("case.view")
    case = cases_service.get_case(session, actor, case_id)
    pack = policy_service.active_pack(session)
    verify_h = pack.sla_hours["lead_verify"].hours if "lead_verify" in pack.sla_hours else 24.0
    control_band = pack.command.thresholds.get("clock.controlled_h.p90")
    control_h = float(control_band.green) if control_band is not None else 24.0
    detected_at = case.sampled_at or case.result_at or case.created_at
    events: list[tuple[dt.datetime, str, str, str]] = []
    stages: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    ref = f"case:{case.id}"
    for at, kind in ((case.onset_at, "onset"), (case.sampled_at, "sampled"), (case.result_at, "result"),
                     (case.created_at, "case_created"), (case.core_done_at, "core_done"),
                     (case.report_done_at, "report_done"), (case.isolated_at, "isolated")):
        if at is not None:
            events.append((at, kind, "tracing", ref))
    stages.append(_stage("core_investigation", case.created_at, case.core_done_at,
                         _h(case.created_at, case.core_due_at), ref))
    stages.append(_stage("report", case.created_at, case.report_done_at, _h(case.created_at, case.report_due_at), ref))

    # the leads that named the person before and after: their clocks, and any left unverified too long
    try:
        leads = intake_service.leads_of_person(session, actor, case.person_id)
    except PermissionDenied:
        leads = []
    for lead in leads:
        lref = f"lead:{lead.id}"
        for at, kind in ((lead.received_at, "lead_received"), (lead.known_at, "lead_known"),
                         (lead.managed_at, "lead_managed"), (lead.controlled_at, "lead_controlled")):
            if at is not None:
                events.append((at, kind, "intake", lref))
        stages.append(_stage("lead_verify", lead.received_at, lead.managed_at, verify_h, lref))
        due = lead.received_at + dt.timedelta(hours=verify_h)
        if lead.received_at < detected_at and due < detected_at and (lead.managed_at is None or lead.managed_at > due):
            missed.append({"kind": "unverified_lead", "ref": lref, "at": clock.iso_local(due)})

    # the person's tests: sampled, resulted; one still without a result when the case was detected
    try:
        tests = testing_service.results_of_person(session, actor, person_id=case.person_id)
    except PermissionDenied:
        tests = []
    for t in tests:
        events.append((t.collected_at, "test_sampled" if t.pool_size <= 1 else "test_pooled", "testing",
                       f"tube:{t.tube_id}"))
        if t.result is None and t.collected_at < detected_at:
            missed.append({"kind": "test_without_result", "ref": f"tube:{t.tube_id}",
                           "at": clock.iso_local(t.collected_at)})

    # each contact from its confirmation (the lead handed to intake) to under control
    for v in contacts_service.contact_views(session, actor, case.id):
        cref = f"contact:{v.contact.id}"
        events.append((v.contact.confirmed_at, "contact_confirmed", "tracing", cref))
        for at, kind in ((v.managed_at, "contact_managed"), (v.controlled_at, "contact_controlled")):
            if at is not None:
                events.append((at, kind, "intake", cref))
        stages.append(_stage("contact_controlled", v.contact.confirmed_at, v.controlled_at, control_h, cref))

    in_force = control_service.measures_in_force(session, [case.person_id], at=detected_at).get(case.person_id, [])
    events.sort(key=lambda e: (e[0], e[1], e[3]))
    return {"case_id": case.id, "detected_at": clock.iso_local(detected_at),
            "detected_in_control": bool(in_force), "pack_version": pack.version_tag,
            "events": [{"at": clock.iso_local(at), "kind": kind, "source": source, "ref": r}
                       for at, kind, source, r in events],
            "stages": stages, "missed": missed, "review": stored_review(session, actor, case.id)}


def reviews(session: Session, actor: Actor, *, limit: int = 50) -> list[dict[str, Any]]:
    """The reviews of every case the caller sees (newest first)."""
    from fangkong.tracing.service import cases as cases_service

    return [review(session, actor, c.id) for c, _p in cases_service.list_cases(session, actor, limit=limit)]


# ------------------------------------------------------------------------------ stored reviews (复盘记录)

INVALID_REVIEW = message("review.invalid", _("invalid review"))
UNKNOWN_CAUSE = message("review.unknown_cause", _("unknown cause %(code)s; known: %(known)s"))
ACTION_CAUSE = message("review.action_cause", _("an action names one of the review's causes"))


def detected_in_control(session: Session, facts: list[dict[str, Any]]) -> dict[int, bool]:
    """By case id: whether a control measure was in force on the person when the case was detected
    (`case_facts`' `detected_at`). One read per case: cases are few (hundreds a day at most)."""
    from fangkong.control import service as control_service

    out: dict[int, bool] = {}
    for f in facts:
        at = f["detected_at"]
        out[f["id"]] = bool(control_service.measures_in_force(session, [f["person_id"]], at=at).get(f["person_id"]))
    return out


def open_reviews(session: Session, actor: Actor) -> dict[str, Any]:
    """Open a review for every case that has none yet, however it was registered (from a candidate,
    the API, the page): the review row, with whether the case was already under control when detected,
    and a task for the case's unit to carry it out. Idempotent (one review per case)."""
    from fangkong.tracing import service as tracing_service

    pack = policy_service.active_pack(session)
    known = set(session.execute(select(CaseReview.case_id)).scalars())
    facts = [f for f in tracing_service.case_facts(session) if f["id"] not in known]
    control = detected_in_control(session, facts)
    opened = 0
    for f in facts:
        r = CaseReview(case_id=f["id"], status="open", opened_at=clock.now(), detected_in_control=control[f["id"]],
                       detected_at=f["detected_at"], causes=[], note="", pack_version=pack.version_tag,
                       unit_id=f["unit_id"], unit_path=f["unit_path"])
        session.add(r)
        session.flush()
        [r.task_id] = tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
            kind=kinds.REVIEW, title=f"病例复盘:病例 {f['id']}", unit_id=f["unit_id"], subject_type="case",
            subject_id=f["id"], due_at=clock.now() + dt.timedelta(hours=72), policy_version=pack.version_tag,
            rule="command: every new case is reviewed (复盘)")])
        opened += 1
    if opened:
        audit.record(session, actor, "command.reviews_opened", object_type="command_review", object_id=None,
                     count=opened)
    session.flush()
    return {"opened": opened}


def stored_review(session: Session, actor: Actor, case_id: int) -> dict[str, Any] | None:
    """The stored part of a case's review (status, causes, note, actions as findings), None when not opened."""
    from fangkong.command.models import Finding, Rectification

    r = session.execute(scope.visible(select(CaseReview).where(CaseReview.case_id == case_id), actor, CaseReview)
                        ).scalar_one_or_none()
    if r is None:
        return None
    pack = policy_service.active_pack(session)
    actions = []
    for f, rect, u in session.execute(select(Finding, Rectification, Unit)
                                      .join(Rectification, Rectification.finding_id == Finding.id)
                                      .join(Unit, Unit.id == Finding.unit_id)
                                      .where(Finding.review_id == r.id).order_by(Finding.id)):
        actions.append({"finding_id": f.id, "rectification_id": rect.id, "cause": f.item, "unit_code": u.code,
                        "unit_name": u.name, "note": f.note, "status": rect.status,
                        "due_at": clock.iso_local(rect.due_at)})
    causes = pack.command.review_causes
    return {"id": r.id, "status": r.status, "opened_at": clock.iso_local(r.opened_at),
            "detected_in_control": r.detected_in_control,
            "causes": [{"code": c, "name_zh": causes[c].name_zh if c in causes else c} for c in r.causes],
            "note": r.note, "reviewed_at": clock.iso_local(r.reviewed_at) if r.reviewed_at else None,
            "reviewed_by": r.reviewed_by, "actions": actions}


def complete_review(session: Session, actor: Actor, *, case_id: int, causes: list[str],
                    actions: list[dict[str, str]] | None = None, note: str = "") -> dict[str, Any]:
    """The reviewer's conclusion (复盘结论): cause codes of the pack (`command.review_causes`) and actions,
    each `{cause, unit, note}` becoming a rectification of that unit (due by the cause's severity).
    Opens the review first when the job has not yet; the review's task is done."""
    from fangkong.command.service import inspections
    from fangkong.tracing.service import cases as cases_service

    actor.require("case.manage")
    cases_service.get_case(session, actor, case_id)  # 404 outside the caller's subtree
    pack = policy_service.active_pack(session)
    known = pack.command.review_causes
    errors = [FieldError("causes", UNKNOWN_CAUSE(code=c, known=", ".join(sorted(known))))
              for c in causes if c not in known]
    if not causes:
        errors.append(FieldError("causes", REQUIRED()))
    for i, a in enumerate(actions or []):
        if a.get("cause") not in causes:
            errors.append(FieldError(f"actions.{i}.cause", ACTION_CAUSE()))
        if not (a.get("unit") or "").strip():
            errors.append(FieldError(f"actions.{i}.unit", REQUIRED()))
    if errors:
        raise ValidationFailed(INVALID_REVIEW(), errors)
    r = session.execute(select(CaseReview).where(CaseReview.case_id == case_id)).scalar_one_or_none()
    if r is None:
        open_reviews(session, actor)
        r = session.execute(select(CaseReview).where(CaseReview.case_id == case_id)).scalar_one()
    r.causes = list(dict.fromkeys(causes))
    r.note = note.strip()
    r.status = "reviewed"
    r.reviewed_at = clock.now()
    r.reviewed_by = actor.username
    for a in actions or []:
        inspections.review_action(session, actor, review_id=r.id, cause=a["cause"], unit_code=a["unit"].strip(),
                                  note=(a.get("note") or "").strip())
    if r.task_id is not None:
        task = session.get(Task, r.task_id)
        if task is not None and task.status == "open":
            tasks_service.complete_task(session, actor, r.task_id, outcome_code="reviewed", by_owner=True)
    audit.record(session, actor, "command.case_reviewed", object_type="command_review", object_id=r.id,
                 case_id=case_id, causes=r.causes, actions=len(actions or []))
    session.flush()
    return stored_review(session, actor, case_id) or {}
