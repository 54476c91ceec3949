"""The task inbox pages (任务收件箱): tabs open / overdue / done, mine only, complete via HTMX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import REQUIRED, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _ as N_
from fangkong.kernel.messages import message
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks import kinds as task_kinds
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.templating import gettext_for, render, request_locale

CHOOSE_OUTCOME = message("task.choose_outcome", N_("choose an outcome"))

pages = APIRouter(include_in_schema=False)

CanViewTasks = Annotated[Actor, Depends(requires("task.view"))]
CanWorkTasks = Annotated[Actor, Depends(requires("task.work"))]

PAGE_SIZE = 30
TABS = ("open", "overdue", "done")


@dataclass
class TaskView:
    """What a task card shows, with labels in the page's language."""

    id: int
    kind: str
    kind_label: str
    title: str
    status: str
    unit_name: str
    due_at: Any
    done_at: Any
    overdue: bool
    outcome_label: str | None
    outcomes: list[tuple[str, str]]
    can_work: bool
    person_id: int | None
    person_label: str
    #: the capability's own page where this task is worked on (then no generic complete form)
    work_url: str | None = None
    #: outcomes that need a note when chosen by hand (a retest result not received from the lab)
    note_required: tuple[str, ...] = ()


def _kind(code: str) -> task_kinds.TaskKind | None:
    try:
        return task_kinds.kind(code)
    except KeyError:  # a kind whose capability is not loaded in this process
        return None


def task_views(session: Session, actor: Actor, tasks: list[Task], locale: str) -> list[TaskView]:
    """Cards for tasks the actor may see: unit names and person names looked up in two queries."""
    unit_ids = {t.unit_id for t in tasks}
    units = {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(unit_ids))).scalars()} \
        if unit_ids else {}
    person_ids = {t.subject_id for t in tasks if t.subject_type == "person" and t.subject_id is not None}
    persons = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(person_ids))).scalars()} \
        if person_ids else {}
    now = clock.now()
    views = []
    for t in tasks:
        k = _kind(t.kind)
        person = persons.get(t.subject_id) if t.subject_type == "person" and t.subject_id else None
        # the name is only shown for a person inside the actor's jurisdiction (the link would 404 otherwise)
        person_visible = person is not None and scope.sees(actor, person)
        outcome_label = None
        if t.outcome_code and k is not None and t.outcome_code in k.outcomes:
            outcome_label = k.outcome_label(t.outcome_code, locale)
        views.append(TaskView(
            id=t.id, kind=t.kind, kind_label=k.label(locale) if k else t.kind, title=t.title, status=t.status,
            unit_name=units[t.unit_id].name if t.unit_id in units else "",
            due_at=t.due_at, done_at=t.done_at,
            overdue=t.status == "open" and t.due_at is not None and t.due_at < now,
            outcome_label=outcome_label,
            outcomes=[(code, k.outcome_label(code, locale)) for code in k.outcomes] if k else [],
            can_work=actor.can("task.work"),
            work_url=k.url_for(t) if k else None,
            note_required=tuple(sorted(k.note_required)) if k else (),
            person_id=person.id if person_visible and person is not None else None,
            person_label=(person.name or f"#{person.id}") if person_visible and person is not None else "",
        ))
    return views


@pages.get("/tasks")
def inbox_page(
    request: Request,
    session: DbSession,
    actor: CanViewTasks,
    tab: Annotated[str, Query(max_length=16)] = "open",
    mine: Annotated[str, Query(max_length=8)] = "",
    cursor: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    _ = gettext_for(request)
    tab = tab if tab in TABS else "open"
    mine_only = mine in ("1", "true", "on")
    after = parse_cursor(cursor)
    tasks = tasks_service.inbox(
        session, actor, status="done" if tab == "done" else "open", mine_only=mine_only,
        overdue_only=tab == "overdue", limit=PAGE_SIZE + 1, after_id=after)
    next_cursor = str(tasks[PAGE_SIZE - 1].id) if len(tasks) > PAGE_SIZE else None
    counts = tasks_service.counts(session, actor)
    tabs = [("open", _("Open")), ("overdue", _("Overdue")), ("done", _("Done"))]
    return render(request, "tasks.html", actor=actor, tab=tab, tabs=tabs, mine=mine_only, after=after,
                  counts={"open": counts["open"], "overdue": counts["overdue"]},
                  tasks=task_views(session, actor, tasks[:PAGE_SIZE], request_locale(request)),
                  next_cursor=next_cursor)


@pages.post("/tasks/{task_id}/complete")
def complete_from_page(
    request: Request,
    task_id: RowId,
    session: DbSession,
    actor: CanWorkTasks,
    outcome_code: Annotated[str, Form(max_length=48)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """HTMX: close the task and answer with its updated card (plus a toast)."""
    _ = gettext_for(request)
    if not outcome_code:
        raise ValidationFailed(CHOOSE_OUTCOME(), [FieldError("outcome_code", REQUIRED())])
    task = tasks_service.complete_task(session, actor, task_id, outcome_code=outcome_code,
                                       note=note.strip() or None)
    views = task_views(session, actor, [task], request_locale(request))
    card = render(request, "_task_card_oob.html", actor=actor, task=views[0],
                  toast_title=_("Task completed."))
    return card
