"""Control over HTTP: a person's control status and due tests (JSON and the person page's section),
and the list of due tests samplers work from (应采样名单). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fangkong.control import service
from fangkong.control.schemas import ControlStatusOut, DueTestOut, DueTestsPage, PersonControlOut
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.places import service as places_service
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.nav import N_, register_nav, register_person_section
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render

api = APIRouter(tags=["control"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("person.view"))]
Day = Annotated[dt.date | None, Query(description="a local date: the due tests whose window holds it")]
State = Annotated[str | None, Query(pattern="^(done|cancelled|upcoming|due|missed)$")]
Place = Annotated[str | None, Query(pattern="^(home|site)$")]
Id = Annotated[int | None, Query(ge=1, le=2_147_483_647)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str, Query(max_length=24, description="`next_cursor` of the previous page")]
PAGE_SIZE = 200

register_nav("due_tests", N_("Due tests"), "/due-tests", "person.view", 52)
register_person_section("control", "/persons/{person_id}/control", "person.view", 5)


def _due_out(v: service.DueTestView) -> DueTestOut:
    return DueTestOut(**v.as_dict())


# ------------------------------------------------------------------------------------------------ API

@api.get("/persons/{person_id}/control", response_model=PersonControlOut,
         summary="A person's control status now and the test days of their measures")
def get_person_control(person_id: RowId, session: DbSession, actor: CanView) -> PersonControlOut:
    pc = service.control_of_person(session, actor, person_id, at=clock.now())
    return PersonControlOut(status=ControlStatusOut.of(pc.status), due_tests=[_due_out(v) for v in pc.due_tests])


@api.get("/due-tests", response_model=DueTestsPage, summary="Due tests of measures (应采样名单)")
def get_due_tests(session: DbSession, actor: CanView, on: Day = None, state: State = None, unit_id: Id = None,
                  site_id: Id = None, place_kind: Place = None, person_id: Id = None, limit: Limit = PAGE_SIZE,
                  cursor: Cursor = "") -> DueTestsPage:
    """Every test day of every measure in the caller's jurisdiction, by id; `on` a day, `state`
    (done, cancelled, upcoming, due, missed), a site, home or site tests, one person."""
    rows = service.due_tests(session, actor, on=on, state=state, unit_id=unit_id, site_id=site_id,
                             place_kind=place_kind, person_id=person_id, limit=limit + 1,
                             after_id=parse_cursor(cursor), at=clock.now())
    nxt = str(rows[limit - 1].id) if len(rows) > limit else None
    return DueTestsPage(items=[_due_out(v) for v in rows[:limit]], next_cursor=nxt)


# ---------------------------------------------------------------------------------------------- pages

@pages.get("/persons/{person_id}/control")
def person_control(request: Request, person_id: RowId, session: DbSession, actor: CanView) -> Response:
    """The person page's control section (HTMX), or the same as a page."""
    is_fragment = request.headers.get("HX-Request") == "true"
    pc = service.control_of_person(session, actor, person_id, at=clock.now(), audit_view=not is_fragment)
    template = "control/_person_control.html" if is_fragment else "control/person_control.html"
    return render(request, template, actor=actor, person_id=person_id, pc=pc, status=pc.status)


@pages.get("/due-tests")
def due_tests_page(request: Request, session: DbSession, actor: CanView, on: Day = None, state: State = None,
                   place_kind: Place = None, site_id: Id = None, cursor: Cursor = "") -> Response:
    """Who must be sampled on a day (default today) under a measure: at home (door to door) or at a
    quarantine site, with what is done already."""
    now = clock.now()
    day = on or now.astimezone(clock.tz()).date()
    rows = service.due_tests(session, actor, on=day, state=state, site_id=site_id, place_kind=place_kind,
                             limit=PAGE_SIZE + 1, after_id=parse_cursor(cursor), at=now)
    nxt = str(rows[PAGE_SIZE - 1].id) if len(rows) > PAGE_SIZE else None
    sites = places_service.list_places(session, actor, kind="quarantine_site", limit=200) if actor.can(
        "place.view") else []
    return render(request, "control/due_tests.html", actor=actor, rows=rows[:PAGE_SIZE], day=day, state=state or "",
                  place_kind=place_kind or "", site_id=site_id, sites=sites, next_cursor=nxt,
                  states=service.STATES)


# quarantine sites, rooms, capacity and room assignment (control/sites/routes.py)
from fangkong.control.sites import routes as _sites_routes  # noqa: E402

api.include_router(_sites_routes.api)
pages.include_router(_sites_routes.pages)
