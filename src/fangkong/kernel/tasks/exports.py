"""The task inbox as an export (任务清单导出): the 导出 button of /tasks, with the page's tab and filter."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, export, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import BOOL, CODE, DATETIME, INT, Column, ExportKind
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks import kinds
from fangkong.kernel.tasks.models import Task

TABS = ("open", "overdue", "done")
STATUS_ZH = {"open": "待办", "done": "已办结", "cancelled": "已取消"}


def _kind_label(code: str) -> str:
    try:
        return kinds.kind(code).label("zh_CN")
    except KeyError:
        return code


COLUMNS = [
    Column("task_id", "任务编号", INT),
    Column("kind", "任务类型", CODE, label=_kind_label, label_zh="任务类型名称"),
    Column("title", "任务", width=36),
    Column("status", "状态", CODE, label=STATUS_ZH.get, label_zh="状态名称"),
    Column("unit_code", "责任单位编码"),
    Column("unit_name", "责任单位", machine=False, width=20),
    Column("created_at", "派发时间", DATETIME),
    Column("due_at", "截止时间", DATETIME),
    Column("done_at", "办结时间", DATETIME),
    Column("overdue", "已超时", BOOL),
    Column("escalation_level", "上报层级", INT),
    Column("outcome", "办理结果代码", CODE),
    Column("outcome_label", "办理结果", machine=False),
    Column("person_id", "人员编号", INT),
    Column("person_name", "姓名", machine=False),
]


def parse_filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    return {"tab": export.param_choice(params, "tab", TABS) or "open", "mine": export.param_flag(params, "mine")}


def task_rows(session: Session, actor: Actor, *, tab: str = "open", mine: bool = False) -> Iterator[dict[str, Any]]:
    """The inbox of a tab, in the inbox's order, in pages of 500 through `tasks.service.inbox`."""
    from fangkong.kernel.tasks import service as tasks_service

    now = clock.now()
    after: int | None = None
    units: dict[int, tuple[str, str]] = {}
    while True:
        batch = tasks_service.inbox(session, actor, status="done" if tab == "done" else "open", mine_only=mine,
                                    overdue_only=tab == "overdue", limit=tasks_service.MAX_LIMIT, after_id=after)
        if not batch:
            return
        need = sorted({t.unit_id for t in batch} - set(units))
        if need:
            units.update({u.id: (u.code, u.name) for u in session.execute(
                select(Unit).where(Unit.id.in_(need))).scalars()})
        pids = sorted({t.subject_id for t in batch if t.subject_type == "person" and t.subject_id is not None})
        persons = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(pids))).scalars()} \
            if pids else {}
        for t in batch:
            yield _row(t, units, persons, actor, now)
        after = batch[-1].id


def _row(t: Task, units: dict[int, tuple[str, str]], persons: dict[int, Person], actor: Actor,
         now: Any) -> dict[str, Any]:
    person = persons.get(t.subject_id) if t.subject_type == "person" and t.subject_id is not None else None
    # a person outside the actor's jurisdiction is neither named nor numbered (as on the page)
    visible = person is not None and scope.sees(actor, person)
    outcome_label = ""
    if t.outcome_code:
        try:
            outcome_label = kinds.kind(t.kind).outcome_label(t.outcome_code, "zh_CN")
        except KeyError:
            outcome_label = t.outcome_code
    code, name = units.get(t.unit_id, ("", ""))
    return {
        "task_id": t.id, "kind": t.kind, "title": t.title, "status": t.status, "unit_code": code, "unit_name": name,
        "created_at": t.created_at, "due_at": t.due_at, "done_at": t.done_at,
        "overdue": t.status == "open" and t.due_at is not None and t.due_at < now,
        "escalation_level": t.escalation_level, "outcome": t.outcome_code, "outcome_label": outcome_label,
        "person_id": person.id if visible and person is not None else None,
        "person_name": (person.name or "") if visible and person is not None else "",
    }


TASKS = export.register(ExportKind("tasks", "任务清单", COLUMNS, task_rows, ("task.view", "data.export"),
                                   parse_filters=parse_filters, object_type="task"))
