"""Case review (复盘): what happened around a new case, from the services that hold it, each stage
against its policy target, and the chances missed.

Read only, computed when asked (the sources stay the truth, so a review always agrees with them):
tracing (the case's own steps, its contacts and their leads' clocks), intake (the leads that named the
person), testing (the person's tests) and control (whether a measure was in force when the case was
detected: `detected_in_control`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import PermissionDenied
from fangkong.kernel.policy import service as policy_service

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
            "stages": stages, "missed": missed}


def reviews(session: Session, actor: Actor, *, limit: int = 50) -> list[dict[str, Any]]:
    """The reviews of every case the caller sees (newest first)."""
    from fangkong.tracing.service import cases as cases_service

    return [review(session, actor, c.id) for c, _p in cases_service.list_cases(session, actor, limit=limit)]
