"""The kernel's JSON API under /api/v1 (接口): me, units, persons, tasks, audit.

401 without credentials, 403 without the permission, 404 for anything outside the caller's
jurisdiction, 422 with field-level messages (kernel/web/errors.py gives every error one shape).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit_service
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import CurrentActor, requires
from fangkong.kernel.auth.models import User
from fangkong.kernel.auth.roles import ROLES
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.routes_persons import person_row
from fangkong.kernel.web.routes_tasks import _kind
from fangkong.kernel.web.schemas import (
    ERROR_RESPONSES,
    AuditEventOut,
    AuditPage,
    MeOut,
    PersonIn,
    PersonOut,
    PersonPage,
    TaskCompleteIn,
    TaskOut,
    TaskPage,
    UnitOut,
    UnmaskIn,
    UnmaskOut,
)
from fangkong.kernel.web.templating import request_locale

api = APIRouter(responses=ERROR_RESPONSES)

CanViewUnits = Annotated[Actor, Depends(requires("unit.view"))]
CanViewPersons = Annotated[Actor, Depends(requires("person.view"))]
CanEditPersons = Annotated[Actor, Depends(requires("person.edit"))]
CanUnmask = Annotated[Actor, Depends(requires("person.unmask"))]
CanViewTasks = Annotated[Actor, Depends(requires("task.view"))]
CanWorkTasks = Annotated[Actor, Depends(requires("task.work"))]
CanViewAudit = Annotated[Actor, Depends(requires("audit.view"))]

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str, Query(max_length=24, description="`next_cursor` of the previous page")]


def unit_out(unit: Unit) -> UnitOut:
    return UnitOut(id=unit.id, code=unit.code, name=unit.name, level=unit.level, parent_id=unit.parent_id,
                   depth=unit.depth)


# --- me ----------------------------------------------------------------------------------------------

@api.get("/me", response_model=MeOut, tags=["auth"])
def me(request: Request, session: DbSession, actor: CurrentActor) -> MeOut:
    """Who the credentials belong to: user, role, unit and permissions."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    unit = session.get(Unit, actor.unit_id) if actor.unit_id is not None else None
    zh, en = ROLES.get(actor.role, (actor.role, actor.role))
    return MeOut(username=actor.username, display_name=user.display_name if user else actor.username,
                 role=actor.role, role_name=zh if request_locale(request) == "zh_CN" else en,
                 unit=unit_out(unit) if unit else None, permissions=sorted(actor.permissions))


# --- units -------------------------------------------------------------------------------------------

@api.get("/units", response_model=list[UnitOut], tags=["units"])
def list_units(
    session: DbSession,
    actor: CanViewUnits,
    parent: Annotated[str | None, Query(max_length=32, description="parent unit code; default: your unit")] = None,
) -> list[UnitOut]:
    """Children of a unit in your jurisdiction (your own unit's children by default)."""
    parent_unit = scope.visible_unit(session, actor, code=parent) if parent else scope.base_unit(session, actor)
    return [unit_out(u) for u in jurisdictions_service.children(session, actor, parent_unit.id)]


@api.get("/units/{code}", response_model=UnitOut, tags=["units"])
def get_unit(code: str, session: DbSession, actor: CanViewUnits) -> UnitOut:
    return unit_out(scope.visible_unit(session, actor, code=code))


# --- persons -----------------------------------------------------------------------------------------

@api.get("/persons", response_model=PersonPage, tags=["persons"])
def search_persons(
    session: DbSession,
    actor: CanViewPersons,
    q: Annotated[str, Query(max_length=64, description="name, ID number or phone")] = "",
    limit: Limit = 50,
    cursor: Cursor = "",
) -> PersonPage:
    """Persons in your jurisdiction, masked. Page on with `cursor=next_cursor`."""
    after = parse_cursor(cursor)
    found = list(people_service.search_persons(session, actor, q=q.strip(), limit=limit + 1, after_id=after))
    next_cursor = str(found[limit - 1].id) if len(found) > limit else None
    return PersonPage(items=[PersonOut.model_validate(person_row(p)) for p in found[:limit]],
                      next_cursor=next_cursor)


@api.get("/persons/{person_id}", response_model=PersonOut, tags=["persons"])
def get_person(person_id: RowId, session: DbSession, actor: CanViewPersons) -> PersonOut:
    """One person, masked (the view is audited)."""
    return PersonOut.model_validate(person_row(people_service.get_person(session, actor, person_id)))


@api.post("/persons", response_model=PersonOut, status_code=201, tags=["persons"])
def register_person(body: PersonIn, session: DbSession, actor: CanEditPersons) -> PersonOut:
    """Register a person (登记). A bad ID or phone number is a 422 naming the field; nothing is stored."""
    person = people_service.register_person(session, actor, name=body.name, id_number=body.id_number,
                                            phone=body.phone, address_text=body.address_text)
    return PersonOut.model_validate(person_row(person))


@api.post("/persons/{person_id}/unmask", response_model=UnmaskOut, tags=["persons"])
def unmask(person_id: RowId, body: UnmaskIn, session: DbSession, actor: CanUnmask) -> UnmaskOut:
    """The full ID or phone number of one person; every call is audited (person.unmask)."""
    value = people_service.unmask(session, actor, person_id, field=body.field)
    return UnmaskOut(field=body.field, value=value)


# --- tasks -------------------------------------------------------------------------------------------

def task_out(task: Task, locale: str) -> TaskOut:
    k = _kind(task.kind)
    return TaskOut(
        id=task.id, kind=task.kind, kind_label=k.label(locale) if k else task.kind, title=task.title,
        status=task.status, unit_id=task.unit_id, subject_type=task.subject_type, subject_id=task.subject_id,
        assignee_id=task.assignee_id, created_at=clock.iso_local(task.created_at),
        due_at=clock.iso_local(task.due_at) or None, done_at=clock.iso_local(task.done_at) or None,
        overdue=task.status == "open" and task.due_at is not None and task.due_at < clock.now(),
        outcome_code=task.outcome_code, escalation_level=task.escalation_level or 0,
    )


@api.get("/tasks", response_model=TaskPage, tags=["tasks"])
def list_tasks(
    request: Request,
    session: DbSession,
    actor: CanViewTasks,
    status: Annotated[str, Query(pattern="^(open|done|cancelled|any)$")] = "open",
    mine_only: bool = False,
    overdue_only: bool = False,
    kind: Annotated[str | None, Query(max_length=48)] = None,
    limit: Limit = 50,
    cursor: Cursor = "",
) -> TaskPage:
    """Your inbox: tasks of your jurisdiction (and those escalated to it), soonest due first."""
    tasks = tasks_service.inbox(session, actor, status=None if status == "any" else status, mine_only=mine_only,
                                overdue_only=overdue_only, kind=kind, limit=limit + 1,
                                after_id=parse_cursor(cursor))
    locale = request_locale(request)
    next_cursor = str(tasks[limit - 1].id) if len(tasks) > limit else None
    return TaskPage(items=[task_out(t, locale) for t in tasks[:limit]], next_cursor=next_cursor)


@api.get("/tasks/{task_id}", response_model=TaskOut, tags=["tasks"])
def get_task(request: Request, task_id: RowId, session: DbSession, actor: CanViewTasks) -> TaskOut:
    return task_out(tasks_service.get_task(session, actor, task_id), request_locale(request))


@api.post("/tasks/{task_id}/complete", response_model=TaskOut, tags=["tasks"])
def complete_task(request: Request, task_id: RowId, body: TaskCompleteIn, session: DbSession,
                  actor: CanWorkTasks) -> TaskOut:
    """Close a task with one of its kind's outcomes (409 when it is no longer open)."""
    task = tasks_service.complete_task(session, actor, task_id, outcome_code=body.outcome_code,
                                       outcome=body.outcome, note=body.note)
    return task_out(task, request_locale(request))


# --- audit -------------------------------------------------------------------------------------------

@api.get("/audit", response_model=AuditPage, tags=["audit"])
def list_audit(
    session: DbSession,
    actor: CanViewAudit,
    action: Annotated[str | None, Query(max_length=64, description="exact, or a prefix ending in *")] = None,
    actor_name: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    cursor: Cursor = "",
) -> AuditPage:
    """Audit events, newest first; `cursor` pages backwards."""
    events = audit_service.list_events(session, actor, action=action, actor_name=actor_name,
                                       object_type=object_type, object_id=object_id, limit=limit + 1,
                                       before_id=parse_cursor(cursor))
    next_cursor = str(events[limit - 1].id) if len(events) > limit else None
    return AuditPage(
        items=[AuditEventOut(id=e.id, at=clock.iso_local(e.at), actor_id=e.actor_id, actor_name=e.actor_name,
                             action=e.action, object_type=e.object_type, object_id=e.object_id,
                             detail=e.detail or {}, ip=e.ip) for e in events[:limit]],
        next_cursor=next_cursor,
    )
