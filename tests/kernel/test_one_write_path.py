"""One write path for tasks and for persons (一个写入口), bulk included: a task or a person written by a
100,000-row import gets exactly what the single-row path writes — the same rules, columns, events and
audit entries."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.intake import kinds as intake_kinds
from fangkong.intake import service as intake_service
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit_service
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import check_id_number, check_phone
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.resolution import PersonKeys, resolve_persons
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task, TaskEvent

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
from intake_factories import NOW, Tree, actor_at, make_id

TASK_COLUMNS = ("kind", "title", "unit_id", "unit_path", "subject_type", "assignee_id", "status", "created_at",
                "due_at", "escalation_level", "policy_version", "rule", "detail")
PERSON_COLUMNS = ("name", "name_key", "id_number_bidx", "id_number_valid", "id_number_masked", "phone_bidx",
                  "phone_masked", "sex", "birth_date", "unit_id", "unit_path")


@pytest.fixture
def tree(session: Session) -> Tree:
    return Tree(session)


def _audits(session: Session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
                .scalars())


def _audited_ids(session: Session, action: str) -> set[int]:
    out: set[int] = set()
    for e in _audits(session, action):
        out |= set(audit_service.expand_ids((e.detail or {}).get("ids") or []))
    return out


def _row(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in columns}


def test_one_task_and_a_thousand_are_written_alike(session: Session, tree: Tree) -> None:
    actor = actor_at(tree.community, name="assigner", user_id=None)
    with clock.frozen(NOW):
        one = tasks_service.create_task(session, actor, kind=intake_kinds.VERIFY, title="核查 张三", unit_id=tree.grid1.id,
                                        subject_type="lead", subject_id=1)
        ids = tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
            kind=intake_kinds.VERIFY, title="核查 张三", unit_id=tree.grid1.id, subject_type="lead", subject_id=i)
            for i in range(2, 1002)])
    many = session.execute(select(Task).where(Task.id.in_(ids)).order_by(Task.id)).scalars().all()
    assert len(many) == 1000
    # the SLA from the policy pack, its version and rule: the same on both paths
    assert one.due_at is not None and one.rule == "sla_hours.lead_verify" and one.policy_version
    assert all(_row(t, TASK_COLUMNS) == _row(one, TASK_COLUMNS) for t in many)
    events = session.execute(select(TaskEvent.task_id, TaskEvent.event, TaskEvent.actor_id)
                             .where(TaskEvent.task_id.in_([one.id, *ids]))).all()
    assert sorted(e.task_id for e in events) == sorted([one.id, *ids]) and {e.event for e in events} == {"created"}
    assert {one.id, *ids} <= _audited_ids(session, "task.created")
    assert {e.actor_name for e in _audits(session, "task.created")} == {"assigner"}
    # the same rules refuse the same mistakes, one item or many
    for items in ([tasks_service.NewTask(kind="no.such.kind", title="x", unit_id=tree.grid1.id)],
                  [tasks_service.NewTask(kind=intake_kinds.VERIFY, title=" ", unit_id=tree.grid1.id)],
                  [tasks_service.NewTask(kind=intake_kinds.VERIFY, title="x", unit_id=tree.grid1.id,
                                         due_at=dt.datetime(2022, 4, 18, 9))]):
        with pytest.raises(ValidationFailed):
            tasks_service.create_tasks(session, actor, items * 3)


def test_an_imported_lead_s_task_is_what_create_task_writes(session: Session, tree: Tree) -> None:
    actor = actor_at(tree.community, name="importer")
    with clock.frozen(NOW):
        result = intake_service.ingest_leads(session, actor, channel="bigdata", items=[
            intake_service.LeadItem(i, {"name": f"张{i}", "id_number": make_id(seq=f"{i:03d}"),
                                        "address": "幸福路12号3幢2单元301室"}) for i in range(1, 4)])
        lead_ids = [r.extra["lead_id"] for r in result.rows]
        by_import = session.execute(select(Task).where(Task.subject_type == "lead", Task.subject_id.in_(lead_ids))
                                    .order_by(Task.id)).scalars().all()
        first = by_import[0]
        by_hand = tasks_service.create_task(session, actor, kind=first.kind, title=first.title, unit_id=first.unit_id,
                                            subject_type="lead", subject_id=first.subject_id, due_at=first.due_at,
                                            policy_version=first.policy_version, rule=first.rule, detail=first.detail)
    assert len(by_import) == 3
    assert _row(by_hand, TASK_COLUMNS) == _row(first, TASK_COLUMNS)
    assert {t.id for t in by_import} | {by_hand.id} <= _audited_ids(session, "task.created")
    created = session.execute(select(TaskEvent.task_id).where(TaskEvent.event == "created")).scalars().all()
    assert {t.id for t in by_import} <= set(created)


def _person_inputs(n: int) -> dict[str, Any]:
    seq = 2 * n - 1  # odd: a man's number
    return {"name": "陳 偉", "id_number": make_id(seq=f"{seq:03d}"), "phone": f"1381234{seq:04d}"}


def test_a_person_registered_by_hand_by_a_channel_and_by_an_import_is_stored_alike(session: Session,
                                                                                    tree: Tree) -> None:
    actor: Actor = actor_at(tree.grid1, name="registrar")
    with clock.frozen(NOW):
        by_hand = people_service.register_person(session, actor, unit_id=tree.grid1.id, source="manual",
                                                 **_person_inputs(1))
        [direct] = people_service.create_persons(session, actor, [people_service.NewPerson(
            unit_id=tree.grid1.id, name=_person_inputs(2)["name"], id_check=check_id_number(_person_inputs(2)["id_number"]),
            phone_check=check_phone(_person_inputs(2)["phone"]))], source="manual")
        [channel] = resolve_persons(session, actor, [PersonKeys(**_person_inputs(3))], source="roster",
                                    unit=tree.grid1)
        result = intake_service.ingest_leads(session, actor, channel="community", items=[
            intake_service.LeadItem(1, {**_person_inputs(4), "address": "幸福路12号3幢2单元301室"})])
    assert result.rows[0].status == "accepted", result.rows[0].issues
    ids = [by_hand.id, direct, channel.person_id, result.rows[0].person_id]
    assert None not in ids and len(set(ids)) == 4
    stored = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(ids))).scalars()}
    rows = [_row(stored[i], PERSON_COLUMNS) for i in ids]
    keys = ("id_number_bidx", "id_number_masked", "phone_bidx", "phone_masked")
    for r in rows:  # the numbers differ (one per person); everything else is written by the same rules
        assert r["name"] == "陳偉" and r["name_key"] == "陈伟" and r["id_number_valid"] and r["sex"] == "M"
        assert all(r[k] for k in keys)
    assert [{k: v for k, v in r.items() if k not in keys} for r in rows] == [
        {k: v for k, v in rows[0].items() if k not in keys}] * 4
    assert set(ids) <= _audited_ids(session, "person.registered")
    assert {e.actor_name for e in _audits(session, "person.registered")} == {"registrar"}
