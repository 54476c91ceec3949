"""Starting a measure (即控): schedule of phases and test days from the pack, permission, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.people import service as people_service
from fangkong.kernel.policy import service as policy_service

# 23:30 local: day 0 is the start's local date, not the UTC one
START = dt.datetime(2022, 4, 18, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_schedule_of_a_close_contact(session):
    pack = policy_service.active_pack(session)
    plan = control_service.schedule(pack, "close_contact", START)
    assert plan["test_dates"] == ["2022-04-19", "2022-04-20", "2022-04-21", "2022-04-23", "2022-04-25",
                                  "2022-04-28"]
    assert plan["planned_end_at"] == START + dt.timedelta(days=10)
    # found on day 3 of the exposure (缺几天补几天): days 1 and 2 are served, the end is day 10 of the exposure
    late = control_service.schedule(pack, "close_contact", START, anchor_on=dt.date(2022, 4, 15))
    assert late["test_dates"] == ["2022-04-18", "2022-04-20", "2022-04-22", "2022-04-25"]
    assert late["planned_end_at"] == START + dt.timedelta(days=7)
    assert dt.datetime.fromisoformat(late["phases"][0]["end_at"]) == START + dt.timedelta(days=4)
    assert plan["kind"] == "centralised_quarantine"
    assert [(p["measure"], p["days"]) for p in plan["phases"]] == [
        ("centralised_quarantine", 7), ("home_health_monitoring", 3)]


def test_open_ended_measure_has_no_planned_end(session):
    plan = control_service.schedule(policy_service.active_pack(session), "positive_pool_member", START)
    assert plan["planned_end_at"] is None and plan["test_dates"] == ["2022-04-18"]


def test_start_measure(session, system):
    person = people_service.register_person(session, system, name="张三", phone="13812345678")
    with clock.frozen(START):
        m = control_service.start_measure(session, system, person_id=person.id, category="secondary_contact",
                                          rule="categories.secondary_contact")
    assert (m.measure_code, m.kind, m.status, m.place_kind) == ("home_quarantine", "home_quarantine", "active", "home")
    assert m.started_at == START and m.unit_id == person.unit_id
    assert m.pack_version == policy_service.active_version(session)
    assert control_service.measures_in_force(session, [person.id], at=START + dt.timedelta(days=6))[person.id] == [m]
    assert control_service.measures_in_force(session, [person.id], at=START + dt.timedelta(days=8)) == {}
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "measure.started")).scalars().all()
    assert ev[-1].object_id == str(m.id)


def test_start_measure_checks(session, system):
    person = people_service.register_person(session, system, name="张三", phone="13812345678")
    with pytest.raises(ValidationFailed):
        control_service.start_measure(session, system, person_id=person.id, category="nope", rule="x")
    with pytest.raises(ValidationFailed):
        control_service.start_measure(session, system, person_id=person.id, category="close_contact", rule="x",
                                      place_kind="site")
    nobody = Actor(user_id=None, username="x", role="viewer", unit_id=None, unit_path="/", permissions=frozenset())
    with pytest.raises(PermissionDenied):
        control_service.start_measure(session, nobody, person_id=person.id, category="close_contact", rule="x")
