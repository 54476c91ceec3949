"""Testing over HTTP: JSON under /api/v1 (results, samples, tubes, rosters, headcounts, coverage,
compliance, turnaround) and pages (the sampler's phone page, the citizen's own page, compliance,
coverage, turnaround). Thin: parse, call the service, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import client_ip, requires
from fangkong.kernel.errors import DomainError
from fangkong.kernel.idempotency import IdempotencyKey, answer_once
from fangkong.kernel.messages import label_of, translate
from fangkong.kernel.people import service as people_service
from fangkong.kernel.places import service as places_service
from fangkong.kernel.policy.labels import group_term
from fangkong.kernel.web.deps import DbSession, RowId, parse_cursor
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.ratelimit import public_limit
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render, request_locale
from fangkong.testing import exports as _exports  # noqa: F401 (registers the export kinds)
from fangkong.testing import service
from fangkong.testing.models import RULE_GROUP
from fangkong.testing.schemas import (
    ComplianceOut,
    CompliancePage,
    CoverageOut,
    CoverageRowOut,
    HeadcountIn,
    HoursIn,
    ItemOut,
    ReportOut,
    ResultsIn,
    RosterIn,
    SamplesIn,
    TubeIn,
    TubeOut,
    TubeSampleIn,
)
from fangkong.testing.service import common

api = APIRouter(tags=["testing"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanSample = Annotated[Actor, Depends(requires("testing.sample"))]
CanResult = Annotated[Actor, Depends(requires("testing.result"))]
CanEnrol = Annotated[Actor, Depends(requires("testing.enrol"))]
CanView = Annotated[Actor, Depends(requires("testing.view"))]
CanManagePlaces = Annotated[Actor, Depends(requires("place.manage"))]
UnitId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str, Query(max_length=24, description="`next_cursor` of the previous page")]
Status = Annotated[str | None, Query(pattern="^(compliant|grace|overdue|not_due)$")]
Group = Annotated[str | None, Query(max_length=48)]
Barcode = Annotated[str, Form(max_length=64)]

register_nav("sampling", N_("Sampling"), "/sampling", "testing.sample", 50, group="testing")
register_nav("compliance", N_("Test compliance"), "/compliance", "testing.view", 55, group="testing")
register_nav("coverage", N_("Enrolment coverage"), "/coverage", "testing.view", 56, group="testing")


def _report(session: Any, actor: Actor, rows: list[Any]) -> ReportOut:
    """The per-item answer; persons outside the caller's jurisdiction are not named (issue #11)."""
    from fangkong.kernel.tabular import summarise

    people_service.hide_foreign_persons(session, actor, rows)
    return ReportOut(counts=summarise(rows), items=[ItemOut.of(r) for r in rows])


def _tube_out(session: Any, actor: Actor, tube: Any) -> TubeOut:
    samples = service.tube_samples(session, actor, tube.id)
    return TubeOut(id=tube.id, barcode=tube.barcode, pool_size=tube.pool_size, samples=len(samples),
                   status=tube.status, result=tube.result, collected_at=clock.iso_local(tube.collected_at) or None,
                   reported_at=clock.iso_local(tube.reported_at) or None,
                   persons=[{"position": s.position, "person_id": p.id, "name": p.name,
                             "id_number_masked": p.id_number_masked, "phone_masked": p.phone_masked}
                            if p is not None else {"position": s.position, "person_id": None, "name": None,
                                                   "id_number_masked": None, "phone_masked": None}
                            for s, p in samples])


# ------------------------------------------------------------------------------------------------ API

@api.post("/results", response_model=ReportOut, summary="Receive lab results (one or a batch)")
def post_results(body: ResultsIn, session: DbSession, actor: CanResult,
                 idempotency_key: IdempotencyKey = None) -> Any:
    """Per-item report as for `fangkong import results`: unknown barcodes are rejected; a result that
    contradicts a stored one is a `conflict` kept as a new version; a repeat is a `duplicate`. A repeated
    `Idempotency-Key` returns the first answer unchanged."""
    items = [service.ResultItem(i + 1, it.values()) for i, it in enumerate(body.items or [])]
    return answer_once(session, actor, idempotency_key, operation="testing.results", body=body.model_dump(),
                       answer=lambda: _report(session, actor, service.ingest_results(session, actor, items=items, via="api")))


@api.post("/samples", response_model=ReportOut, summary="Receive sampling records (batch)")
def post_samples(body: SamplesIn, session: DbSession, actor: CanSample,
                 idempotency_key: IdempotencyKey = None) -> Any:
    """A person already in the tube is a `duplicate`; a repeated `Idempotency-Key` returns the first
    answer unchanged (the same key as `POST /tubes/{barcode}/samples` uses for one person)."""
    items = [service.SampleItem(i + 1, it.values()) for i, it in enumerate(body.items)]
    return answer_once(session, actor, idempotency_key, operation="testing.samples", body=body.model_dump(),
                       answer=lambda: _report(session, actor, service.ingest_samples(session, actor, items=items, via="api")))


@api.post("/tubes", response_model=TubeOut, summary="Open a tube (a barcode is one tube)")
def post_tube(body: TubeIn, session: DbSession, actor: CanSample) -> TubeOut:
    tube, _ = service.open_tube(session, actor, barcode=body.tube_barcode, pool_size=body.pool_size,
                                sampling_point_id=body.sampling_point_id, via="api")
    return _tube_out(session, actor, tube)


@api.get("/tubes/{barcode}", response_model=TubeOut, summary="One tube with its samples")
def get_tube(barcode: str, session: DbSession, actor: CanView) -> TubeOut:
    return _tube_out(session, actor, service.get_tube(session, actor, barcode[:64]))


@api.post("/tubes/{barcode}/samples", response_model=TubeOut, summary="Put one person into a tube")
def post_tube_sample(barcode: str, body: TubeSampleIn, session: DbSession, actor: CanSample,
                     idempotency_key: IdempotencyKey = None) -> Any:
    """A repeated `Idempotency-Key` returns the first answer unchanged (a retry after a lost answer)."""
    def answer() -> TubeOut:
        tube, _ = service.add_sample(session, actor, barcode=barcode[:64], person=body.person, name=body.name)
        return _tube_out(session, actor, tube)

    return answer_once(session, actor, idempotency_key, operation="testing.tube_sample",
                       body={"barcode": barcode[:64], **body.model_dump()}, answer=answer)


@api.post("/tubes/{barcode}/close", response_model=TubeOut, summary="Close a tube before it is full")
def post_tube_close(barcode: str, session: DbSession, actor: CanSample) -> TubeOut:
    return _tube_out(session, actor, service.close_tube(session, actor, barcode=barcode[:64]))


@api.post("/groups/{group}/members", response_model=ReportOut, summary="Enrol an employer's roster")
def post_roster(group: str, body: RosterIn, session: DbSession, actor: CanEnrol) -> ReportOut:
    items = [service.RosterItem(i + 1, it.name, it.id_number, it.phone) for i, it in enumerate(body.items)]
    return _report(session, actor, service.enrol_roster(session, actor, items=items, group_code=group[:48],
                                        employer_ref=body.employer, via="api"))


@api.put("/employers/{employer_id}/headcounts/{group}", summary="Declare an employer's headcount in a group")
def put_headcount(employer_id: RowId, group: str, body: HeadcountIn, session: DbSession,
                  actor: CanEnrol) -> dict[str, Any]:
    row = service.declare_headcount(session, actor, employer_id=employer_id, group_code=group[:48],
                                    declared=body.declared)
    return {"employer_id": row.employer_id, "group": row.group_code, "declared": row.declared,
            "declared_at": clock.iso_local(row.declared_at)}


@api.put("/sampling-points/{place_id}/hours", summary="Set a sampling point's opening hours")
def put_hours(place_id: RowId, body: HoursIn, session: DbSession, actor: CanManagePlaces) -> dict[str, Any]:
    row = service.set_hours(session, actor, place_id=place_id, opens=body.opens, closes=body.closes,
                            days=body.days, note=body.note)
    return {"place_id": row.place_id, "opens": row.opens, "closes": row.closes, "days": row.days}


@api.get("/coverage", response_model=CoverageOut, summary="Enrolment coverage (应纳尽纳) with the gaps")
def get_coverage(session: DbSession, actor: CanView, unit_id: UnitId = None, group: Group = None) -> CoverageOut:
    rep = service.coverage(session, actor, unit_id=unit_id, group_code=group)

    def out(r: Any) -> CoverageRowOut:
        return CoverageRowOut(employer_id=r.employer_id, employer_code=r.employer_code,
                              employer_name=r.employer_name, unit_id=r.unit_id, unit_name=r.unit_name,
                              group=r.group_code, declared=r.declared, enrolled=r.enrolled, gap=r.gap,
                              problem=r.problem)

    return CoverageOut(totals=rep.totals, rows=[out(r) for r in rep.rows], gaps=[out(r) for r in rep.gaps],
                       by_group=rep.by_group, by_unit=rep.by_unit)


@api.get("/compliance", response_model=CompliancePage, summary="Compliance (应检尽检) per member")
def get_compliance(session: DbSession, actor: CanView, unit_id: UnitId = None, employer_id: UnitId = None,
                   group: Group = None, status: Status = None, limit: Limit = 50, cursor: Cursor = "") -> CompliancePage:
    rows = service.list_compliance(session, actor, unit_id=unit_id, employer_id=employer_id, group_code=group,
                                   status=status, limit=limit + 1, after_id=parse_cursor(cursor))
    next_cursor = str(rows[limit - 1].member_id) if len(rows) > limit else None
    return CompliancePage(items=[ComplianceOut.of(r) for r in rows[:limit]], next_cursor=next_cursor)


@api.get("/compliance/summary", summary="Compliance counts per child unit")
def get_compliance_summary(session: DbSession, actor: CanView, unit_id: UnitId = None,
                           group: Group = None) -> list[dict[str, Any]]:
    return service.summary(session, actor, unit_id=unit_id, group_code=group)


@api.get("/turnaround", summary="Sampling → result turnaround per lab and sampling point")
def get_turnaround(session: DbSession, actor: CanView,
                   days: Annotated[int, Query(ge=1, le=366)] = 7) -> dict[str, Any]:
    return service.turnaround(session, actor, since=clock.now() - dt.timedelta(days=days))


# ---------------------------------------------------------------------------------------------- pages

def _pool_choices(session: Any) -> list[int]:
    p = common.pack(session)
    sizes = sorted({s.size for s in p.pooling.values()} | {common.default_pool_size(p)}, reverse=True)
    return [s for s in sizes if s > 1]


def _group_namer(request: Request, p: Any) -> Any:
    """A key group's name in the page's language (the pack's `name_zh` / `name_en`), never its code."""
    locale = request_locale(request)
    return lambda code: translate(label_of("key_group", code) if code == RULE_GROUP else group_term(p, code), locale)


@pages.get("/sampling")
def sampling_page(request: Request, session: DbSession, actor: CanSample,
                  point: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    points = places_service.list_places(session, actor, kind="sampling_point", limit=200) if actor.can(
        "place.view") else []
    return render(request, "testing/sampling.html", actor=actor, points=points, point=point,
                  pool_sizes=_pool_choices(session), default_size=common.default_pool_size(common.pack(session)),
                  error=None, barcode="", due=_due_today(session, actor))


def _due_today(session: Any, actor: Actor) -> list[Any]:
    """Today's test days of measures in the sampler's area (control's due tests), not yet sampled first."""
    if not actor.can("person.view"):
        return []
    now = clock.now()
    rows = control_service.due_tests(session, actor, on=now.astimezone(clock.tz()).date(), at=now, limit=200)
    return sorted(rows, key=lambda v: (v.state == "done", v.place_kind, v.site_name or "", v.id))


@pages.post("/sampling/tubes")
def sampling_open(request: Request, session: DbSession, actor: CanSample, barcode: Barcode,
                  mode: Annotated[str, Form(max_length=8)] = "pooled",
                  pool_size: Annotated[int, Form(ge=1, le=50)] = 10,
                  point: Annotated[str, Form(max_length=12)] = "") -> Response:
    point_id = int(point) if point.isascii() and point.isdigit() else None
    try:
        tube, _ = service.open_tube(session, actor, barcode=barcode, pool_size=1 if mode == "single" else pool_size,
                                    sampling_point_id=point_id)
    except DomainError as exc:
        session.rollback()
        points = places_service.list_places(session, actor, kind="sampling_point", limit=200) if actor.can(
            "place.view") else []
        return render(request, "testing/sampling.html", actor=actor, points=points, point=point_id,
                      pool_sizes=_pool_choices(session), default_size=pool_size, error=exc, barcode=barcode,
                      status_code=exc.status)
    return RedirectResponse(f"/sampling/tubes/{quote(tube.barcode)}", status_code=303)


def _tube_page(request: Request, session: Any, actor: Actor, barcode: str, *, error: DomainError | None = None,
               added: int | None = None) -> Response:
    tube = service.get_tube(session, actor, barcode)
    samples = service.tube_samples(session, actor, tube.id)
    return render(request, "testing/tube.html", actor=actor, tube=tube, samples=samples, error=error,
                  added=added, status_code=error.status if error else 200)


@pages.get("/sampling/tubes/{barcode}")
def tube_page(request: Request, barcode: str, session: DbSession, actor: CanSample,
              added: Annotated[int | None, Query(ge=1, le=50)] = None) -> Response:
    return _tube_page(request, session, actor, barcode[:64], added=added)


@pages.post("/sampling/tubes/{barcode}/samples")
def tube_add(request: Request, barcode: str, session: DbSession, actor: CanSample,
             person: Annotated[str, Form(max_length=64)] = "",
             name: Annotated[str, Form(max_length=64)] = "") -> Response:
    try:
        tube, sample = service.add_sample(session, actor, barcode=barcode[:64], person=person, name=name or None)
    except DomainError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _tube_page(request, session, actor, barcode[:64], error=exc)
    return RedirectResponse(f"/sampling/tubes/{quote(tube.barcode)}?added={sample.position}", status_code=303)


@pages.post("/sampling/tubes/{barcode}/close")
def tube_close(request: Request, barcode: str, session: DbSession, actor: CanSample) -> Response:
    try:
        tube = service.close_tube(session, actor, barcode=barcode[:64])
    except DomainError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _tube_page(request, session, actor, barcode[:64], error=exc)
    return RedirectResponse(f"/sampling/tubes/{quote(tube.barcode)}", status_code=303)


@pages.get("/my-test")
def citizen_page(request: Request, session: DbSession) -> Response:
    return render(request, "testing/my_test.html", view=None, checked=False)


@pages.post("/my-test", dependencies=[public_limit()])
def citizen_check(request: Request, session: DbSession, id_number: Annotated[str, Form(max_length=32)] = "",
                  phone: Annotated[str, Form(max_length=32)] = "") -> Response:
    view = service.citizen_status(session, id_number=id_number, phone=phone, ip=client_ip(request))
    return render(request, "testing/my_test.html", view=view, checked=True,
                  status_code=200 if view is not None else 404)


@pages.get("/compliance")
def compliance_page(request: Request, session: DbSession, actor: CanView, unit_id: UnitId = None,
                    employer_id: UnitId = None, group: Group = None, status: Status = None,
                    cursor: Cursor = "") -> Response:
    p = common.pack(session)
    group = group or None
    summary = service.summary(session, actor, unit_id=unit_id, group_code=group)
    rows = service.list_compliance(session, actor, unit_id=unit_id, employer_id=employer_id, group_code=group,
                                   status=status, limit=51, after_id=parse_cursor(cursor))
    next_cursor = str(rows[49].member_id) if len(rows) > 50 else None
    query = "&".join(f"{k}={quote(str(v))}" for k, v in
                     [("unit_id", unit_id), ("employer_id", employer_id), ("group", group), ("status", status)] if v)
    return render(request, "testing/compliance.html", actor=actor, summary=summary, rows=rows[:50],
                  next_cursor=next_cursor, groups=p.key_groups, group=group, status=status, unit_id=unit_id,
                  employer_id=employer_id, query=query, group_name=_group_namer(request, p))


@pages.get("/compliance/export.xlsx", dependencies=[Depends(requires("data.export"))])
def compliance_export(request: Request, session: DbSession, actor: CanView) -> Response:
    """The compliance list for people (the page's 导出; kept at its first address): `/export/compliance.xlsx`.
    Declares the export kind's second permission (data.export) so that the permission table shows it."""
    from fangkong.kernel import export

    file = export.download(session, actor, "compliance", fmt="xlsx", params=dict(request.query_params))
    return FileResponse(file.path, filename=file.filename, background=BackgroundTask(file.cleanup),
                        media_type=file.media_type)


@pages.get("/coverage")
def coverage_page(request: Request, session: DbSession, actor: CanView, unit_id: UnitId = None,
                  group: Group = None) -> Response:
    rep = service.coverage(session, actor, unit_id=unit_id, group_code=group or None)
    p = common.pack(session)
    return render(request, "testing/coverage.html", actor=actor, report=rep, groups=p.key_groups, group=group,
                  unit_id=unit_id, group_name=_group_namer(request, p))


@pages.get("/turnaround")
def turnaround_page(request: Request, session: DbSession, actor: CanView,
                    days: Annotated[int, Query(ge=1, le=366)] = 7) -> Response:
    data = service.turnaround(session, actor, since=clock.now() - dt.timedelta(days=days))
    return render(request, "testing/turnaround.html", actor=actor, data=data, days=days)
