"""Enrolment (应纳尽纳): rosters, enrolment by hand and by rule, declared headcounts and coverage."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import func, select
from testing_factories import NOW, actor_at, make_id, person, phone, write_csv

from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import write_report
from fangkong.testing import service
from fangkong.testing.models import GroupMember

HEADER = ["姓名", "身份证号码", "手机号"]


def test_roster_import_reports_person_ids_and_is_idempotent(session, tree, tmp_path, at_now):
    actor = actor_at(tree.street)
    known = person(session, 1, tree.grid_a, name="王小明")
    rows = [
        ["王小明", make_id(1), phone(1)],                 # known by ID
        ["李娜", make_id(2), "+86 139-0000-0002"],         # new person
        ["张伟", make_id(3)[:-1] + "0", phone(3)],          # bad check digit: issue, still enrolled
        ["赵六", "", ""],                                   # nothing to find them by
        ["王小明", make_id(1), phone(1)],                  # the same person twice in one file
    ]
    path = write_csv(tmp_path / "roster.csv", HEADER, rows, title="顺达快递 重点人群名单")
    report = service.import_roster(session, actor, path, group_code="courier_delivery_rider",
                                   employer_ref=tree.employer.code)
    assert [r.row for r in report] == [3, 4, 5, 6, 7]
    assert [r.status for r in report] == ["accepted", "accepted", "accepted", "rejected", "duplicate"]
    assert report[0].person_id == known
    assert report[4].person_id == known
    assert report[1].person_id not in (None, known)
    assert any(i.startswith("id_number: ") for i in report[2].issues)
    assert report[3].issues == ["id_number: nothing to find the person by (no ID number, no phone)"]
    members = session.execute(select(GroupMember).where(GroupMember.employer_id == tree.employer.id)).scalars().all()
    assert sorted(m.person_id for m in members) == sorted({r.person_id for r in report if r.status == "accepted"})
    assert all(m.unit_path == tree.employer.unit_path for m in members)
    # frequency 3 days, never tested: due three days after enrolment
    assert {m.next_due_at for m in members} == {NOW + dt.timedelta(days=3)}

    out = tmp_path / "report.csv"
    write_report(out, report)
    with out.open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == ["row", "status", "person_id", "issues"]
    assert lines[1][:3] == ["3", "accepted", str(known)]

    again = service.import_roster(session, actor, path, group_code="courier_delivery_rider",
                                  employer_ref=tree.employer.code)
    assert [r.status for r in again] == ["duplicate", "duplicate", "duplicate", "rejected", "duplicate"]
    assert [r.person_id for r in again][:3] == [r.person_id for r in report][:3]


def test_unknown_employer_is_registered_on_first_use(session, tree, tmp_path, at_now):
    path = write_csv(tmp_path / "r.csv", HEADER, [["钱七", make_id(7), phone(7)]])
    report = service.import_roster(session, actor_at(tree.street), path, group_code="truck_driver",
                                   employer_ref="常州货运有限公司")
    assert report[0].status == "accepted"
    assert any(i.startswith("employer: registered new employer") for i in report[0].issues)
    place = session.execute(select(Place).where(Place.name == "常州货运有限公司")).scalar_one()
    assert place.kind == "employer" and place.category == "truck_driver"
    second = service.import_roster(session, actor_at(tree.street), path, group_code="truck_driver",
                                   employer_ref="常州货运有限公司")
    assert second[0].status == "duplicate" and second[0].issues == []


def test_roster_checks_group_and_permission(session, tree, tmp_path):
    path = write_csv(tmp_path / "r.csv", HEADER, [["钱七", make_id(7), phone(7)]])
    with pytest.raises(ValidationFailed) as exc:
        service.import_roster(session, actor_at(tree.street), path, group_code="astronauts", employer_ref="E")
    assert exc.value.fields[0].field == "group"
    with pytest.raises(PermissionDenied):
        service.enrol_roster(session, actor_at(tree.street, permissions=frozenset({"testing.view"})),
                             items=[], group_code="truck_driver", employer_ref="E")


def test_roster_rows_resolve_through_the_shared_matcher(session, tree, at_now):
    """Phone + same name is the same person; the same phone with another name is another person."""
    mother = person(session, 11, tree.grid_a, name="陈桂英", with_phone=True)
    items = [service.RosterItem(2, "陈桂英", None, phone(11)), service.RosterItem(3, "陈小军", None, phone(11))]
    report = service.enrol_roster(session, actor_at(tree.street), items=items, group_code="care_home_staff",
                                  employer_ref=tree.employer.code)
    assert report[0].person_id == mother and report[0].extra["match_rule"] == "phone_name"
    assert report[1].person_id != mother and report[1].extra["match_rule"] == "new_person"
    son = session.get(Person, report[1].person_id)
    assert son.phone_bidx is not None and son.name == "陈小军"


def test_enrol_by_hand_moves_and_ends(session, tree, at_now):
    actor = actor_at(tree.street)
    pid = person(session, 21, tree.grid_b)
    member, status = service.enrol(session, actor, person_id=pid, group_code="school_staff")
    assert status == "accepted" and member.employer_id is None and member.unit_id == tree.grid_b.id
    _, status = service.enrol(session, actor, person_id=pid, group_code="school_staff")
    assert status == "duplicate"
    member, status = service.enrol(session, actor, person_id=pid, group_code="school_staff",
                                   employer_id=tree.employer.id)
    assert status == "moved" and member.unit_id == tree.employer.unit_id
    service.end_membership(session, actor, member_id=member.id)
    assert member.active is False
    _, status = service.enrol(session, actor, person_id=pid, group_code="school_staff")
    assert status == "accepted" and member.active


def test_coverage_matches_hand_computed_figures(session, tree, at_now):
    """Employer A declares 5 couriers and enrols 3 (gap 2); declares 2 truck drivers and enrols 2; employer B
    (other street) enrols 4 couriers without declaring; employer C is a courier company that did nothing."""
    s = actor_at(tree.district)
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places import service as places_service

    b = places_service.create_place(session, SYSTEM_ACTOR, kind="employer", name="B", code="EMPB",
                                    category="courier_delivery_rider", unit_id=tree.other_grid.id)
    c = places_service.create_place(session, SYSTEM_ACTOR, kind="employer", name="C", code="EMPC",
                                    category="courier_delivery_rider", unit_id=tree.grid_b.id)
    service.declare_headcount(session, s, employer_id=tree.employer.id, group_code="courier_delivery_rider", declared=5)
    service.declare_headcount(session, s, employer_id=tree.employer.id, group_code="truck_driver", declared=2)
    seq = iter(range(100, 200))

    def roster(employer: Place, group: str, n: int) -> None:
        items = [service.RosterItem(i + 2, f"员工{k}", make_id(k), phone(k)) for i, k in
                 enumerate(next(seq) for _ in range(n))]
        service.enrol_roster(session, s, items=items, group_code=group, employer_ref=employer.code)

    roster(tree.employer, "courier_delivery_rider", 3)
    roster(tree.employer, "truck_driver", 2)
    roster(b, "courier_delivery_rider", 4)
    rep = service.coverage(session, s)
    got = {(r.employer_code, r.group_code): (r.declared, r.enrolled, r.gap, r.problem) for r in rep.rows}
    assert got == {
        (tree.employer.code, "courier_delivery_rider"): (5, 3, 2, "missing"),
        (tree.employer.code, "truck_driver"): (2, 2, 0, None),
        ("EMPB", "courier_delivery_rider"): (None, 4, None, "not_declared"),
        ("EMPC", "courier_delivery_rider"): (None, 0, None, "not_declared"),
    }
    assert rep.totals == {"declared": 7, "enrolled": 9, "missing": 2}
    assert sorted((g.employer_code, g.group_code) for g in rep.gaps) == [
        ("EMPB", "courier_delivery_rider"), ("EMPC", "courier_delivery_rider"),
        (tree.employer.code, "courier_delivery_rider")]
    by_unit = {u["unit_code"]: (u["declared"], u["enrolled"], u["missing"], u["not_declared"]) for u in rep.by_unit}
    assert by_unit == {tree.street.code: (7, 5, 2, 1), tree.other_street.code: (0, 4, 0, 1)}
    by_group = {g["group"]: (g["employers"], g["declared"], g["enrolled"], g["missing"]) for g in rep.by_group}
    assert by_group == {"courier_delivery_rider": (3, 5, 7, 2), "truck_driver": (1, 2, 2, 0)}
    # a worker of the other street sees only their own employer
    other = service.coverage(session, actor_at(tree.other_street))
    assert [(r.employer_code, r.enrolled) for r in other.rows] == [("EMPB", 4)]
    assert c.id  # C counted above


def test_measure_test_days_are_controls_due_tests_not_rule_members(session, tree, at_now):
    """A home measure's test days are control's due tests; the old `home_measure` memberships that
    copied them into the compliance list are ended, so no test day is chased twice."""
    from fangkong.control import service as control_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    pid = person(session, 31, tree.grid_a)
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                  rule="categories.secondary_contact", started_at=NOW)
    old = GroupMember(person_id=pid, group_code="home_measure", source="rule", active=True, enrolled_at=NOW,
                      unit_id=tree.grid_a.id, unit_path=tree.grid_a.path)
    session.add(old)
    session.flush()
    assert service.sync_rule_members(session, actor_at(tree.district)) == {"enrolled": 0, "updated": 0, "ended": 1}
    assert old.active is False
    assert service.sync_rule_members(session, actor_at(tree.district)) == {"enrolled": 0, "updated": 0, "ended": 0}
    assert session.execute(select(func.count()).select_from(GroupMember).where(GroupMember.active.is_(True))
                           ).scalar_one() == 0
    due = control_service.due_tests_of_person(session, pid, at=NOW)
    assert [v.day for v in due] == [d for d, _m in control_service_pack(session).category(
        "secondary_contact").test_schedule()]


def control_service_pack(session):
    from fangkong.kernel.policy import service as policy_service

    return policy_service.active_pack(session)


def test_the_rule_group_is_filled_by_rule_only(session, tree, at_now):
    pid = person(session, 41, tree.grid_a)
    with pytest.raises(ValidationFailed):
        service.enrol(session, actor_at(tree.street), person_id=pid, group_code="home_measure")
    assert service.list_compliance(session, actor_at(tree.street), group_code="home_measure") == []
