"""Control over HTTP: a person's control status and due tests (JSON and the person page's section),
and the list of due tests samplers work from (应采样名单). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fangkong.control import service
from fangkong.control.schemas import (
    CheckInsIn,
    ControlStatusOut,
    DueStepOut,
    DueTestOut,
    DueTestsPage,
    MeasureAsOfOut,
    MeasuresPage,
    PersonControlOut,
    ReleaseIn,
    ReleaseOut,
    ReleasesIn,
    ReportItemOut,
    ReportOut,
)
from fangkong.control.service import checkins as checkins_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.idempotency import IdempotencyKey, answer_once
from fangkong.kernel.people import service as people_service
from fangkong.kernel.places import service as places_service
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.nav import N_, register_nav, register_person_section
from fangkong.kernel.web.ratelimit import public_limit
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render

api = APIRouter(tags=["control"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

# file imports first: `/checkins/import` must match before `/checkins/{measure_id}` (control/routes_imports.py)
from fangkong.control import routes_imports as _imports_routes  # noqa: E402

api.include_router(_imports_routes.api)
pages.include_router(_imports_routes.pages)

CanView = Annotated[Actor, Depends(requires("person.view"))]
CanCheckIn = Annotated[Actor, Depends(requires("measure.checkin"))]
CanRelease = Annotated[Actor, Depends(requires("measure.start"))]
CanManageNotices = Annotated[Actor, Depends(requires("policy.manage"))]
Kind = Annotated[str, Path(pattern="^(central_notice|home_notice|release_notice|transfer_slip)$")]
Day = Annotated[dt.date | None, Query(description="a local date: the due tests whose window holds it")]
State = Annotated[str | None, Query(pattern="^(done|cancelled|upcoming|due|missed)$")]
Place = Annotated[str | None, Query(pattern="^(home|site)$")]
Id = Annotated[int | None, Query(ge=1, le=2_147_483_647)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str, Query(max_length=24, description="`next_cursor` of the previous page")]
At = Annotated[clock.LocalTime | None, Query(description="as of this moment (default now)")]
PAGE_SIZE = 200

register_nav("due_tests", N_("Due tests"), "/due-tests", "person.view", 52, group="testing")
register_nav("checkins", N_("Check-ins"), "/checkins", "measure.checkin", 53, group="control")
register_nav("releases", N_("Release from measures"), "/releases", "measure.start", 54, group="control")
register_nav("notice_templates", N_("Notice templates"), "/notice-templates", "policy.manage", 95, group="system")
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


@api.post("/checkins", response_model=ReportOut, summary="Receive check-ins (健康打卡: one or a batch)")
def post_checkins(body: CheckInsIn, session: DbSession, actor: CanCheckIn,
                  idempotency_key: IdempotencyKey = None) -> Any:
    """Per-item report as for `fangkong import checkins`: refused when no measure with check-ins is in
    force at `checked_at` (released or converted persons say so), or the temperature is outside 34–43 °C;
    the same person and `checked_at` again is a `duplicate`. Fever (≥ 37.3 °C) or a listed symptom
    makes a task for the site doctor and a sampling task today."""
    from fangkong.kernel.tabular import summarise

    items = [checkins_service.CheckInItem(i + 1, it.values()) for i, it in enumerate(body.items or [])]

    def answer() -> ReportOut:
        rows = checkins_service.record_checkins(session, actor, items=items, via="api", user_by=actor.username)
        people_service.hide_foreign_persons(session, actor, rows)
        return ReportOut(counts=summarise(rows), items=[ReportItemOut(
            row=r.row, status=r.status, person_id=r.person_id, issues=list(r.issues),
            extra={k: v for k, v in r.extra.items() if not k.startswith("_") and v is not None}) for r in rows])

    return answer_once(session, actor, idempotency_key, operation="control.checkins", body=body.model_dump(),
                       answer=answer)


def _released_out(session: Any, done: Any) -> list[ReleaseOut]:
    events = service.events_of(session, [m.id for m in done.measures])
    numbers = {s.measure_id: s.notice_no for s in done.steps}
    return [ReleaseOut(person_id=m.person_id, measure_id=m.id, status=m.status,
                       released_at=clock.iso_local(m.released_at),
                       override=any(e.action == "released" and e.override for e in events.get(m.id, [])),
                       notice_no=numbers.get(m.id, "")) for m in done.measures]


@api.get("/releases/due", response_model=list[DueStepOut],
         summary="The steps due as of a moment (stepdown or release by rule)")
def get_due_steps(session: DbSession, actor: CanRelease, site_id: Id = None, as_of: At = None) -> list[DueStepOut]:
    """What `fangkong control release --due [--site S] [--as-of T]` lists: each stepdown (central →
    home health monitoring) and release the rules allow at `as_of`, nothing applied."""
    from sqlalchemy import select

    from fangkong.kernel.people.models import Person

    steps = service.due_steps(session, actor, at=as_of or clock.now(), site_id=site_id)
    ids = sorted({s.person_id for s in steps})
    names: dict[int, str | None] = {}
    for i in range(0, len(ids), 10_000):  # SQLite binds at most 32,766 parameters per statement
        names.update((pid, name) for pid, name in session.execute(
            select(Person.id, Person.name).where(Person.id.in_(ids[i:i + 10_000]))))
    return [DueStepOut(person_id=s.person_id, name=names.get(s.person_id), measure_id=s.measure_id,
                       action=s.action) for s in steps]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return clock.iso_local(value) if isinstance(value, dt.datetime) else value.isoformat()


@api.get("/measures", response_model=MeasuresPage, summary="Measures as of a moment (管控名单)")
def get_measures(session: DbSession, actor: CanView, at: At = None, limit: Limit = PAGE_SIZE,
                 cursor: Cursor = "") -> MeasuresPage:
    """The measures of `fangkong export measures [--at T]`, by id, a page at a time: started by `at`,
    as they stood then (later events and results ignored)."""
    from fangkong.control.exports import measure_rows

    when = at or clock.now()
    rows = []
    for r in measure_rows(session, actor, at=when, after_id=parse_cursor(cursor)):
        rows.append(MeasureAsOfOut(**{k: (_iso(v) if k.endswith(("_on", "_at")) else v)
                                      for k, v in r.items()}))
        if len(rows) > limit:
            break
    nxt = str(rows[limit - 1].measure_id) if len(rows) > limit else None
    return MeasuresPage(items=rows[:limit], at=clock.iso_local(when), next_cursor=nxt)


@api.post("/measures/{measure_id}/release", response_model=ReleaseOut,
          summary="Release one person (解除管控), printing the release notice")
def post_release(measure_id: RowId, body: ReleaseIn, session: DbSession, actor: CanRelease) -> ReleaseOut:
    """By rule (day N reached, every test day matched by a negative whose result is in); otherwise 409
    with `reason` `measure.tests_missing` (params: the days), `measure.before_day_n`,
    `measure.not_releasable` or `measure.converted` — unless a doctor (`case.manage`) gives
    `override_reason`. A measure not active is 409 `measure.not_in_force`."""
    from fangkong.control.service import releases

    done = releases.release_persons(session, actor, measure_ids=[measure_id], override_reason=body.override_reason,
                                    notices=body.notice)
    return _released_out(session, done)[0]


@api.post("/releases", response_model=list[ReleaseOut], summary="Release a cohort (all or nothing)")
def post_releases(body: ReleasesIn, session: DbSession, actor: CanRelease) -> list[ReleaseOut]:
    """Every measure of `measure_ids` as `POST /measures/{id}/release`; the first refusal refuses the
    whole cohort (nothing is released). The notices are numbered in the order given."""
    from fangkong.control.service import releases

    done = releases.release_persons(session, actor, measure_ids=body.measure_ids,
                                    override_reason=body.override_reason, notices=body.notice)
    return _released_out(session, done)


# ---------------------------------------------------------------------------------------------- pages

@pages.get("/releases")
def releases_page(request: Request, session: DbSession, actor: CanRelease, site_id: Id = None,
                  days: Annotated[int, Query(ge=1, le=30)] = 7) -> Response:
    """Due steps now (解除隔离): who may step down to home monitoring or be released by rule; tick them and
    apply, and the release notices print as one PDF. Below, the measures whose day N falls in the next
    `days` days (to plan rooms and notices)."""
    from fangkong.control.service import releases

    now = clock.now()
    steps = service.due_steps(session, actor, at=now, site_id=site_id)
    upcoming = releases.upcoming(session, actor, at=now, days=days, site_id=site_id,
                                 skip={s.measure_id for s in steps})
    persons = releases.persons_of(session, [s.person_id for s in steps] + [m.person_id for m in upcoming])
    return render(request, "control/releases.html", actor=actor, steps=steps, persons=persons, now=now,
                  site_id=site_id, upcoming=upcoming, days=days)


@pages.post("/releases")
def releases_apply(request: Request, session: DbSession, actor: CanRelease,
                   measure_id: Annotated[list[int] | None, Form(max_length=500)] = None) -> Response:
    """Apply the due step of each ticked measure; when someone was released, answer with their
    notices (one PDF, to print), else back to the list."""
    from fastapi.responses import RedirectResponse

    from fangkong.control.service import releases

    done = releases.apply_steps(session, actor, measure_ids=[i for i in (measure_id or []) if 0 < i < 2**31])
    if not done.pdf:
        return RedirectResponse(f"/releases?applied={len(done.steps)}", status_code=303)
    name = f"release-notices-{clock.local_now():%Y%m%d-%H%M}.pdf"
    return Response(done.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


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


# ------------------------------------------------------------------------------------- check-ins

@pages.get("/checkins")
def checkins_page(request: Request, session: DbSession, actor: CanCheckIn, site_id: Id = None,
                  unit_id: Id = None) -> Response:
    """The staff check-in page (体温登记): one row per person under a measure in a check-in phase,
    one input per row (`36.5`, or `37.8 干咳`); Enter records it and moves to the next row."""
    now = clock.now()
    rows = checkins_service.roster(session, actor, at=now, site_id=site_id, unit_id=unit_id)
    sites = places_service.list_places(session, actor, kind="quarantine_site", limit=200) if actor.can(
        "place.view") else []
    return render(request, "control/checkins.html", actor=actor, rows=rows, sites=sites, site_id=site_id,
                  unit_id=unit_id, now=now, errors={})


@pages.post("/checkins/{measure_id}")
def checkin_row(request: Request, measure_id: RowId, session: DbSession, actor: CanCheckIn,
                entry: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Record one row's entry now (HTMX: the row comes back with the check-in, or with what is wrong)."""
    now = clock.now()
    row = checkins_service.roster_row(session, actor, measure_id, at=now)
    error = None
    if row is not None:
        temperature, symptoms = checkins_service.split_entry(entry)
        [rep] = checkins_service.record_checkins(session, actor, items=[checkins_service.CheckInItem(
            1, {"checked_at": now.isoformat(), "temperature": temperature, "symptoms": symptoms},
            person_id=row.person_id)], via="page", user_by=actor.username, measure_ids=[measure_id])
        error = list(rep.issues) or None
        row = checkins_service.roster_row(session, actor, measure_id, at=now)
    return render(request, "control/_checkin_row.html", actor=actor, r=row, error=error, entry=entry if error else "",
                  now=now)


@pages.get("/c/{link}")
def phone_checkin_page(request: Request, link: str, session: DbSession) -> Response:
    """The page a check-in SMS links to (手机健康打卡): no sign-in; the signed link names the measure."""
    return _phone_page(request, session, link)


@pages.post("/c/{link}", dependencies=[public_limit()])
def phone_checkin(request: Request, link: str, session: DbSession,
                  temperature: Annotated[str, Form(max_length=20)] = "",
                  symptoms: Annotated[list[str] | None, Form(max_length=20)] = None) -> Response:
    """Record the person's own check-in now (by `self`); the page shows it, or what is wrong."""
    return _phone_page(request, session, link, temperature=temperature, symptoms=symptoms or [], submit=True)


def _phone_page(request: Request, session: Any, token: str, *, temperature: str = "", symptoms: list[str] | None = None,
                submit: bool = False) -> Response:
    from fangkong.kernel.policy import service as policy_service

    now = clock.now()
    try:
        measure = checkins_service.measure_for_link(session, token, at=now)
    except checkins_service.LinkRefused as exc:
        return render(request, "control/phone_refused.html", reason=checkins_service.LINK_REFUSED[exc.reason](),
                      status_code=403 if exc.reason in ("invalid", "expired") else 409)
    error = done = None
    if submit:
        [rep] = checkins_service.record_checkins(
            session, checkins_service.link_actor(request.client.host if request.client else None),
            items=[checkins_service.CheckInItem(1, {"checked_at": now.isoformat(), "temperature": temperature,
                                                    "symptoms": "、".join(s[:40] for s in (symptoms or [])[:20]),
                                                    "by": "self"}, person_id=measure.person_id)],
            via="phone", measure_ids=[measure.id])
        if rep.status == "rejected":
            error = list(rep.issues)
        else:
            done = rep
    row = next(iter(checkins_service.roster(session, checkins_service.link_actor(), at=now, measure_id=measure.id)),
               None)
    pack = policy_service.active_pack(session)
    return render(request, "control/phone_checkin.html", token=token, name=checkins_service.masked_name(session, measure.person_id),
                  row=row, error=error, done=done, temperature=temperature if error else "", now=now,
                  symptoms=pack.control.symptoms, chosen=set(symptoms or []) if error else set(),
                  status_code=422 if error else 200)


# --------------------------------------------------------------------------------- notice templates

@pages.get("/notice-templates")
def notice_templates_page(request: Request, session: DbSession, actor: CanManageNotices) -> Response:
    """The notice templates (告知书模板): each kind's latest version, to edit and preview."""
    from fangkong.control.service import notices as notices_service

    rows = [(k, title, notices_service.template_of(session, k)) for k, (title, _p) in notices_service.KINDS.items()]
    return render(request, "control/notice_templates.html", actor=actor, rows=rows)


@pages.get("/notice-templates/{notice_kind}")
def notice_template_page(request: Request, notice_kind: Kind, session: DbSession, actor: CanManageNotices) -> Response:
    """Edit a kind's template (Jinja2 HTML); saving makes a new version."""
    from fangkong.control.service import notices as notices_service

    versions = notices_service.templates(session, notice_kind)
    return render(request, "control/notice_template.html", actor=actor, kind=notice_kind, title=notices_service.KINDS[notice_kind][0],
                  body=versions[0].body, versions=versions, errors={}, saved=request.query_params.get("saved"))


@pages.post("/notice-templates/{notice_kind}")
def save_notice_template(request: Request, notice_kind: Kind, session: DbSession, actor: CanManageNotices,
                         body: Annotated[str, Form(max_length=50_000)] = "") -> Response:
    from fastapi.responses import RedirectResponse

    from fangkong.control.service import notices as notices_service
    from fangkong.kernel.errors import ValidationFailed

    try:
        row = notices_service.save_template(session, actor, kind=notice_kind, body=body)
    except ValidationFailed as exc:
        versions = notices_service.templates(session, notice_kind)
        return render(request, "control/notice_template.html", actor=actor, kind=notice_kind,
                      title=notices_service.KINDS[notice_kind][0], body=body, versions=versions,
                      errors={e.field: e.message for e in exc.fields}, saved=None, status_code=422)
    return RedirectResponse(f"/notice-templates/{notice_kind}?saved={row.version}", status_code=303)


@pages.post("/notice-templates/{notice_kind}/preview")
def preview_notice_template(request: Request, notice_kind: Kind, session: DbSession, actor: CanManageNotices,
                            body: Annotated[str, Form(max_length=50_000)] = "") -> Response:
    """The draft rendered with made-up fields, as the printed page looks (before saving)."""
    from fastapi.responses import HTMLResponse

    from fangkong.control.service import notices as notices_service
    from fangkong.kernel.errors import ValidationFailed

    try:
        return HTMLResponse(notices_service.preview(session, actor, kind=notice_kind, body=body or None))
    except ValidationFailed as exc:
        versions = notices_service.templates(session, notice_kind)
        return render(request, "control/notice_template.html", actor=actor, kind=notice_kind,
                      title=notices_service.KINDS[notice_kind][0], body=body, versions=versions,
                      errors={e.field: e.message for e in exc.fields}, saved=None, status_code=422)
# quarantine sites, rooms, capacity and room assignment (control/sites/routes.py)
from fangkong.control.sites import routes as _sites_routes  # noqa: E402

api.include_router(_sites_routes.api)
pages.include_router(_sites_routes.pages)
