"""Results arriving in bulk (issue #18): one batch leaves exactly what the same results sent one at a
time leave — stored versions, tubes, members' figures, tasks closed with their events, positive-pool
consequences, per-row reports — and its audit names every record it changed; the same batch again
changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from testing_factories import NOW, actor_at, make_id, phone, write_csv

from fangkong.control.models import Measure
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.tasks.models import Task, TaskEvent
from fangkong.testing import kinds, service
from fangkong.testing.models import GroupMember, PoolFollowUp, Tube, TubeResult

#: tube → (persons by sequence number, local sampling time)
TUBES = {
    "BK-1": ([1, 2, 3], "2022-04-18 07:30"),  # negative: all three due later, tasks closed
    "BK-2": ([4, 5, 6], "2022-04-18 08:00"),  # negative
    "BK-7": ([7], "2022-04-18 08:10"),  # single tube, negative
    "BK-3": ([8, 9], "2022-04-10 10:00"),  # negative but sampled long ago: moved, still overdue, tasks stay open
    "BK-4": ([10, 11], "2022-04-18 08:20"),  # positive pool: temporary control, leads, retest tasks
}


@pytest.fixture
def overdue(session, tree, system):
    """Twelve couriers enrolled 04-10 and never tested (all overdue at NOW, each with an open overdue
    task from the daily job); eleven of them sampled in the tubes above, waiting for results."""
    actor = actor_at(tree.district)
    with clock.frozen(dt.datetime(2022, 4, 10, 9, 0, tzinfo=NOW.tzinfo)):
        service.enrol_roster(session, actor, items=[service.RosterItem(k + 1, f"员工{k}", make_id(k), phone(k))
                                                    for k in range(1, 13)],
                             group_code="courier_delivery_rider", employer_ref=tree.employer.code)
    with clock.frozen(NOW):
        for barcode, (seqs, at) in TUBES.items():
            service.ingest_samples(session, actor, items=[service.SampleItem(i + 2, {
                "tube_barcode": barcode, "pool_size": str(len(seqs)), "id_number": make_id(k), "collected_at": at,
                "sampling_point": tree.point.code}) for i, k in enumerate(seqs)])
        assert service.create_overdue_tasks(session, system) == 12
    session.flush()


def _items() -> list[service.ResultItem]:
    rows = [("BK-1", "阴性"), ("BK-2", "negative"), ("BK-7", "-"), ("BK-1", "阴性"),  # the same result twice
            ("BK-3", "阴性"), ("NOPE-1", "阴性"), ("BK-2", "maybe"), ("BK-4", "阳性")]
    return [service.ResultItem(i + 2, {"tube_barcode": b, "result": r, "lab": "常州检测",
                                       "reported_at": "2022-04-18 08:50"}) for i, (b, r) in enumerate(rows)]


def _state(session) -> dict[str, Any]:
    """Everything a result batch writes, without ids that depend on insertion order."""
    barcode = dict(session.execute(select(Tube.id, Tube.barcode)).all())
    lead_person = dict(session.execute(select(Lead.id, Lead.person_id)).all())  # lead ids: a sequence's

    def subject(t: Task) -> tuple[Any, ...]:
        return (t.subject_type, lead_person[t.subject_id] if t.subject_type == "lead" else t.subject_id)

    task_of = {t.id: (t.kind, *subject(t)) for t in session.execute(select(Task)).scalars()}
    return {
        "versions": sorted((barcode[r.tube_id], r.version, r.result, r.status, r.lab, r.reported_at, r.via)
                           for r in session.execute(select(TubeResult)).scalars()),
        "tubes": sorted((t.barcode, t.status, t.result, t.reported_at, t.lab, t.pool_actions_at is not None)
                        for t in session.execute(select(Tube)).scalars()),
        "members": sorted((m.person_id, m.group_code, m.last_negative_at, m.next_due_at, m.frequency_days)
                          for m in session.execute(select(GroupMember)).scalars()),
        "tasks": sorted((t.kind, *subject(t), t.status, t.outcome_code, str(t.outcome), t.due_at)
                        for t in session.execute(select(Task)).scalars()),
        "events": sorted((task_of[e.task_id], e.event, str(e.detail))
                         for e in session.execute(select(TaskEvent)).scalars()),
        "follow_ups": sorted((f.person_id, f.status) for f in session.execute(select(PoolFollowUp)).scalars()),
        "leads": session.execute(select(func.count()).select_from(Lead)).scalar_one(),
        "measures": sorted((m.person_id, m.kind, m.status) for m in session.execute(select(Measure)).scalars()),
    }


def _arrive(session, actor, *, one_by_one: bool) -> tuple[list[tuple[Any, ...]], dict[str, Any], dict[str, set[int]]]:
    """Send the results (in one batch, or one call per result) inside a savepoint; returns the reports,
    the stored state and what the audit entries written meanwhile name; then rolls back."""
    before = _state(session)
    first = session.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()
    nested = session.begin_nested()
    with clock.frozen(NOW):
        if one_by_one:
            reports = [r for it in _items() for r in service.ingest_results(session, actor, items=[it], via="api")]
        else:
            reports = service.ingest_results(session, actor, items=_items(), via="api")
        session.flush()
    after = _state(session)
    named: dict[str, set[int]] = {"tubes": set(), "members": set(), "tasks": set()}
    for ev in session.execute(select(AuditEvent).where(AuditEvent.id > first)).scalars():
        d = ev.detail or {}
        if ev.action == "testing.results_received":
            named["tubes"].update(audit.expand_ids(d["tube_ids"]))
            named["members"].update(audit.expand_ids(d["member_ids"]))
        elif ev.action == "task.completed":
            named["tasks"].update(audit.expand_ids(d["ids"]) if "ids" in d else [ev.object_id])
    changed = {
        "tubes": set(session.execute(select(TubeResult.tube_id)).scalars()),
        "members": {m.id for m in session.execute(select(GroupMember)).scalars() if m.last_negative_at is not None},
        "tasks": {t.id for t in session.execute(select(Task).where(Task.status == "done")).scalars()},
    }
    assert before["members"] != after["members"]  # the batch did move members
    for what, ids in changed.items():  # the audit names every record the results changed
        assert ids and ids <= named[what], (what, sorted(ids - named[what]))
    nested.rollback()
    assert _state(session) == before
    rows = [(r.row, r.status, tuple(str(i) for i in r.issues), r.extra.get("version")) for r in reports]
    return rows, after, named


def test_one_batch_leaves_what_the_same_results_one_at_a_time_leave(session, tree, overdue):
    lab = actor_at(tree.district, name="lab")
    bulk_rows, bulk, bulk_named = _arrive(session, lab, one_by_one=False)
    single_rows, single, single_named = _arrive(session, lab, one_by_one=True)
    assert bulk == single
    assert bulk_rows == single_rows
    assert [r[1] for r in bulk_rows] == ["accepted", "accepted", "accepted", "duplicate", "accepted", "rejected",
                                         "rejected", "accepted"]
    assert bulk_rows[5][2] == ("tube_barcode: unknown tube NOPE-1",)
    assert bulk_rows[6][2][0].startswith("result: not a result word")
    # what the batch did: 7 members tested this morning are compliant with their tasks closed as tested
    # (one `done` event each); 8 and 9 moved to an old negative, still overdue, tasks open; the positive
    # pool's two persons under temporary control with a retest task each
    by_person = {m[0]: m for m in bulk["members"]}
    closed = [t for t in bulk["tasks"] if t[0] == kinds.OVERDUE and t[3] == "done"]
    assert len(closed) == 7 and all(t[4] == "tested" and "last_negative_at" in t[5] for t in closed)
    assert len([e for e in bulk["events"] if e[0][0] == kinds.OVERDUE and e[1] == "done"]) == 7
    assert len([t for t in bulk["tasks"] if t[0] == kinds.OVERDUE and t[3] == "open"]) == 5
    tested = [m for m in by_person.values() if m[2] is not None]
    assert len(tested) == 9 and len([m for m in tested if m[3] <= NOW]) == 2  # 8 and 9: still overdue
    assert len(bulk["follow_ups"]) == 2 and bulk["leads"] == 2
    assert len([t for t in bulk["tasks"] if t[0] == kinds.RETEST]) == 2
    # one audit entry per batch names its tubes and members: the batch names as many as the rows did
    assert bulk_named["tubes"] == single_named["tubes"] and bulk_named["members"] == single_named["members"]


def test_the_same_batch_twice_is_stored_once(session, tree, overdue):
    lab = actor_at(tree.district, name="lab")
    with clock.frozen(NOW):
        first = service.ingest_results(session, lab, items=_items(), via="api")
        session.flush()
        once = _state(session)
        audits = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        again = service.ingest_results(session, lab, items=_items(), via="api")
        session.flush()
    assert _state(session) == once
    assert [r.status for r in again] == ["duplicate" if r.status in ("accepted", "duplicate") else r.status
                                         for r in first]
    assert [r.extra.get("version") for r in again] == [r.extra.get("version") for r in first]
    # the repeat is audited as received, naming no stored tube and no moved member; no task closes
    entries = session.execute(select(AuditEvent).where(AuditEvent.id > 0).order_by(AuditEvent.id.desc())
                              .limit(session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
                                     - audits)).scalars().all()
    assert [e.action for e in entries] == ["testing.results_received"]
    assert entries[0].detail["tube_ids"] == [] and entries[0].detail["member_ids"] == []


def test_a_results_file_imported_twice_reports_every_row_duplicate(session, tree, overdue, tmp_path):
    lab = actor_at(tree.district, name="lab")
    path = write_csv(tmp_path / "results.csv", ["试管条码", "检测结果", "检测机构", "报告时间"],
                     [[b, "阴性", "常州检测", "2022-04-18 08:50"] for b in ("BK-1", "BK-2", "BK-7")])
    with clock.frozen(NOW):
        assert [r.status for r in service.import_results(session, lab, path)] == ["accepted"] * 3
        once = _state(session)
        assert [r.status for r in service.import_results(session, lab, path)] == ["duplicate"] * 3
    assert _state(session) == once
