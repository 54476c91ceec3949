"""What follows confirmation, on the real database through the services: venue co-visitors are
`colocation` leads (场所同时段人员, 3天2检) found by overlapping stays — interview places included —
until an epidemiologist upgrades them; secondary contacts must fall in the close contact's exposure
window, become close contacts when the close contact turns positive, and are released on day 7 only
after the close contact's first two tests were negative."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from tracing_factories import (
    NOW,
    World,
    add_scans,
    build_world,
    epidemiologist,
    phone,
    positive_result,
    standard_scans,
    test_result,
)

from fangkong.control import service as control_service
from fangkong.intake import service as intake_service
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.errors import Conflict, PermissionDenied
from fangkong.kernel.places import service as places_service
from fangkong.tracing import service
from fangkong.tracing.models import Case, Contact

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _case(session, w: World, epi: Actor) -> Case:
    positive_result(session, w)
    [(cand, _p)] = service.pending_candidates(session, epi)
    return service.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic")


def _lead(session, lead_id: int):
    return intake_service.get_lead(session, SYSTEM_ACTOR, lead_id)


def _audits(session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_a_venue_co_visitor_is_a_colocation_lead_with_two_tests_in_three_days(session) -> None:
    w = build_world(session)
    standard_scans(session, w)
    epi = epidemiologist(w.district)
    case = _case(session, w, epi)
    [rep] = service.confirm_contacts(session, epi, case_id=case.id,
                                     items=[service.ContactItem(kind="colocation", person_id=w.covisitor)])
    assert (rep.status, rep.channel, rep.category) == ("accepted", "colocation", "colocation")
    contact = session.get(Contact, rep.contact_id)
    assert contact.tier == "colocation"  # a risk person (场所同时段人员), not a close contact
    lead = _lead(session, rep.lead_id)
    decision = lead.decision
    assert (lead.decision_category, lead.rule, lead.measure_code) == (
        "colocation", "categories.colocation", "self_health_monitoring")
    assert decision["test_days"] == [1, 2] and decision["total_days"] == 3
    # intake starts 3天2检: tests on days 1 and 2, ended by 2 negatives ≥ 24 h apart within 3 days
    intake_service.record_verification(session, SYSTEM_ACTOR, lead_id=lead.id, outcome_code="found_home")
    measure = control_service.get_measure(session, SYSTEM_ACTOR, _lead(session, lead.id).measure_id)
    assert (measure.category, measure.measure_code) == ("colocation", "self_health_monitoring")
    assert measure.test_dates == ["2022-04-18", "2022-04-19"]
    from fangkong.kernel.policy import service as policy_service

    until = policy_service.active_pack(session).category("colocation").until_negatives
    assert (until.count, until.min_gap_hours, until.within_days) == (2, 24, 3)
    # the graph and the contact list keep them apart from close contacts
    [view] = service.contact_views(session, epi, case.id)
    assert view.graph_status == "colocation"


def test_interview_times_replace_the_dwell_time_and_interview_places_alone_give_hits(session) -> None:
    w = build_world(session)
    epi = epidemiologist(w.district)
    case = _case(session, w, epi)
    t = NOW - 2 * DAY
    shop = places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name="街角便利店", ref="VR-SHOP",
                                       category="convenience_store", unit_id=w.grid.id)
    # the case scanned the market (a 60-minute stay by default); the co-visitor came 100 min later;
    # someone was at the shop, which the case never scanned but named in the interview
    add_scans(session, [(w.venue.id, 1, t), (w.venue.id, 4, t + dt.timedelta(minutes=100)),
                        (shop.id, 5, t + dt.timedelta(hours=5, minutes=10))], "iv")
    inv = service.investigation_of(session, epi, case.id)
    assert inv.hits == []  # 100 min after a 60-minute stay: no overlap
    service.add_place(session, epi, case_id=case.id, name="", place_id=w.venue.id,
                      visited_from=t - dt.timedelta(minutes=5), visited_until=t + dt.timedelta(hours=2))
    service.add_place(session, epi, case_id=case.id, name="", place_id=shop.id,
                      visited_from=t + dt.timedelta(hours=5))  # no end given: the shop's 15 minutes
    hits = {h.person_id: h for h in service.investigation_of(session, epi, case.id).hits}
    assert set(hits) == {w.covisitor, w.late_visitor}
    assert hits[w.covisitor].subject_source == "interview" and hits[w.covisitor].venue_id == w.venue.id
    assert hits[w.late_visitor].venue_id == shop.id and hits[w.late_visitor].gap_min == 10.0
    # and they can be confirmed from there
    reports = service.confirm_contacts(session, epi, case_id=case.id, items=[
        service.ContactItem(kind="colocation", person_id=w.late_visitor)])
    assert reports[0].status == "accepted"


def test_an_epidemiologist_upgrades_a_co_visitor_to_a_close_contact(session) -> None:
    w = build_world(session)
    standard_scans(session, w)
    epi = epidemiologist(w.district)
    case = _case(session, w, epi)
    [co, hh] = service.confirm_contacts(session, epi, case_id=case.id, items=[
        service.ContactItem(kind="colocation", person_id=w.covisitor),
        service.ContactItem(kind="household", person_id=w.household)])
    district = Actor(user_id=None, username="dist", role="district", unit_id=w.district.id,
                     unit_path=w.district.path, permissions=frozenset(MATRIX["district"]))
    assert "contact.confirm" in district.permissions and "contact.upgrade" not in district.permissions
    with pytest.raises(PermissionDenied):
        service.upgrade_contact(session, district, case_id=case.id, contact_id=co.contact_id)
    with pytest.raises(Conflict):
        service.upgrade_contact(session, epi, case_id=case.id, contact_id=hh.contact_id)
    contact = service.upgrade_contact(session, epi, case_id=case.id, contact_id=co.contact_id, reason="同桌就餐")
    assert (contact.tier, contact.kind, contact.channel, contact.category) == (
        "close", "colocation", "tracing", "close_contact")
    assert contact.lead_id != co.lead_id
    lead = _lead(session, contact.lead_id)
    assert (lead.channel, lead.category, lead.measure_code) == ("tracing", "close_contact", "centralised_quarantine")
    assert contact.first_contact_at == contact.last_contact_at == NOW - 2 * DAY + dt.timedelta(minutes=10)
    assert contact.detail["upgraded"]["previous"]["lead_id"] == co.lead_id
    [event] = _audits(session, "tracing.contact_upgraded")
    assert event.actor_name == "epi" and event.detail["reason"] == "同桌就餐"
    # again: nothing changes
    assert service.upgrade_contact(session, epi, case_id=case.id, contact_id=co.contact_id).lead_id == lead.id
    assert len(_audits(session, "tracing.contact_upgraded")) == 1


def test_a_secondary_contact_must_have_met_the_close_contact_in_the_exposure_window(session) -> None:
    w = build_world(session)
    epi = epidemiologist(w.district)
    case = _case(session, w, epi)  # sampled NOW − 8 h: the window opens 4 days before
    first = NOW - 2 * DAY
    [hh] = service.confirm_contacts(session, epi, case_id=case.id, items=[
        service.ContactItem(kind="household", person_id=w.household, first_contact_at=first)])
    assert session.get(Contact, hh.contact_id).first_contact_at == first
    site = places_service.create_place(session, SYSTEM_ACTOR, kind="quarantine_site", name="隔离酒店", code="QS1")
    with clock.frozen(NOW + dt.timedelta(hours=2)):
        intake_service.record_verification(session, SYSTEM_ACTOR, lead_id=hh.lead_id, outcome_code="found_site",
                                           site_place_id=site.id)

    def secondary(n: int, at: dt.datetime | None):
        return service.ContactItem(kind="secondary", via_contact_id=hh.contact_id, name=f"同事{n}", phone=phone(60 + n),
                                   last_contact_at=at)

    with clock.frozen(NOW + dt.timedelta(hours=3)):
        reports = service.confirm_contacts(session, epi, case_id=case.id, items=[
            secondary(1, first - dt.timedelta(minutes=1)),  # before the close contact met the case
            secondary(2, first),  # the window's edges count
            secondary(3, NOW + dt.timedelta(hours=2)),
            secondary(4, NOW + dt.timedelta(hours=2, minutes=1)),  # after the close contact was controlled
            secondary(5, None)])  # no time given: lived or worked with them throughout
    assert [r.status for r in reports] == ["rejected", "accepted", "accepted", "rejected", "accepted"]
    assert reports[0].issues == ["last_contact_at: 2022-04-16 11:59 is outside the close contact's exposure window "
                                 "(2022-04-16 12:00 to 2022-04-18 14:00)"]
    assert reports[3].issues[0].startswith("last_contact_at: 2022-04-18 14:01 is outside")
    assert reports[0].issues[0].message.code == "tracing.outside_exposure_window"


def _chain(session, w: World):
    """A case, its household member as a close contact at a quarantine site from NOW, and a secondary
    contact of that household member at home from NOW (7 days)."""
    epi = epidemiologist(w.district)
    case = _case(session, w, epi)
    [hh] = service.confirm_contacts(session, epi, case_id=case.id,
                                    items=[service.ContactItem(kind="household", person_id=w.household)])
    [sec] = service.confirm_contacts(session, epi, case_id=case.id, items=[service.ContactItem(
        kind="secondary", via_contact_id=hh.contact_id, name="王同事", phone=phone(88), relation="同事",
        last_contact_at=NOW - DAY)])
    site = places_service.create_place(session, SYSTEM_ACTOR, kind="quarantine_site", name="隔离酒店", code="QS2")
    intake_service.record_verification(session, SYSTEM_ACTOR, lead_id=hh.lead_id, outcome_code="found_site",
                                       site_place_id=site.id)
    intake_service.record_verification(session, SYSTEM_ACTOR, lead_id=sec.lead_id, outcome_code="found_home")
    measure_id = _lead(session, sec.lead_id).measure_id
    assert control_service.get_measure(session, SYSTEM_ACTOR, measure_id).planned_end_at == NOW + 7 * DAY
    return epi, case, hh, sec, measure_id, site


def _in_force(session, measure_id: int, at: dt.datetime) -> bool:
    m = control_service.get_measure(session, SYSTEM_ACTOR, measure_id)
    return m.id in {x.id for x in control_service.measures_in_force(session, [m.person_id], at=at)[m.person_id]}


def test_a_secondary_contact_is_released_on_day_7_only_after_the_close_contacts_two_negatives(session) -> None:
    w = build_world(session)
    _epi, _c, _hh, sec, measure_id, _site = _chain(session, w)
    # day 1: no tests of the close contact yet → the measure is held past its planned end
    with clock.frozen(NOW + dt.timedelta(hours=1)):
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.held == [sec.contact_id]
    measure = control_service.get_measure(session, SYSTEM_ACTOR, measure_id)
    assert measure.planned_end_at is None and measure.status == "active"
    assert _in_force(session, measure_id, NOW + 8 * DAY)
    # the close contact's first test (quarantine day 1) is negative, the second still pending on day 8
    with clock.frozen(NOW + dt.timedelta(hours=3)):
        test_result(session, w, seq=2, barcode="CC-1", collected_at=NOW + dt.timedelta(hours=2))
    with clock.frozen(NOW + 8 * DAY):
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.held == [sec.contact_id] and done.released == []
    assert session.get(Contact, sec.contact_id).released_at is None
    # the second (day 2) negative arrives: released at the next review, the measure ended
    with clock.frozen(NOW + DAY + dt.timedelta(hours=3)):
        test_result(session, w, seq=2, barcode="CC-2", collected_at=NOW + DAY + dt.timedelta(hours=2))
    with clock.frozen(NOW + 8 * DAY + dt.timedelta(hours=1)):
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.released == [sec.contact_id]
    contact = session.get(Contact, sec.contact_id)
    assert (contact.released_at, contact.release_rule) == (NOW + 8 * DAY + dt.timedelta(hours=1),
                                                           "secondary.close_contact_negatives")
    measure = control_service.get_measure(session, SYSTEM_ACTOR, measure_id)
    assert measure.status == "ended" and "前2次核酸检测均阴性" in measure.end_reason


def test_two_negatives_before_day_7_wait_for_day_7_and_a_positive_holds(session) -> None:
    w = build_world(session)
    _epi, _c, _hh, sec, measure_id, _site = _chain(session, w)
    with clock.frozen(NOW + 2 * DAY):
        test_result(session, w, seq=2, barcode="CC-3", collected_at=NOW + dt.timedelta(hours=2))
        test_result(session, w, seq=2, barcode="CC-4", collected_at=NOW + DAY + dt.timedelta(hours=2))
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.waiting == [sec.contact_id]
    assert control_service.get_measure(session, SYSTEM_ACTOR, measure_id).planned_end_at == NOW + 7 * DAY


def test_a_positive_among_the_close_contacts_first_tests_holds_the_secondary_contact(session) -> None:
    w = build_world(session)
    _epi, _c, _hh, sec, measure_id, _site = _chain(session, w)
    with clock.frozen(NOW + 2 * DAY):
        test_result(session, w, seq=2, barcode="CB-1", collected_at=NOW + dt.timedelta(hours=2))
        test_result(session, w, seq=2, barcode="CB-2", collected_at=NOW + DAY + dt.timedelta(hours=2),
                    result="阳性")
    with clock.frozen(NOW + 8 * DAY):
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.held == [sec.contact_id] and done.released == []
    assert _in_force(session, measure_id, NOW + 9 * DAY)
    detail = session.get(Contact, sec.contact_id).detail["release_review"]
    assert detail["rule"] == "secondary.close_contact_positive" and detail["close_results"] == ["negative", "positive"]


def test_secondary_contacts_become_close_contacts_when_the_close_contact_turns_positive(session) -> None:
    w = build_world(session)
    epi, _c, _hh, sec, measure_id, site = _chain(session, w)
    # the household member (the close contact) is a case now
    with clock.frozen(NOW + 2 * DAY):
        case2 = service.create_case(session, epi, classification="confirmed", detection_channel="tracing",
                                    person_id=w.household, sampled_at=NOW + DAY, onset_at=NOW + DAY)
    promoted = session.execute(select(Contact).where(Contact.case_id == case2.id)).scalars().all()
    assert len(promoted) == 1
    new = promoted[0]
    old = session.get(Contact, sec.contact_id)
    assert (new.person_id, new.tier, new.kind, new.category, new.relation) == (
        old.person_id, "close", "promoted", "close_contact", "同事")
    assert old.promoted_to_id == new.id
    lead = _lead(session, new.lead_id)
    # intake decides the close-contact measure afresh: stronger than the home quarantine in force
    assert (lead.channel, lead.rule, lead.measure_code) == ("tracing", "categories.close_contact",
                                                            "centralised_quarantine")
    [event] = _audits(session, "tracing.secondaries_promoted")
    assert event.detail["promoted"] == [new.id]
    # until the close-contact measure starts, the secondary measure is held in force
    with clock.frozen(NOW + 8 * DAY):
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.held == [sec.contact_id] and _in_force(session, measure_id, NOW + 9 * DAY)
    # the grid moves them to the site: the close-contact measure restarts from then, the secondary one ends
    with clock.frozen(NOW + 8 * DAY + dt.timedelta(hours=1)):
        intake_service.record_verification(session, SYSTEM_ACTOR, lead_id=lead.id, outcome_code="found_site",
                                           site_place_id=site.id)
        done = service.review_secondary_contacts(session, SYSTEM_ACTOR)
    assert done.superseded == [sec.contact_id]
    restarted = control_service.get_measure(session, SYSTEM_ACTOR, _lead(session, lead.id).measure_id)
    assert restarted.category == "close_contact" and restarted.started_at == NOW + 8 * DAY + dt.timedelta(hours=1)
    assert control_service.get_measure(session, SYSTEM_ACTOR, measure_id).status == "ended"
    assert session.get(Contact, sec.contact_id).release_rule == "secondary.promoted"
    # registering the case again is refused; promotion happens once
    assert session.execute(select(Contact).where(Contact.case_id == case2.id)).scalars().all() == [new]
