"""From a positive individual result to contacts under measure, through the services on the real
database: case → investigation (scans, household, workplace, co-location) → contacts → leads decided
by intake → chain, clusters, milestones and timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from tracing_factories import NOW, build_world, epidemiologist, phone, positive_result, standard_scans

from fangkong.intake import service as intake_service
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks.models import Task
from fangkong.tracing import service
from fangkong.tracing.models import Case, Contact


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _leads(session, case_id: int) -> dict[int, Lead]:
    rows = session.execute(select(Lead).where(Lead.source_ref.like(f"case:{case_id}:%"))).scalars()
    return {lead.person_id: lead for lead in rows}


def test_positive_result_to_contacts_under_measure(session) -> None:
    w = build_world(session)
    standard_scans(session, w)
    positive_result(session, w)
    epi = epidemiologist(w.district)

    # the positive result waits for confirmation; confirming makes the case and its investigation task
    [(cand, person)] = service.pending_candidates(session, epi)
    assert person.id == w.subject
    case = service.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic")
    assert service.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic").id == case.id
    assert service.pending_candidates(session, epi) == []
    assert (case.person_id, case.source, case.detection_channel) == (w.subject, "candidate", "key_group_screening")
    assert case.sampled_at == NOW - dt.timedelta(hours=8)
    task = session.get(Task, case.investigation_task_id)
    assert (task.kind, task.unit_id, task.subject_type, task.subject_id) == ("investigate_case", w.district.id,
                                                                             "case", case.id)
    assert task.due_at == NOW + dt.timedelta(hours=24) and task.rule == "sla_hours.investigation_report"
    assert task.policy_version and task.policy_version == case.pack_version
    assert case.core_due_at == NOW + dt.timedelta(hours=4)
    assert task.detail["steps"]["core"]["rule"] == "sla_hours.investigation_core"

    # the investigation: own scans in the window (4 days before sampling), household, workplace, hits
    inv = service.investigation_of(session, epi, case.id)
    assert inv.window == (case.sampled_at - dt.timedelta(days=4), NOW)
    assert [s.venue_name for s in inv.scans] == ["花园菜市场"]
    assert [p.person_id for p in inv.household] == [w.household]
    assert [p.person_id for p in inv.workplace] == [w.colleague]
    assert [h.person_id for h in inv.hits or []] == [w.covisitor]  # the 3-hours-later visitor is not a hit
    assert inv.hits[0].gap_min == 10.0

    # confirm contacts: each becomes a lead through intake, which decides the measure
    items = [service.ContactItem(kind="household", person_id=w.household, relation="配偶"),
             service.ContactItem(kind="workplace", person_id=w.colleague),
             service.ContactItem(kind="colocation", person_id=w.covisitor),
             service.ContactItem(kind="named", name="孙朋友", phone=phone(77), relation="朋友",
                                 last_contact_at=NOW - dt.timedelta(days=1)),
             service.ContactItem(kind="colocation", person_id=w.late_visitor),
             service.ContactItem(kind="household", person_id=w.colleague),
             service.ContactItem(kind="named")]
    reports = service.confirm_contacts(session, epi, case_id=case.id, items=items)
    assert [r.status for r in reports] == ["accepted"] * 4 + ["rejected"] * 3
    assert reports[4].issues == ["person_id: not a colocation contact of this case"]
    assert reports[6].issues == ["name: give a name, phone or ID number"]
    leads = _leads(session, case.id)
    assert len(leads) == 4
    by_person = {w.household: ("tracing", "close_contact"), w.colleague: ("tracing", "close_contact"),
                 w.covisitor: ("colocation", "colocation")}
    for pid, (channel, category) in by_person.items():
        assert (leads[pid].channel, leads[pid].category) == (channel, category)
    assert leads[w.household].measure_code == "centralised_quarantine"  # the pack's close-contact measure
    assert leads[w.covisitor].measure_code == "self_health_monitoring"
    assert all(lead.verification_task_id and lead.known_at == NOW for lead in leads.values())
    named = reports[3].person_id
    assert named not in (w.household, w.colleague, w.covisitor) and leads[named].category == "close_contact"
    colocated = session.execute(select(Contact).where(Contact.person_id == w.covisitor)).scalar_one()
    assert (colocated.venue_id, colocated.overlap_min) == (w.venue.id, 10.0)

    # confirming again changes nothing
    again = service.confirm_contacts(session, epi, case_id=case.id, items=items[:4])
    assert [r.status for r in again] == ["duplicate"] * 4
    assert [r.lead_id for r in again] == [r.lead_id for r in reports[:4]]
    assert session.execute(select(func.count()).select_from(Lead)
                           .where(Lead.source_ref.like(f"case:{case.id}:%"))).scalar_one() == 4

    # a secondary contact from the household member's page
    hh_contact = reports[0].contact_id
    [sec] = service.confirm_contacts(session, epi, case_id=case.id, items=[
        service.ContactItem(kind="secondary", via_contact_id=hh_contact, name="王同事", phone=phone(88))])
    assert sec.status == "accepted" and sec.category == "secondary_contact"
    assert session.get(Lead, sec.lead_id).measure_code == "home_quarantine"
    [bad] = service.confirm_contacts(session, epi, case_id=case.id, items=[
        service.ContactItem(kind="secondary", via_contact_id=sec.contact_id, name="某人", phone=phone(89))])
    assert bad.status == "rejected" and bad.issues == ["via_contact_id: not a close contact of this case"]

    # the grid verifies: the co-location contact is under measure, the rest not yet
    intake_service.record_verification(session, SYSTEM_ACTOR, lead_id=leads[w.covisitor].id, outcome_code="found_home")
    views = {v.contact.person_id: v for v in service.contact_views(session, epi, case.id)}
    assert views[w.covisitor].controlled_at == NOW and views[w.covisitor].graph_status == "colocation"
    assert views[w.household].graph_status == "uncontrolled"

    # a second case among the contacts, linked: the chain and the cluster
    case2 = service.create_case(session, epi, classification="confirmed", detection_channel="tracing",
                                person_id=w.colleague, sampled_at=NOW - dt.timedelta(hours=2),
                                onset_at=NOW - dt.timedelta(days=1))
    with pytest.raises(Conflict):
        service.create_case(session, epi, classification="confirmed", detection_channel="tracing",
                            person_id=w.colleague, sampled_at=NOW)
    service.link_cases(session, epi, source_case_id=case.id, target_case_id=case2.id)
    assert service.link_cases(session, epi, source_case_id=case.id, target_case_id=case2.id).id  # idempotent
    with pytest.raises(ValidationFailed):
        service.link_cases(session, epi, source_case_id=case2.id, target_case_id=case.id)  # a loop
    assert service.cluster_of(session, epi, case2.id) == [case.id, case2.id]
    chain = service.case_chain(session, epi, case.id)
    ids = {n["id"]: n for n in chain["nodes"]}
    assert ids[f"case-{case.id}"]["category"] == "case" and ids[f"case-{case2.id}"]["category"] == "case"
    assert {"source": f"case-{case.id}", "target": f"case-{case2.id}", "kind": "infected"} in chain["edges"]
    contact_nodes = [n for n in chain["nodes"] if n["kind"] == "contact"]
    assert {n["category"] for n in contact_nodes} == {"colocation", "uncontrolled"}
    assert len(contact_nodes) == 4  # household, co-visitor, named, secondary (the colleague is now a case)
    assert any(e["kind"] == "secondary" for e in chain["edges"])
    assert all(e["source"] in ids and e["target"] in ids for e in chain["edges"])

    # milestones close the task's steps; the report closes the task
    with clock.frozen(NOW + dt.timedelta(hours=3)):
        service.record_milestone(session, epi, case_id=case.id, step="core")
    assert case.status == "core_done" and task.status == "open" and task.detail["steps"]["core"]["done_at"]
    with clock.frozen(NOW + dt.timedelta(hours=20)):
        service.record_milestone(session, epi, case_id=case.id, step="report")
    assert (case.status, task.status, task.outcome_code) == ("reported", "done", "reported")

    events = [e.event for e in service.timeline(session, epi, case.id)]
    assert events[:3] == ["sampled", "result", "case_created"]
    assert {"contact_confirmed", "contact_controlled", "core_done", "report_done"} <= set(events)


def test_scope_and_permissions(session) -> None:
    w = build_world(session)
    positive_result(session, w)
    epi = epidemiologist(w.district)
    [(cand, _p)] = service.pending_candidates(session, epi)
    case = service.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic")
    outsider = epidemiologist(w.other_district, name="other")
    with pytest.raises(NotFound):
        service.get_case(session, outsider, case.id)
    assert service.list_cases(session, outsider) == [] and service.pending_candidates(session, outsider) == []
    with pytest.raises(NotFound):
        service.confirm_contacts(session, outsider, case_id=case.id, items=[])
    viewer = Actor(user_id=None, username="v", role="viewer", unit_id=w.district.id, unit_path=w.district.path,
                   permissions=frozenset({"case.view"}))
    with pytest.raises(PermissionDenied):
        service.confirm_contacts(session, viewer, case_id=case.id, items=[])
    with pytest.raises(PermissionDenied):
        service.record_milestone(session, viewer, case_id=case.id, step="core")
    assert [c.id for c, _ in service.list_cases(session, viewer)] == [case.id]


def test_case_validation_and_identity(session) -> None:
    w = build_world(session)
    epi = epidemiologist(w.district)
    with pytest.raises(ValidationFailed) as err:
        service.create_case(session, epi, classification="asymptomatic", detection_channel="fax",
                            person_id=w.subject)
    assert {f.field for f in err.value.fields} == {"detection_channel"}
    with pytest.raises(ValidationFailed) as err:
        service.create_case(session, epi, classification="asymptomatic", detection_channel="sentinel",
                            person_id=w.subject, onset_at=NOW - dt.timedelta(days=1))
    assert [f.field for f in err.value.fields] == ["sampled_at"]
    with pytest.raises(ValidationFailed):
        service.create_case(session, epi, classification="confirmed", detection_channel="sentinel",
                            person_id=w.subject, sampled_at=NOW + dt.timedelta(days=1))
    # a clinic report by identity finds the registered person
    case = service.create_case(session, epi, classification="confirmed", detection_channel="sentinel",
                               source="clinic", name="王病例", phone=phone(1), sampled_at=NOW - dt.timedelta(hours=3))
    assert case.person_id == w.subject and case.source == "clinic"
    assert session.execute(select(func.count()).select_from(Case)).scalar_one() >= 1
    place = service.add_place(session, epi, case_id=case.id, name="", place_id=w.venue.id,
                              visited_from=NOW - dt.timedelta(days=2))
    assert place.name == "花园菜市场" and isinstance(session.get(Place, place.place_id), Place)
