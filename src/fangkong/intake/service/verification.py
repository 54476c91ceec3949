"""Verification (即管) and the start of control (即控): the outcome of the four checks moves the lead.

found_home / found_site → the measure starts (controlled); not_at_address → a locate task one level
up (re-push); left_city → an outbound assist request, lead closed; controlled_elsewhere / false_lead →
closed. A lead whose decision needs nothing new (a measure already in force, or no measure) is
closed, or counted controlled when a measure is already in force.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake import kinds
from fangkong.intake.errors import INVALID_VERIFICATION, LeadNotOpen
from fangkong.intake.models import AssistRequest, Lead
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import ONE_OF, DomainError, FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import Term, _, message
from fangkong.kernel.messaging import service as messaging
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task

NAME_LEAD_OR_TASK = message("verification.lead_or_task", _("name a lead or a task"))
GIVE_LEAD_OR_TASK = message("verification.give_lead_or_task", _("give lead_id or task_id"))
TASK_NOT_LEAD = message("verification.task_not_lead", _("task %(id)s is not about a lead"))
NOT_CURRENT_TASK = message("verification.not_current_task", _("task %(id)s is not the lead's current task"))
NOT_WAITING = message("verification.not_waiting", _("lead %(id)s is %(status)s, not waiting for verification"))
DESTINATION_REQUIRED = message("verification.destination_required", _("required when the person left the city"))
SITE_REQUIRED = message("verification.site_required", _("required when the person was transferred to a site"))
AT_A_SITE = message("verification.at_a_site", _("centralised quarantine is served at a quarantine site: "
                                                "choose found_site and the site"))

OPEN_STATUSES = ("known", "locating")
UNKNOWN_CHECKS = message("verification.unknown_checks", _(
    "unknown checks %(unknown)s; the four checks are %(expected)s"))
BAD_HEADCOUNT = message("verification.headcount", _(
    "the headcount is a whole number of persons at the address, household included (0 to %(max)s)"))
BAD_IDENTITY = message("verification.identity", _("the identity check is yes or no"))


def clean_checks(four_checks: dict[str, Any] | None) -> tuple[dict[str, Any], list[FieldError]]:
    """The four checks (四个查清) as stored: `headcount` an int, `identity` a bool, `location` and
    `control` text; every problem a FieldError on `four_checks.<key>`."""
    checks = dict(four_checks or {})
    errors: list[FieldError] = []
    unknown = sorted(set(checks) - set(kinds.FOUR_CHECKS))
    if unknown:
        errors.append(FieldError("four_checks", UNKNOWN_CHECKS(unknown=", ".join(unknown),
                                                               expected=", ".join(kinds.FOUR_CHECKS))))
    out: dict[str, Any] = {}
    raw = checks.get("headcount")
    if raw is not None and raw != "":
        text = unicodedata.normalize("NFKC", str(raw)).strip()  # full-width digits are digits
        n = raw if isinstance(raw, int) and not isinstance(raw, bool) else (
            int(text) if text.isascii() and text.isdigit() else None)
        if n is None or not 0 <= n <= kinds.MAX_HEADCOUNT:
            errors.append(FieldError("four_checks.headcount", BAD_HEADCOUNT(max=kinds.MAX_HEADCOUNT)))
        else:
            out["headcount"] = n
    ident = checks.get("identity")
    if ident is not None and ident != "":
        yes_no = {"yes": True, "no": False, "true": True, "false": False, "是": True, "否": False}
        if isinstance(ident, bool):
            out["identity"] = ident
        elif str(ident).strip().lower() in yes_no:
            out["identity"] = yes_no[str(ident).strip().lower()]
        else:
            errors.append(FieldError("four_checks.identity", BAD_IDENTITY()))
    for key in ("location", "control"):
        text = " ".join(str(checks.get(key) or "").split())[:200]
        if text:
            out[key] = text
    return out, errors


def _lead_for(session: Session, actor: Actor, lead_id: int | None, task_id: int | None) -> Lead:
    if (lead_id is None) == (task_id is None):
        raise ValidationFailed(NAME_LEAD_OR_TASK(), [FieldError("lead_id", GIVE_LEAD_OR_TASK())])
    if task_id is not None:
        task = tasks_service.get_task(session, actor, task_id)
        if task.subject_type != "lead" or task.subject_id is None:
            raise NotFound(TASK_NOT_LEAD(id=task_id))
        lead = session.get(Lead, task.subject_id)
        if lead is None or lead.verification_task_id != task.id:
            raise LeadNotOpen(NOT_CURRENT_TASK(id=task_id))
        return lead
    assert lead_id is not None
    return scope.get_visible(session, actor, Lead, lead_id)


def _answer_assist_in(session: Session, lead: Lead, now: Any, note: str) -> None:
    for req in session.execute(select(AssistRequest).where(
            AssistRequest.lead_id == lead.id, AssistRequest.direction == "in",
            AssistRequest.status == "open")).scalars():
        req.status, req.answered_at, req.note = "answered", now, note[:500]


def record_verification(
    session: Session,
    actor: Actor,
    *,
    lead_id: int | None = None,
    task_id: int | None = None,
    outcome_code: str,
    four_checks: dict[str, Any] | None = None,
    destination: str | None = None,
    site_place_id: int | None = None,
    note: str | None = None,
) -> Lead:
    """Record the four checks (四个查清: 人数、人头、位置、管控情况) of a lead's open task and take the
    next step. `four_checks` holds `headcount` (persons at the address, household included: a number,
    also kept on the lead), `identity` (yes/no), `location` and `control` (text); each is optional."""
    actor.require("lead.verify")
    lead = _lead_for(session, actor, lead_id, task_id)
    if lead.status not in OPEN_STATUSES or lead.verification_task_id is None:
        raise LeadNotOpen(NOT_WAITING(id=lead.id, status=Term(lead.status, kind="lead_status")))
    errors: list[FieldError] = []
    if outcome_code not in kinds.OUTCOMES:
        errors.append(FieldError("outcome_code", ONE_OF(choices=[Term(o, kind=f"outcome.{kinds.VERIFY}")
                                                                 for o in kinds.OUTCOMES])))
    checks, check_errors = clean_checks(four_checks)
    errors.extend(check_errors)
    destination = " ".join((destination or "").split()) or None
    if outcome_code == "left_city" and not destination:
        errors.append(FieldError("destination", DESTINATION_REQUIRED()))
    if outcome_code == "found_site" and site_place_id is None:
        errors.append(FieldError("site_place_id", SITE_REQUIRED()))
    if outcome_code == "found_home" and lead.measure_code == "centralised_quarantine":
        errors.append(FieldError("outcome_code", AT_A_SITE()))
    if errors:
        raise ValidationFailed(INVALID_VERIFICATION(), errors)

    outcome: dict[str, Any] = {"four_checks": checks}
    if destination:
        outcome["destination"] = destination
    if site_place_id is not None:
        outcome["site_place_id"] = site_place_id
    tasks_service.complete_task(session, actor, lead.verification_task_id, by_owner=True, outcome_code=outcome_code,
                                outcome=outcome, note=note)
    now = clock.now()
    lead.outcome_code = outcome_code
    if "headcount" in checks:
        lead.headcount = checks["headcount"]
    next_task_id = None
    if outcome_code in ("found_home", "found_site"):
        lead.managed_at = now
        if lead.measure_code and lead.rule != "measures.in_force" and _needs_measure(session, lead):
            assert lead.person_id is not None and lead.decision_category and lead.rule
            measure = control_service.start_measure(
                session, actor, person_id=lead.person_id, category=lead.decision_category, rule=lead.rule,
                lead_id=lead.id, place_kind="site" if outcome_code == "found_site" else "home",
                place_id=site_place_id, started_at=now, pack_version=lead.pack_version,
                arrival_at=lead.arrival_at)  # day 0 of an inbound traveller (and a traveller's, by default)
            lead.measure_id = measure.id
            lead.controlled_at, lead.status = now, "controlled"
        elif lead.rule == "measures.in_force":
            lead.controlled_at, lead.status = now, "controlled"
        else:
            lead.closed_at, lead.status = now, "closed"
    elif outcome_code == "not_at_address":
        # re-push: locating the person becomes the parent unit's task
        unit = session.get(Unit, lead.unit_id)
        parent = session.get(Unit, unit.parent_id) if unit is not None and unit.parent_id else unit
        assert parent is not None
        pack = policy_service.active_pack(session)
        # the search follows from the four checks (lead.verify was checked): written as the worker
        [task_id] = tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
            kind=kinds.LOCATE, title=f"查找重点人员 {lead.name or '#' + str(lead.person_id)}",
            unit_id=parent.id, subject_type="lead", subject_id=lead.id, due_at=now + pack.sla("lead_verify"),
            policy_version=pack.version_tag, rule="sla_hours.lead_verify",
            detail={"person_id": lead.person_id, "repushed_from_unit": lead.unit_id})])
        lead.verification_task_id, lead.status = task_id, "locating"
        next_task_id = task_id
    else:
        lead.managed_at, lead.closed_at, lead.status = now, now, "closed"
        if outcome_code == "left_city":
            assist = AssistRequest(direction="out", person_id=lead.person_id, lead_id=lead.id,
                                   region=destination[:100] if destination else None, status="open",
                                   created_at=now, unit_id=lead.unit_id, unit_path=lead.unit_path)
            session.add(assist)
            session.flush()
            # the request leaves through the kernel's outbox (held, never sent, in a drill)
            messaging.send(session, actor, channel="assist", recipient=assist.region, person_id=lead.person_id,
                           subject_type="assist_request", subject_id=assist.id,
                           body=f"协查请求:线索 {lead.id} 人员 {lead.person_id} 已离开本市,去向 {assist.region or '不详'}")
    if lead.channel == "assist" and lead.managed_at is not None:
        _answer_assist_in(session, lead, now, kinds.OUTCOMES[outcome_code][0])
    session.flush()
    audit.record(session, actor, "intake.lead_verified", object_type="lead", object_id=lead.id,
                 outcome_code=outcome_code, status=lead.status, measure_id=lead.measure_id,
                 next_task_id=next_task_id, checks=sorted(checks))
    return lead


def pushed_to(session: Session, lead: Lead) -> Unit | None:
    """The unit a lead not found at its address was pushed to (the owner of its locate task), or None
    when the lead is not being located. The verifier is told this unit's name even though the task now
    lies outside their own subtree (it is the unit above them)."""
    if lead.status != "locating" or lead.verification_task_id is None:
        return None
    task = session.get(Task, lead.verification_task_id)
    if task is None or task.kind != kinds.LOCATE or task.unit_id is None:
        return None
    return session.get(Unit, task.unit_id)


def _needs_measure(session: Session, lead: Lead) -> bool:
    """False for a decision whose measure is of kind `none` (nothing to start)."""
    decision = lead.decision or {}
    return decision.get("kind", "none") != "none"


@dataclass(frozen=True)
class VerificationItem:
    """One lead's four checks in a batch (the fields of `record_verification`)."""

    lead_id: int
    outcome_code: str
    four_checks: dict[str, Any] | None = None
    destination: str | None = None
    site_place_id: int | None = None
    note: str | None = None


@dataclass
class VerificationReport:
    """A batch item's answer: `verified` with the lead as it now stands, or `rejected` with the error the
    single-row path raised and the lead as it still stands (when the actor sees it), so the worker can
    follow the platform's decision (a centralised measure is served at a site) without reading it again."""

    lead_id: int
    status: str
    lead: Lead | None
    error: DomainError | None = None


def record_verifications(session: Session, actor: Actor, items: Sequence[VerificationItem]) -> list[VerificationReport]:
    """The four checks of many leads at once (a grid worker's round, synced from a phone or another
    system): each item goes through `record_verification` — the same rules, the same steps, one audit
    event each — under its own savepoint, so a refused item (not open, invalid, not found) leaves
    nothing behind and the others stand."""
    actor.require("lead.verify")
    out: list[VerificationReport] = []
    for it in items:
        savepoint = session.begin_nested()
        try:
            lead = record_verification(session, actor, lead_id=it.lead_id, outcome_code=it.outcome_code,
                                       four_checks=it.four_checks, destination=it.destination,
                                       site_place_id=it.site_place_id, note=it.note)
        except DomainError as exc:
            savepoint.rollback()
            try:
                current: Lead | None = scope.get_visible(session, actor, Lead, it.lead_id)
            except NotFound:
                current = None
            out.append(VerificationReport(it.lead_id, "rejected", current, exc))
            continue
        savepoint.commit()
        out.append(VerificationReport(it.lead_id, "verified", lead))
    return out
