"""Jurisdiction browser pages (属地浏览): breadcrumb, children with counts, lazy expansion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks.models import Task
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.routes_home import level_namer
from fangkong.kernel.web.templating import render

pages = APIRouter(include_in_schema=False)

CanViewUnits = Annotated[Actor, Depends(requires("unit.view"))]


def unit_counts(session: Session, path: str) -> dict[str, int]:
    """Persons and open tasks in the subtree at `path`: two index range counts (cheap at any level).

    Counted here rather than in a service because it is a display aggregate over two areas' rows; the
    subtree predicate is still the one from `kernel.scope`.
    """
    persons = session.execute(
        scope.within(select(func.count()).select_from(Person), path, Person)
    ).scalar_one()
    open_tasks = session.execute(
        scope.within(select(func.count()).select_from(Task).where(Task.status == "open"), path, Task)
    ).scalar_one()
    return {"persons": int(persons), "open_tasks": int(open_tasks)}


def _children_context(session: Session, actor: Actor, unit_id: int) -> dict[str, Any]:
    kids = list(jurisdictions_service.children(session, actor, unit_id))
    return {"children": kids, "counts": {c.id: unit_counts(session, c.path) for c in kids}}


@pages.get("/units")
def units_root(actor: CanViewUnits) -> Response:
    """The browser starts at the actor's own unit."""
    if actor.unit_id is None:  # the system actor never browses; be explicit anyway
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/units/{actor.unit_id}", status_code=303)


@pages.get("/units/{unit_id}")
def unit_page(request: Request, unit_id: RowId, session: DbSession, actor: CanViewUnits) -> Response:
    unit = scope.visible_unit(session, actor, unit_id)
    ancestors = list(jurisdictions_service.ancestors(session, unit))
    return render(request, "units.html", actor=actor, unit=unit, ancestors=ancestors,
                  own_counts=unit_counts(session, unit.path), level_name=level_namer(request),
                  **_children_context(session, actor, unit.id))


@pages.get("/units/{unit_id}/children")
def unit_children(request: Request, unit_id: RowId, session: DbSession, actor: CanViewUnits) -> Response:
    """HTMX fragment: the children of one unit, for lazy expansion in the tree."""
    unit = scope.visible_unit(session, actor, unit_id)
    return render(request, "_unit_children.html", actor=actor, level_name=level_namer(request),
                  **_children_context(session, actor, unit.id))
