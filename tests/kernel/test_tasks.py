"""Tasks: create and close with outcomes, jurisdiction visibility, inbox filters and pages, escalation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.audit.service import expand_ids as audit_ids
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.models import User
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import kinds
from fangkong.kernel.tasks import service as tasks
from fangkong.kernel.tasks.cli import job_kwargs
from fangkong.kernel.tasks.models import Task, TaskEvent

T0 = dt.datetime(2022, 4, 18, 8, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)

kinds.register_kind("test.review", label_zh="复核", label_en="Review",
                    outcomes={"confirmed": ("属实", "Confirmed"), "rejected": ("不属实", "Rejected")})
kinds.register_kind("test.verify", label_zh="核查", label_en="Verify", outcomes={"done": ("已核查", "Done")},
                    sla="lead_verify")


def make_unit(session: Session, code: str, parent: Unit, level: str) -> Unit:
    unit = Unit(code=code, name=code, level=level, parent_id=parent.id, path="", depth=parent.depth + 1)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    session.flush()
    return unit


def make_actor(session: Session, unit: Unit, role: str, name: str) -> Actor:
    user = User(username=name, display_name=name, role_code=role, unit_id=unit.id, password_hash="-",
                created_at=clock.now())
    session.add(user)
    session.flush()
    return Actor(user_id=user.id, username=name, role=role, unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX[role]))


@dataclass
class Tree:
    root: Unit
    district: Unit
    street: Unit
    street2: Unit
    grid: Unit
    district_actor: Actor
    street_actor: Actor
    street2_actor: Actor
    grid_actor: Actor


@pytest.fixture
def tree(session: Session) -> Tree:
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalars().one()
    district = make_unit(session, "t-d", root, "district")
    street = make_unit(session, "t-s1", district, "street")
    street2 = make_unit(session, "t-s2", district, "street")
    grid = make_unit(session, "t-g1", street, "grid")
    return Tree(root, district, street, street2, grid,
                make_actor(session, district, "district", "t-district"),
                make_actor(session, street, "street", "t-street"),
                make_actor(session, street2, "street", "t-street2"),
                make_actor(session, grid, "grid", "t-grid"))


def new_task(session: Session, tree: Tree, *, kind: str = "generic", due_at: dt.datetime | None = None,
             unit: Unit | None = None, assignee: Actor | None = None, title: str = "核查") -> Task:
    return tasks.create_task(session, tree.district_actor, kind=kind, title=title, unit_id=(unit or tree.grid).id,
                             due_at=due_at, assignee_id=assignee.user_id if assignee else None)


def history(session: Session, task: Task) -> list[str]:
    return list(session.execute(
        select(TaskEvent.event).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id)).scalars())


# -- create and complete ---------------------------------------------------------------------------
def test_create_and_complete_with_outcome(session: Session, tree: Tree) -> None:
    with clock.frozen(T0):
        task = new_task(session, tree, kind="test.review", due_at=T0 + 4 * H)
    assert task.unit_path == tree.grid.path and task.status == "open" and task.created_at == T0
    with pytest.raises(ValidationFailed) as info:
        tasks.complete_task(session, tree.grid_actor, task.id, outcome_code="done")
    assert [f.field for f in info.value.fields] == ["outcome_code"]
    with clock.frozen(T0 + H):
        done = tasks.complete_task(session, tree.grid_actor, task.id, outcome_code="confirmed",
                                   outcome={"found": True}, note="上门核实")
    assert (done.status, done.outcome_code, done.done_at) == ("done", "confirmed", T0 + H)
    assert done.outcome == {"found": True, "note": "上门核实"}
    with pytest.raises(Conflict):
        tasks.complete_task(session, tree.grid_actor, task.id, outcome_code="confirmed")
    assert history(session, task) == ["created", "done"]
    audited = session.execute(select(AuditEvent.action).where(
        AuditEvent.object_type == "task", AuditEvent.object_id == str(task.id))).scalars().all()
    assert audited == ["task.created", "task.completed"]  # the one write path audits creation too


def test_close_tasks_shares_the_single_close_rules_and_audits_once(session: Session, tree: Tree) -> None:
    with clock.frozen(T0):
        a, b, c = (new_task(session, tree, kind="test.review") for _ in range(3))
        other = new_task(session, tree, kind="test.review", unit=tree.street2)
    done = tasks.complete_task(session, tree.grid_actor, c.id, outcome_code="rejected")
    before = session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    # every refusal refuses the whole call, before anything is written
    with pytest.raises(Conflict):  # one of them is closed already
        tasks.close_tasks(session, tree.grid_actor, {a.id: None, done.id: None}, outcome_code="confirmed")
    with pytest.raises(NotFound):  # one of them lies outside the actor's jurisdiction
        tasks.close_tasks(session, tree.grid_actor, {a.id: None, other.id: None}, outcome_code="confirmed")
    with pytest.raises(ValidationFailed):  # not an outcome of the kind
        tasks.close_tasks(session, tree.grid_actor, {a.id: None}, outcome_code="done")
    with pytest.raises(PermissionDenied):
        viewer = Actor(user_id=None, username="t-viewer", role="district", unit_id=tree.district.id,
                       unit_path=tree.district.path, permissions=frozenset({"task.view"}))
        tasks.close_tasks(session, viewer, {a.id: None}, outcome_code="confirmed")
    assert (a.status, b.status) == ("open", "open") and history(session, a) == ["created"]
    assert session.execute(select(AuditEvent.id).where(AuditEvent.id > before)).first() is None
    with clock.frozen(T0 + H):
        closed = tasks.close_tasks(session, tree.grid_actor, {b.id: {"found": True}, a.id: None},
                                   outcome_code="confirmed")
    assert closed == sorted([a.id, b.id])
    assert (a.status, a.done_at, a.outcome_code, a.outcome) == ("done", T0 + H, "confirmed", None)
    assert (b.status, b.outcome) == ("done", {"found": True})
    for t in (a, b):
        event = session.execute(select(TaskEvent).where(TaskEvent.task_id == t.id, TaskEvent.event == "done")
                                ).scalar_one()
        assert (event.actor_id, event.at, event.detail) == (tree.grid_actor.user_id, T0 + H,
                                                            {"outcome_code": "confirmed", "note": None})
    [entry] = session.execute(select(AuditEvent).where(AuditEvent.id > before)).scalars().all()
    assert (entry.action, entry.actor_id, entry.detail["count"]) == ("task.completed", tree.grid_actor.user_id, 2)
    assert audit_ids(entry.detail["ids"]) == sorted([a.id, b.id])


def test_close_open_tasks_about_closes_per_subject_in_one_statement_and_audits_once(session: Session,
                                                                                    tree: Tree) -> None:
    """The set-based close by subject: only the open tasks of the kind about the subjects, each with
    its subject's outcome, a `done` event each, one audit entry naming them; a task the actor cannot
    see refuses the whole call before anything is written; subjects without an open task are skipped."""
    with clock.frozen(T0):
        def about(subject: int, *, kind: str = "test.review", unit: Unit | None = None) -> Task:
            return tasks.create_task(session, tree.district_actor, kind=kind, title="复核", unit_id=(unit or tree.grid).id,
                                     subject_type="thing", subject_id=subject)
        a, b = about(1), about(2)
        other_kind = about(1, kind="generic")
        done = about(3)
        far = about(4, unit=tree.street2)
    tasks.complete_task(session, tree.grid_actor, done.id, outcome_code="rejected")
    before = session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    with pytest.raises(NotFound):
        tasks.close_open_tasks_about(session, tree.grid_actor, kind="test.review", subject_type="thing",
                                     outcomes={1: None, 4: None}, outcome_code="confirmed")
    assert session.execute(select(AuditEvent.id).where(AuditEvent.id > before)).first() is None
    assert history(session, a) == ["created"]
    with pytest.raises(ValidationFailed):
        tasks.close_open_tasks_about(session, tree.grid_actor, kind="test.review", subject_type="thing",
                                     outcomes={1: None}, outcome_code="done")
    shared = {"found": True}
    with clock.frozen(T0 + H):
        closed = tasks.close_open_tasks_about(session, tree.grid_actor, kind="test.review", subject_type="thing",
                                              outcomes={1: shared, 2: None, 3: shared, 99: shared},
                                              outcome_code="confirmed")
    assert closed == sorted([a.id, b.id])
    assert (a.status, a.done_at, a.outcome_code, a.outcome) == ("done", T0 + H, "confirmed", {"found": True})
    assert (b.status, b.outcome) == ("done", None)
    assert (other_kind.status, done.outcome_code, far.status) == ("open", "rejected", "open")
    for t in (a, b):
        event = session.execute(select(TaskEvent).where(TaskEvent.task_id == t.id, TaskEvent.event == "done")
                                ).scalar_one()
        assert (event.actor_id, event.at, event.detail) == (tree.grid_actor.user_id, T0 + H,
                                                            {"outcome_code": "confirmed", "note": None})
    [entry] = session.execute(select(AuditEvent).where(AuditEvent.id > before)).scalars().all()
    assert (entry.action, entry.detail["count"], audit_ids(entry.detail["ids"])) == (
        "task.completed", 2, sorted([a.id, b.id]))
    assert tasks.close_open_tasks_about(session, tree.grid_actor, kind="test.review", subject_type="thing",
                                        outcomes={1: None, 2: None}, outcome_code="confirmed") == []


def test_create_checks_permission_unit_and_kind(session: Session, tree: Tree) -> None:
    with pytest.raises(PermissionDenied):
        tasks.create_task(session, tree.grid_actor, kind="generic", title="x", unit_id=tree.grid.id)
    with pytest.raises(NotFound):
        tasks.create_task(session, tree.street2_actor, kind="generic", title="x", unit_id=tree.grid.id)
    with pytest.raises(ValidationFailed) as info:
        tasks.create_task(session, tree.street_actor, kind="no.such.kind", title="x", unit_id=tree.grid.id)
    assert info.value.fields[0].field == "kind"
    with pytest.raises(ValidationFailed) as info:
        tasks.create_task(session, tree.street_actor, kind="generic", title="x", unit_id=tree.grid.id,
                          assignee_id=tree.street2_actor.user_id)
    assert info.value.fields[0].field == "assignee_id"


def test_due_time_from_the_kinds_sla(session: Session, tree: Tree) -> None:
    with clock.frozen(T0):
        task = new_task(session, tree, kind="test.verify")
    assert task.due_at == T0 + dt.timedelta(hours=24)
    assert (task.policy_version, task.rule) == (policy_service.active_version(session), "sla_hours.lead_verify")


def test_sibling_unit_cannot_see_the_task(session: Session, tree: Tree) -> None:
    task = new_task(session, tree)
    assert tasks.get_task(session, tree.district_actor, task.id).id == task.id
    assert tasks.get_task(session, tree.grid_actor, task.id).id == task.id
    with pytest.raises(NotFound):
        tasks.get_task(session, tree.street2_actor, task.id)
    with pytest.raises(NotFound):
        tasks.complete_task(session, tree.street2_actor, task.id, outcome_code="done")
    assert tasks.inbox(session, tree.street2_actor) == []


def test_assign_and_cancel(session: Session, tree: Tree) -> None:
    task = new_task(session, tree)
    with pytest.raises(ValidationFailed):
        tasks.assign_task(session, tree.street_actor, task.id, assignee_id=tree.street2_actor.user_id)
    with pytest.raises(PermissionDenied):
        tasks.assign_task(session, tree.grid_actor, task.id, assignee_id=tree.grid_actor.user_id)
    tasks.assign_task(session, tree.street_actor, task.id, assignee_id=tree.grid_actor.user_id)
    assert [t.id for t in tasks.inbox(session, tree.grid_actor, mine_only=True)] == [task.id]
    tasks.cancel_task(session, tree.street_actor, task.id, reason="重复")
    assert task.status == "cancelled"
    with pytest.raises(Conflict):
        tasks.complete_task(session, tree.grid_actor, task.id, outcome_code="done")
    assert history(session, task) == ["created", "assigned", "cancelled"]


# -- inbox -----------------------------------------------------------------------------------------
def test_inbox_order_filters_and_pages(session: Session, tree: Tree) -> None:
    with clock.frozen(T0):
        late = new_task(session, tree, due_at=T0 + 5 * H)
        none1 = new_task(session, tree)
        soon = new_task(session, tree, due_at=T0 - H, kind="test.review")
        tie_a = new_task(session, tree, due_at=T0 + 2 * H, assignee=tree.grid_actor)
        tie_b = new_task(session, tree, due_at=T0 + 2 * H)
        none2 = new_task(session, tree, kind="test.review")
        other = new_task(session, tree, due_at=T0 + 3 * H, unit=tree.street2)
        done = new_task(session, tree, due_at=T0)
        tasks.complete_task(session, tree.grid_actor, done.id, outcome_code="done")

        expected = [soon, tie_a, tie_b, late, none1, none2]
        assert tasks.inbox(session, tree.street_actor) == expected
        assert tasks.inbox(session, tree.district_actor) == [soon, tie_a, tie_b, other, late, none1, none2]
        pages, after = [], None
        while True:
            page = tasks.inbox(session, tree.street_actor, limit=2, after_id=after)
            if not page:
                break
            pages.append(page)
            after = page[-1].id
        assert [t for p in pages for t in p] == expected and len(pages) == 3
        assert tasks.inbox(session, tree.grid_actor, mine_only=True) == [tie_a]
        assert tasks.inbox(session, tree.street_actor, kind="test.review") == [soon, none2]
        assert tasks.inbox(session, tree.district_actor, overdue_only=True) == [soon]
        assert tasks.inbox(session, tree.street_actor, status="done") == [done]
        assert tasks.inbox(session, tree.district_actor, unit_id=tree.street2.id) == [other]
        with pytest.raises(NotFound):
            tasks.inbox(session, tree.street_actor, unit_id=tree.street2.id)
        counts = tasks.counts(session, tree.street_actor)
        assert counts == {"open": 6, "overdue": 1, "due_today": 4, "done_today": 1}


# -- escalation ------------------------------------------------------------------------------------
def test_escalation_climbs_one_level_per_period(session: Session, tree: Tree) -> None:
    repeat = policy_service.active_pack(session).sla("task_escalation_repeat")
    with clock.frozen(T0):
        task = new_task(session, tree, due_at=T0 + H)
        on_time = new_task(session, tree, due_at=T0 + 10 * H)
        assert tasks.escalate_overdue(session) == 0
    assert tasks.inbox(session, tree.street_actor, escalated_only=True) == []

    first = T0 + 2 * H
    with clock.frozen(first):
        assert tasks.escalate_overdue(session) == 1
        assert tasks.escalate_overdue(session) == 0  # idempotent within the period
    session.refresh(task)
    assert (task.escalated_unit_id, task.escalation_level, task.escalated_at) == (tree.street.id, 1, first)
    assert task.escalated_unit_path == tree.street.path
    assert tasks.inbox(session, tree.street_actor, escalated_only=True) == [task]
    assert tasks.get_task(session, tree.street_actor, task.id).escalation_level == 1

    with clock.frozen(first + repeat - dt.timedelta(minutes=1)):
        assert tasks.escalate_overdue(session) == 1  # only `on_time`, now overdue, goes up its first step
    session.refresh(task)
    assert task.escalation_level == 1
    with clock.frozen(first + repeat):
        assert tasks.escalate_overdue(session) == 1
    session.refresh(task)
    assert (task.escalated_unit_id, task.escalation_level) == (tree.district.id, 2)
    assert tasks.inbox(session, tree.district_actor, escalated_only=True, unit_id=tree.district.id)[0] == task
    with clock.frozen(first + 2 * repeat):
        tasks.escalate_overdue(session)
    session.refresh(task)
    assert (task.escalated_unit_id, task.escalation_level) == (tree.root.id, 3)
    with clock.frozen(first + 5 * repeat):
        tasks.escalate_overdue(session)
    session.refresh(task)
    assert (task.escalated_unit_id, task.escalation_level) == (tree.root.id, 3)  # the root goes no further

    rows = session.execute(select(TaskEvent.detail).where(
        TaskEvent.task_id == task.id, TaskEvent.event == "escalated").order_by(TaskEvent.id)).scalars().all()
    assert [(d["unit_id"], d["level"]) for d in rows] == [(tree.street.id, 1), (tree.district.id, 2),
                                                          (tree.root.id, 3)]
    session.refresh(on_time)
    assert on_time.escalation_level >= 1


def test_done_and_undated_tasks_never_escalate(session: Session, tree: Tree) -> None:
    with clock.frozen(T0):
        done = new_task(session, tree, due_at=T0 - H)
        tasks.complete_task(session, tree.grid_actor, done.id, outcome_code="done")
        new_task(session, tree)
        assert tasks.escalate_overdue(session, now=T0 + 100 * H) == 0


def test_escalate_job_parameters() -> None:
    def fake_job(session: Session, *, day: dt.date, hours: int = 1) -> None:
        return None

    assert job_kwargs(fake_job, ["day=2022-04-18", "hours=3"]) == {"day": dt.date(2022, 4, 18), "hours": 3}
