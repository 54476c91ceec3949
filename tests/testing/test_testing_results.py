"""Sampling and lab results: tubes, sample files, result versions, positive pools, individual results."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from testing_factories import NOW, actor_at, make_id, person, phone, write_csv

from fangkong.control.models import Measure
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.errors import Conflict, NotFound, ValidationFailed
from fangkong.kernel.tasks.models import Task
from fangkong.testing import kinds, service
from fangkong.testing.models import CaseCandidate, GroupMember, PoolFollowUp, Tube, TubeResult

SAMPLE_HEADER = ["试管条码", "混采数", "姓名", "身份证号码", "手机号", "采样时间", "采样点"]
RESULT_HEADER = ["试管条码", "检测结果", "Ct值", "检测机构", "报告时间"]


def _sampler(tree):
    return actor_at(tree.grid_a, name="sampler")


def test_a_tube_closes_at_its_size_and_refuses_a_person_twice(session, tree, at_now):
    actor = _sampler(tree)
    tube, created = service.open_tube(session, actor, barcode=" t-0001 ", sampling_point_id=tree.point.id)
    assert created and tube.barcode == "T-0001" and tube.pool_size == 10  # the policy's default 10-in-1
    again, created = service.open_tube(session, actor, barcode="T-0001")
    assert again.id == tube.id and not created
    pids = [person(session, i, tree.grid_a) for i in range(1, 11)]
    service.add_sample(session, actor, barcode="T-0001", person=make_id(1))
    with pytest.raises(service.SampleRefused) as exc:
        service.add_sample(session, actor, barcode="T-0001", person=phone(1))
    assert exc.value.fields[0].message.startswith("this person is already in tube T-0001")
    for i in range(2, 11):
        service.add_sample(session, actor, barcode="T-0001", person=make_id(i) if i % 2 else phone(i))
    assert tube.status == "closed"
    assert [s.person_id for s, _ in service.tube_samples(session, actor, tube.id)] == pids
    with pytest.raises(service.SampleRefused) as exc:
        service.add_sample(session, actor, barcode="T-0001", person=phone(55))
    assert "is closed (10 of 10)" in exc.value.fields[0].message
    with pytest.raises(Conflict):
        service.open_tube(session, actor, barcode="T-0001", pool_size=5)


def test_a_phone_only_person_is_registered_and_a_shared_phone_needs_a_name(session, tree, at_now):
    actor = _sampler(tree)
    service.open_tube(session, actor, barcode="T-0002", pool_size=5)
    _, sample = service.add_sample(session, actor, barcode="T-0002", person="13800000001")
    assert sample.person_id
    person(session, 41, tree.grid_a, name="孙老太")
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.people import service as people_service

    people_service.register_person(session, SYSTEM_ACTOR, name="孙小宝", phone=phone(41), unit_id=tree.grid_a.id)
    with pytest.raises(service.SampleRefused) as exc:
        service.add_sample(session, actor, barcode="T-0002", person=phone(41))
    assert "add the name" in exc.value.fields[0].message
    _, sample = service.add_sample(session, actor, barcode="T-0002", person=phone(41), name="孙小宝")
    with pytest.raises(ValidationFailed):
        service.add_sample(session, actor, barcode="T-0002", person="12345")


def _samples_file(tmp_path, tree, n=10, barcode="P-0001", start=1, name="samples.csv", point=None):
    collected = "2022-04-17 08:30"
    rows = [[barcode, "10合1", f"测试{i:03d}", make_id(i), phone(i), collected, point or tree.point.code]
            for i in range(start, start + n)]
    return write_csv(tmp_path / name, SAMPLE_HEADER, rows)


def test_sample_import_registers_unknown_points_and_is_idempotent(session, tree, tmp_path, at_now):
    actor = actor_at(tree.district)
    path = _samples_file(tmp_path, tree, n=3, point="SMP-NEW-9")
    report = service.import_samples(session, actor, path)
    assert [r.status for r in report] == ["accepted"] * 3
    assert any("registered new sampling point SMP-NEW-9" in i for i in report[0].issues)
    tube = session.execute(select(Tube).where(Tube.barcode == "P-0001")).scalar_one()
    assert tube.pool_size == 10 and tube.collected_at == dt.datetime(2022, 4, 17, 0, 30, tzinfo=dt.UTC)
    again = service.import_samples(session, actor, path)
    assert [r.status for r in again] == ["duplicate"] * 3 and not any(r.issues for r in again)


def test_results_unknown_barcodes_words_conflicts_and_history(session, tree, tmp_path, at_now):
    actor = actor_at(tree.district)
    service.import_samples(session, actor, _samples_file(tmp_path, tree, n=1, barcode="S-1"))
    path = write_csv(tmp_path / "r.csv", RESULT_HEADER, [
        ["S-1", "阴性", "", "常州检测", "2022-04-17 20:00"],
        ["S-404", "阴性", "", "常州检测", "2022-04-17 20:00"],
        ["S-1", "弱阳", "", "常州检测", "2022-04-17 20:00"],
        ["S-1", "阳性", "ORF1ab:31.2;N:33", "常州检测", "2022-04-17 21:00"],
        ["S-1", "neg", "", "常州检测", "2022-04-17 22:00"],
    ])
    rep = service.import_results(session, actor_at(tree.district), path)
    assert [r.status for r in rep] == ["accepted", "rejected", "rejected", "conflict", "duplicate"]
    assert rep[1].issues == ["tube_barcode: unknown tube S-404"]
    assert rep[2].issues[0].startswith("result: not a result word")
    assert "kept as version 2" in rep[3].issues[0]
    tube = session.execute(select(Tube).where(Tube.barcode == "S-1")).scalar_one()
    versions = session.execute(select(TubeResult.version, TubeResult.result, TubeResult.status, TubeResult.ct_values)
                               .where(TubeResult.tube_id == tube.id).order_by(TubeResult.version)).all()
    assert versions == [(1, "negative", "accepted", None), (2, "positive", "conflict", {"ORF1ab": 31.2, "N": 33.0})]
    assert tube.result == "positive"  # safety first: any positive version counts
    assert rep[0].person_id == rep[3].person_id is not None  # a single tube names its person
    again = service.import_results(session, actor, path)
    assert [r.status for r in again] == ["duplicate", "rejected", "rejected", "duplicate", "duplicate"]


def test_a_negative_tube_makes_every_member_compliant_from_the_sampling_time(session, tree, tmp_path, at_now):
    actor = actor_at(tree.district)
    items = [service.RosterItem(i + 2, f"测试{k:03d}", make_id(k), phone(k)) for i, k in enumerate(range(1, 5))]
    service.enrol_roster(session, actor, items=items, group_code="courier_delivery_rider",
                         employer_ref=tree.employer.code)
    service.import_samples(session, actor, _samples_file(tmp_path, tree, n=10))
    service.import_results(session, actor, write_csv(tmp_path / "r.csv", RESULT_HEADER,
                                                     [["P-0001", "阴性", "", "常州检测", "2022-04-17 20:00"]]))
    collected = dt.datetime(2022, 4, 17, 0, 30, tzinfo=dt.UTC)
    members = session.execute(select(GroupMember)).scalars().all()
    assert len(members) == 4
    assert {m.last_negative_at for m in members} == {collected}
    assert {m.next_due_at for m in members} == {collected + dt.timedelta(days=3)}


def test_positive_pool_import_gives_leads_retest_tasks_and_temporary_measures_in_one_run(session, tree, tmp_path,
                                                                                         at_now):
    actor = actor_at(tree.district)
    pids = [person(session, i, tree.grid_a if i % 2 else tree.grid_b) for i in range(1, 11)]
    service.import_samples(session, actor, _samples_file(tmp_path, tree, n=10))
    rep = service.import_results(session, actor, write_csv(tmp_path / "pos.csv", RESULT_HEADER,
                                                           [["P-0001", "阳性", "28.1", "常州检测", "2022-04-18 08:00"]]))
    assert rep[0].status == "accepted"

    leads = session.execute(select(Lead).where(Lead.channel == "testing")).scalars().all()
    assert sorted(lead.person_id for lead in leads) == sorted(pids)
    assert {lead.category for lead in leads} == {"positive_pool_member"}
    measures = session.execute(select(Measure).where(Measure.person_id.in_(pids))).scalars().all()
    assert sorted(m.person_id for m in measures) == sorted(pids)
    assert {(m.category, m.kind, m.status) for m in measures} == {("positive_pool_member", "temporary_control",
                                                                   "active")}
    tasks = session.execute(select(Task).where(Task.kind == kinds.RETEST)).scalars().all()
    assert sorted(t.subject_id for t in tasks) == sorted(pids)
    # at each person's grid, due within the policy's hours (positive report 12 h in the default pack)
    units = {t.subject_id: t.unit_id for t in tasks}
    assert units[pids[0]] == tree.grid_a.id and units[pids[1]] == tree.grid_b.id
    assert {t.due_at for t in tasks} == {NOW + dt.timedelta(hours=12)}
    fus = session.execute(select(PoolFollowUp)).scalars().all()
    assert len(fus) == 10 and {f.status for f in fus} == {"awaiting_retest"}
    assert all(f.lead_id and f.measure_id and f.retest_task_id for f in fus)

    # the same file again changes nothing
    again = service.import_results(session, actor, tmp_path / "pos.csv")
    assert again[0].status == "duplicate"
    assert session.execute(select(func.count()).select_from(Lead)).scalar_one() == 10
    assert session.execute(select(func.count()).select_from(Task).where(Task.kind == kinds.RETEST)).scalar_one() == 10

    # single-tube retests: person 1 positive (case candidate), person 2 negative (resolved, task closed)
    later = NOW + dt.timedelta(hours=3)
    with clock.frozen(later):
        retest = [["R-1", "1", "", make_id(1), "", "2022-04-18 11:00", tree.point.code],
                  ["R-2", "1", "", make_id(2), "", "2022-04-18 11:00", tree.point.code]]
        service.import_samples(session, actor, write_csv(tmp_path / "re.csv", SAMPLE_HEADER, retest))
        res = service.import_results(session, actor, write_csv(tmp_path / "rr.csv", RESULT_HEADER, [
            ["R-1", "阳性", "30", "常州检测", "2022-04-18 12:00"], ["R-2", "阴性", "", "常州检测", "2022-04-18 12:00"]]))
    assert [r.person_id for r in res] == [pids[0], pids[1]]
    by_person = {f.person_id: f for f in fus}
    assert by_person[pids[0]].status == "positive" and by_person[pids[1]].status == "negative"
    assert by_person[pids[2]].status == "awaiting_retest"
    cands = session.execute(select(CaseCandidate)).scalars().all()
    assert [(c.person_id, c.via) for c in cands] == [(pids[0], "retest")]
    done = {t.subject_id: (t.status, t.outcome_code) for t in tasks}
    assert done[pids[0]] == ("done", "positive") and done[pids[1]] == ("done", "negative")
    assert done[pids[2]] == ("open", None)
    # the negative retest releases the person from the temporary measure; the positive one converts it
    # (issue #12: a positive under a measure makes them a case candidate, and tracing takes over)
    measures = {m.person_id: m for m in session.execute(select(Measure).where(Measure.person_id.in_(pids[:2])))
                .scalars()}
    assert measures[pids[1]].status == "ended" and measures[pids[1]].ended_at is not None
    assert by_person[pids[1]].released_at is not None
    assert measures[pids[0]].status == "converted" and by_person[pids[0]].released_at is None


def test_a_corrected_negative_to_positive_withdraws_the_compliance(session, tree, tmp_path, at_now):
    actor = actor_at(tree.district)
    items = [service.RosterItem(2, "测试001", make_id(1), phone(1))]
    service.enrol_roster(session, actor, items=items, group_code="truck_driver", employer_ref=tree.employer.code)
    service.import_samples(session, actor, _samples_file(tmp_path, tree, n=3))
    neg = [["P-0001", "阴性", "", "常州检测", "2022-04-17 20:00"]]
    service.import_results(session, actor, write_csv(tmp_path / "n.csv", RESULT_HEADER, neg))
    member = session.execute(select(GroupMember)).scalar_one()
    assert member.last_negative_at is not None
    pos = [["P-0001", "阳性", "", "常州检测", "2022-04-17 23:00"]]
    rep = service.import_results(session, actor, write_csv(tmp_path / "p.csv", RESULT_HEADER, pos))
    assert rep[0].status == "conflict"
    assert member.last_negative_at is None
    assert member.next_due_at == member.enrolled_at + dt.timedelta(days=2)
    assert session.execute(select(func.count()).select_from(PoolFollowUp)).scalar_one() == 3


def test_samples_cannot_go_into_a_tube_of_another_jurisdiction(session, tree, at_now):
    service.open_tube(session, _sampler(tree), barcode="J-1", pool_size=5, sampling_point_id=tree.point.id)
    other = actor_at(tree.other_street, name="other")
    rep = service.ingest_samples(session, other, items=[service.SampleItem(2, {
        "tube_barcode": "J-1", "id_number": make_id(3), "collected_at": "2022-04-18 08:00"})])
    assert rep[0].status == "rejected"
    assert rep[0].issues == ["tube_barcode: tube J-1 is registered outside your jurisdiction"]
    with pytest.raises(NotFound):
        service.add_sample(session, other, barcode="J-1", person=make_id(3))
