"""Compliance (应检尽检): per-member figures against hand-computed expectations, lists, export, tasks."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from testing_factories import NOW, actor_at, make_id, phone

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import PermissionDenied
from fangkong.kernel.tasks.models import Task, TaskEvent
from fangkong.testing import kinds, service
from fangkong.testing.models import GroupMember

UTC = dt.UTC


def _enrol(session, tree, seqs, group, employer=None):
    items = [service.RosterItem(i + 2, f"员工{k}", make_id(k), phone(k)) for i, k in enumerate(seqs)]
    return service.enrol_roster(session, actor_at(tree.district), items=items, group_code=group,
                                employer_ref=(employer or tree.employer).code)


def _tested(session, tree, barcode, seqs, collected_local, result="阴性"):
    actor = actor_at(tree.district)
    items = [service.SampleItem(i + 2, {"tube_barcode": barcode, "pool_size": "10", "id_number": make_id(k),
                                        "collected_at": collected_local, "sampling_point": tree.point.code})
             for i, k in enumerate(seqs)]
    service.ingest_samples(session, actor, items=items)
    service.ingest_results(session, actor, items=[service.ResultItem(2, {
        "tube_barcode": barcode, "result": result, "lab": "常州检测", "reported_at": collected_local})])


@pytest.fixture
def scenario(session, tree):
    """Enrolled on 2022-04-10 09:00 local (01:00 UTC); the clock then stands at 2022-04-18 09:00 local.

    couriers (every 3 days): 1 tested 04-17 08:30 → due 04-20 08:30, compliant
                             2 tested 04-14 20:00 → due 04-17 20:00, 13 h overdue (> 12 h grace)
                             3 tested 04-15 08:00 → due 04-18 08:00, 1 h late (in grace)
                             4 never tested      → due 04-13 09:00, 120 h overdue
    school staff (every 7 days, no employer, grid B): 5 never tested → due 04-17 09:00, 24 h overdue
    """
    enrolled = dt.datetime(2022, 4, 10, 9, 0, tzinfo=NOW.tzinfo)
    with clock.frozen(enrolled):
        _enrol(session, tree, [1, 2, 3, 4], "courier_delivery_rider")
        from fangkong.kernel.people import service as people_service

        p5 = people_service.register_person(session, SYSTEM_ACTOR, name="员工5", id_number=make_id(5),
                                            unit_id=tree.grid_b.id)
        service.enrol(session, actor_at(tree.district), person_id=p5.id, group_code="school_staff")
        _tested(session, tree, "C-2", [2], "2022-04-14 20:00")
        _tested(session, tree, "C-3", [3], "2022-04-15 08:00")
        _tested(session, tree, "C-1", [1, 9], "2022-04-17 08:30")
    return {m.person_id: m for m in session.execute(select(GroupMember)).scalars()}


def test_compliance_matches_hand_computed_figures(session, tree, scenario, at_now):
    rows = service.list_compliance(session, actor_at(tree.district))
    got = {r.name: (r.group_code, clock.iso_local(r.last_negative_at), clock.iso_local(r.next_due_at),
                    r.overdue_hours, r.status) for r in rows}
    assert got == {
        "员工1": ("courier_delivery_rider", "2022-04-17T08:30:00+08:00", "2022-04-20T08:30:00+08:00", 0.0, "compliant"),
        "员工2": ("courier_delivery_rider", "2022-04-14T20:00:00+08:00", "2022-04-17T20:00:00+08:00", 13.0, "overdue"),
        "员工3": ("courier_delivery_rider", "2022-04-15T08:00:00+08:00", "2022-04-18T08:00:00+08:00", 1.0, "grace"),
        "员工4": ("courier_delivery_rider", "", "2022-04-13T09:00:00+08:00", 120.0, "overdue"),
        "员工5": ("school_staff", "", "2022-04-17T09:00:00+08:00", 24.0, "overdue"),
    }
    overdue = service.list_compliance(session, actor_at(tree.district), status="overdue")
    assert sorted(r.name for r in overdue) == ["员工2", "员工4", "员工5"]
    by_employer = service.list_compliance(session, actor_at(tree.district), employer_id=tree.employer.id)
    assert len(by_employer) == 4
    # grid B's worker sees only grid B's member
    assert [r.name for r in service.list_compliance(session, actor_at(tree.grid_b))] == ["员工5"]
    assert service.list_compliance(session, actor_at(tree.other_street)) == []


def test_summary_per_unit(session, tree, scenario, at_now):
    rows = service.summary(session, actor_at(tree.district), unit_id=tree.community.id)
    got = {r["unit_code"]: (r["members"], r["compliant"], r["grace"], r["overdue"]) for r in rows}
    assert got == {tree.grid_a.code: (4, 1, 1, 2), tree.grid_b.code: (1, 0, 0, 1)}


def test_export_has_exactly_the_agreed_columns(session, tree, scenario, tmp_path, at_now):
    out = tmp_path / "compliance.csv"
    n = service.export_compliance(session, actor_at(tree.district), out=out)
    assert n == 5
    with out.open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == ["person_id", "group", "employer", "last_negative_at", "next_due_at", "overdue_hours"]
    p2 = scenario[next(pid for pid, m in scenario.items() if m.last_negative_at == dt.datetime(2022, 4, 14, 12, 0,
                                                                                                tzinfo=UTC))]
    assert [str(p2.person_id), "courier_delivery_rider", tree.employer.code, "2022-04-14T20:00:00+08:00",
            "2022-04-17T20:00:00+08:00", "13.0"] in lines
    xlsx = tmp_path / "compliance.xlsx"
    assert service.export_compliance(session, actor_at(tree.district), out=xlsx, status="overdue") == 3
    sheet = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "人员编号" and len(sheet) == 4  # XLSX is for people: Chinese headers
    machine = tmp_path / "machine.xlsx"
    service.export_compliance(session, actor_at(tree.district), out=machine, status="overdue", headers="en")
    sheet = CalamineWorkbook.from_path(str(machine)).get_sheet_by_index(0).to_python()
    assert sheet[0] == ["person_id", "group", "employer", "last_negative_at", "next_due_at", "overdue_hours"]
    assert len(sheet) == 4
    with pytest.raises(PermissionDenied):
        service.export_compliance(session, actor_at(tree.district, permissions=frozenset({"testing.view"})), out=out)


def test_daily_job_makes_one_overdue_task_per_member_at_the_right_unit(session, tree, scenario, at_now, system):
    created = service.create_overdue_tasks(session, system)
    assert created == 3
    tasks = session.execute(select(Task).where(Task.kind == kinds.OVERDUE)).scalars().all()
    units = {scenario_member.person_id: scenario_member.unit_id for scenario_member in scenario.values()}
    members = {m.id: m for m in scenario.values()}
    assert sorted(units[members[t.subject_id].person_id] for t in tasks) == sorted(
        [tree.grid_a.id, tree.grid_a.id, tree.grid_b.id])
    assert {t.due_at for t in tasks} == {NOW + dt.timedelta(hours=12)}
    assert all(t.title.startswith("重点人群漏检督促") for t in tasks)
    events = session.execute(select(func.count()).select_from(TaskEvent).where(
        TaskEvent.task_id.in_([t.id for t in tasks]))).scalar_one()
    assert events == 3
    assert service.create_overdue_tasks(session, system) == 0  # open tasks are not repeated
    # a negative test closes the member's overdue task
    four = next(m for m in scenario.values() if m.last_negative_at is None and m.group_code != "school_staff")
    seq = 4
    _tested(session, tree, "C-4", [seq], "2022-04-18 08:45")
    task = next(t for t in tasks if t.subject_id == four.id)
    session.refresh(task)
    assert task.status == "done" and task.outcome_code == "tested"
    assert four.next_due_at == dt.datetime(2022, 4, 21, 0, 45, tzinfo=UTC)


def test_refresh_due_follows_a_changed_frequency(session, tree, scenario, at_now):
    m = next(iter(scenario.values()))
    m.frequency_days = 99  # as if computed under an older pack
    session.flush()
    assert service.refresh_due(session) == 1
    assert m.frequency_days in (3, 7)


def test_one_batch_of_results_closes_exactly_the_right_overdue_tasks_with_events_and_one_audit_entry(
        session, tree, scenario, at_now, system):
    """Members 2, 4 (couriers) and 5 (school staff) are overdue with a task each. One batch brings a
    negative for 2 and 4 (tested this morning: compliant, tasks closed) and an old negative for 5
    (sampled 04-10: moved forward, still overdue, task stays open), plus a tube nobody is overdue in."""
    from fangkong.kernel.audit.models import AuditEvent
    from fangkong.kernel.audit.service import expand_ids

    assert service.create_overdue_tasks(session, system) == 3
    ms = list(scenario.values())
    by_seq = {1: next(m for m in ms if m.last_negative_at == dt.datetime(2022, 4, 17, 0, 30, tzinfo=UTC)),
              2: next(m for m in ms if m.last_negative_at == dt.datetime(2022, 4, 14, 12, 0, tzinfo=UTC)),
              4: next(m for m in ms if m.last_negative_at is None and m.group_code != "school_staff"),
              5: next(m for m in ms if m.group_code == "school_staff")}
    task_of = {t.subject_id: t for t in session.execute(select(Task).where(Task.kind == kinds.OVERDUE)).scalars()}
    actor = actor_at(tree.district)
    for barcode, seqs, at in (("B-24", [2, 4], "2022-04-18 08:00"), ("B-5", [5], "2022-04-10 10:00"),
                              ("B-1", [1], "2022-04-18 08:10")):
        service.ingest_samples(session, actor, items=[service.SampleItem(i + 2, {
            "tube_barcode": barcode, "pool_size": "10", "id_number": make_id(k), "collected_at": at,
            "sampling_point": tree.point.code}) for i, k in enumerate(seqs)])
    last_audit = session.execute(select(func.max(AuditEvent.id))).scalar_one()
    rows = service.ingest_results(session, actor, items=[service.ResultItem(i + 2, {
        "tube_barcode": b, "result": "阴性", "lab": "常州检测", "reported_at": "2022-04-18 08:50"})
        for i, b in enumerate(["B-24", "B-5", "B-1"])])
    assert [r.status for r in rows] == ["accepted"] * 3
    closed = {by_seq[2].id, by_seq[4].id}
    for member_id, task in task_of.items():
        session.refresh(task)
        if member_id in closed:
            assert (task.status, task.outcome_code, task.done_at) == ("done", "tested", NOW)
            assert task.outcome == {"last_negative_at": "2022-04-18T08:00:00+08:00"}
        else:
            assert (member_id, task.status, task.outcome_code) == (by_seq[5].id, "open", None)
    assert by_seq[5].last_negative_at == dt.datetime(2022, 4, 10, 2, 0, tzinfo=UTC)  # moved, still overdue
    events = session.execute(select(TaskEvent.task_id, TaskEvent.event, TaskEvent.actor_id, TaskEvent.detail)
                             .where(TaskEvent.task_id.in_([t.id for t in task_of.values()]),
                                    TaskEvent.event != "created")).all()
    assert sorted(events) == sorted((task_of[m].id, "done", actor.user_id, {"outcome_code": "tested", "note": None})
                                    for m in closed)
    entries = session.execute(select(AuditEvent).where(AuditEvent.id > last_audit, AuditEvent.action ==
                                                       "task.completed")).scalars().all()
    assert len(entries) == 1  # one entry for the batch, naming every task it closed
    assert expand_ids(entries[0].detail["ids"]) == sorted(task_of[m].id for m in closed)
    assert entries[0].detail["acting_for"] == "testing.result" and entries[0].actor_name == actor.username
    [received] = session.execute(select(AuditEvent).where(AuditEvent.id > last_audit, AuditEvent.action ==
                                                          "testing.results_received")).scalars().all()
    assert expand_ids(received.detail["tube_ids"]) == sorted(r.extra["tube_id"] for r in rows)
    # a second arrival of the same results changes nothing
    again = service.ingest_results(session, actor, items=[service.ResultItem(2, {
        "tube_barcode": "B-24", "result": "阴性", "lab": "常州检测", "reported_at": "2022-04-18 08:50"})])
    assert [r.status for r in again] == ["duplicate"]
    assert session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.id > last_audit, AuditEvent.action == "task.completed")).scalar_one() == 1
