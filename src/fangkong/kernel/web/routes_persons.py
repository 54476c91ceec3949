"""Person pages (人员): search with masked results, details, and the audited unmask (查看完整号码)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks.models import Task
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.nav import person_sections_for
from fangkong.kernel.web.routes_tasks import task_views
from fangkong.kernel.web.templating import gettext_for, render, request_locale

pages = APIRouter(include_in_schema=False)

CanViewPersons = Annotated[Actor, Depends(requires("person.view"))]
CanUnmask = Annotated[Actor, Depends(requires("person.unmask"))]

PAGE_SIZE = 30
UNMASK_FIELDS = ("id_number", "phone")


def sex_labeler(request: Request) -> Callable[[str | None], str]:
    _ = gettext_for(request)
    labels = {"M": _("Male"), "F": _("Female")}
    return lambda sex: labels.get(sex or "", "")


def person_row(person: Any) -> dict[str, Any]:
    """The masked view lists, pages and the API show (never a full ID or phone number)."""
    return people_service.masked_view(person)


def open_tasks_about(session: Session, actor: Actor, person_id: int) -> list[Task]:
    """Open tasks whose subject is this person, in the actor's jurisdiction."""
    if not actor.can("task.view"):
        return []
    stmt = select(Task).where(Task.subject_type == "person", Task.subject_id == person_id, Task.status == "open")
    stmt = scope.visible(stmt, actor, Task).order_by(Task.due_at.asc().nulls_last(), Task.id).limit(50)
    return list(session.execute(stmt).scalars())


@pages.get("/persons")
def persons_page(
    request: Request,
    session: DbSession,
    actor: CanViewPersons,
    q: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    q = q.strip()
    after = parse_cursor(cursor)
    next_cursor = None
    # an empty search lists everyone in the jurisdiction, a page at a time
    found = list(people_service.search_persons(session, actor, q=q, limit=PAGE_SIZE + 1, after_id=after))
    if len(found) > PAGE_SIZE:
        next_cursor = str(found[PAGE_SIZE - 1].id)
    persons = [person_row(p) for p in found[:PAGE_SIZE]]
    return render(request, "persons.html", actor=actor, q=q, persons=persons, searched=True,
                  next_cursor=next_cursor, after=after, sex_label=sex_labeler(request))


@pages.get("/persons/{person_id}")
def person_page(request: Request, person_id: RowId, session: DbSession, actor: CanViewPersons) -> Response:
    person = people_service.get_person(session, actor, person_id)  # audits person.view
    view = person_row(person)
    unit = session.get(Unit, person.unit_id) if person.unit_id is not None else None
    unit_ancestors = jurisdictions_service.ancestors(session, unit) if unit is not None else []
    # only the employer's name is shown: no reason to hide it when the employer lies in another area
    employer = session.get(Place, person.employer_id) if person.employer_id is not None else None
    tasks = task_views(session, actor, open_tasks_about(session, actor, person.id), request_locale(request))
    return render(request, "person.html", actor=actor, person=view, age=view.get("age"), unit=unit,
                  unit_ancestors=unit_ancestors, employer=employer, tasks=tasks,
                  can_unmask=actor.can("person.unmask"), sex_label=sex_labeler(request),
                  sections=person_sections_for(actor, person.id))


@pages.post("/persons/{person_id}/unmask")
def unmask_fragment(
    request: Request,
    person_id: RowId,
    session: DbSession,
    actor: CanUnmask,
    field: Annotated[str, Query(pattern="^(id_number|phone)$")],
) -> Response:
    """HTMX: the full value, swapped in place of the masked one (audited person.unmask by the service)."""
    value = people_service.unmask(session, actor, person_id, field=field)
    return render(request, "_unmasked.html", actor=actor, field=field, value=value or "")
