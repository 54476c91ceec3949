"""Zones over HTTP: JSON under /api/v1 (list, preview, draw, detail with eligibility, lift, rounds and
their coverage) and pages (draw a zone with the unit tree and address search and a preview; a zone's
detail with the eligibility evidence and the lift action; a round's coverage; the grid worker's phone
list of doors still to knock). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import client_ip, requires
from fangkong.kernel.errors import DomainError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.people import service as people_service
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import HELP_KINDS
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.ratelimit import public_limit
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render
from fangkong.zones import service
from fangkong.zones.models import HelpRequest, Zone
from fangkong.zones.service import headcounts
from fangkong.zones.service import help as help_service

api = APIRouter(tags=["zones"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("zone.view"))]
CanManage = Annotated[Actor, Depends(requires("zone.manage"))]
CanRound = Annotated[Actor, Depends(requires("round.manage"))]
CanSeeTasks = Annotated[Actor, Depends(requires("task.view"))]
CanWork = Annotated[Actor, Depends(requires("task.work"))]

register_nav("zones", N_("Risk zones"), "/zones", "zone.view", 56, group="control")
register_nav("help", N_("Help requests"), "/help", "task.work", 57, group="control")

Codes = Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=2000)]
Texts = Annotated[list[Annotated[str, Field(max_length=255)]], Field(max_length=20000)]


class DrawIn(BaseModel):
    level: Annotated[str, Field(pattern="^(high|medium|low)$")] = "high"
    reason: Annotated[str, Field(max_length=500)] = ""
    units: Codes = []
    addresses: Texts = []
    starts_at: dt.datetime | None = None
    name: Annotated[str | None, Field(max_length=200)] = None


class PreviewIn(BaseModel):
    units: Codes = []
    addresses: Texts = []


class PreviewOut(BaseModel):
    addresses: int
    households: int
    residents: int
    issues: list[dict[str, str]]


class ZoneOut(BaseModel):
    zone_id: int
    name: str
    level: str
    status: str
    reason: str
    starts_at: str
    addresses: int
    households: int
    residents: int

    @classmethod
    def of(cls, z: Zone) -> ZoneOut:
        return cls(zone_id=z.id, name=z.name, level=z.level, status=z.status, reason=z.reason,
                   starts_at=clock.iso_local(z.starts_at), addresses=z.addresses, households=z.households,
                   residents=z.residents)


class EligibilityOut(BaseModel):
    level: str
    next_level: str
    eligible: bool
    day0: dt.date
    days_required: int
    last_infection_at: str | None
    qualifying_round: int | None
    eligible_on: dt.date | None
    waiting_for: str


class LiftIn(BaseModel):
    override: bool = False
    reason: Annotated[str, Field(max_length=500)] = ""


class RoundIn(BaseModel):
    zone_id: Annotated[int | None, Field(ge=1, le=2_147_483_647)] = None
    unit_code: Annotated[str | None, Field(max_length=32)] = None
    deadline_hours: Annotated[int | None, Field(ge=1, le=168)] = None


class CoverageOut(BaseModel):
    unit_code: str
    unit_name: str
    targets: int
    sampled: int
    resulted: int
    positive: int
    excluded: int
    missing: int
    #: persons declared at the grid's households beyond those registered there (not among `targets`)
    declared_extra: int = 0


def _elig_out(e: Any) -> EligibilityOut:
    return EligibilityOut(level=e.level, next_level=e.next_level, eligible=e.eligible, day0=e.day0,
                          days_required=e.days_required,
                          last_infection_at=clock.iso_local(e.last_infection_at) if e.last_infection_at else None,
                          qualifying_round=e.qualifying_round, eligible_on=e.eligible_on, waiting_for=e.waiting_for)


def _cov_out(r: service.CoverageRow) -> CoverageOut:
    return CoverageOut(unit_code=r.unit_code, unit_name=r.unit_name, targets=r.targets, sampled=r.sampled,
                       resulted=r.resulted, positive=r.positive, excluded=r.excluded, missing=r.missing,
                       declared_extra=r.declared_extra)


# ------------------------------------------------------------------------------------------------ API

@api.get("/zones", response_model=list[ZoneOut], summary="Risk zones (风险区域) in the caller's jurisdiction")
def get_zones(session: DbSession, actor: CanView) -> list[ZoneOut]:
    return [ZoneOut.of(z) for z in service.list_zones(session, actor)]


@api.post("/zones/preview", response_model=PreviewOut, summary="What a zone would cover, before drawing it")
def post_preview(body: PreviewIn, session: DbSession, actor: CanView) -> PreviewOut:
    p = service.preview_zone(session, actor, units=body.units, addresses=body.addresses)
    return PreviewOut(addresses=p.addresses, households=p.households, residents=p.residents,
                      issues=[{"field": f.field, "message": str(f.message)} for f in p.issues])


@api.post("/zones", response_model=ZoneOut, status_code=201, summary="Draw a zone and put its residents under measure")
def post_zone(body: DrawIn, session: DbSession, actor: CanManage) -> ZoneOut:
    r = service.draw_zone(session, actor, level=body.level, reason=body.reason, units=body.units,
                          addresses=body.addresses, starts_at=body.starts_at, name=body.name)
    return ZoneOut.of(r.zone)


@api.get("/zones/{zone_id}/eligibility", response_model=EligibilityOut, summary="A zone's downgrade eligibility")
def get_eligibility(zone_id: RowId, session: DbSession, actor: CanView) -> EligibilityOut:
    return _elig_out(service.eligibility_of(session, actor, zone_id, at=clock.now()))


@api.post("/zones/{zone_id}/lift", response_model=ZoneOut, summary="Move a zone down one level by the data")
def post_lift(zone_id: RowId, body: LiftIn, session: DbSession, actor: CanManage) -> ZoneOut:
    z, _e, _n = service.lift_zone(session, actor, zone_id=zone_id, override=body.override, reason=body.reason)
    return ZoneOut.of(z)


@api.post("/rounds", status_code=201, summary="Start an area-wide testing round (区域全员核酸)")
def post_round(body: RoundIn, session: DbSession, actor: CanRound) -> dict[str, int]:
    rnd = service.start_round(session, actor, zone_id=body.zone_id, unit_code=body.unit_code,
                              deadline_hours=body.deadline_hours)
    return {"round_id": rnd.id, "targets": rnd.targets}


@api.get("/rounds/{round_id}/coverage", response_model=list[CoverageOut], summary="A round's coverage per grid")
def get_coverage(round_id: RowId, session: DbSession, actor: CanView) -> list[CoverageOut]:
    return [_cov_out(r) for r in service.coverage(session, actor, round_id=round_id, at=clock.now())]


class HeadcountIn(BaseModel):
    #: a household of the gazetteer (its address text)
    address: Annotated[str, Field(min_length=1, max_length=255)]
    headcount: Annotated[int, Field(ge=0, le=headcounts.MAX_HEADCOUNT)]
    note: Annotated[str, Field(max_length=200)] = ""


@api.post("/declared-headcounts", summary="Declare how many persons live at a household (申报人数)")
def post_headcount(body: HeadcountIn, session: DbSession, actor: CanRound) -> dict[str, Any]:
    d = headcounts.declare_headcount(session, actor, address=body.address, headcount=body.headcount, note=body.note)
    return {"address_id": d.address_id, "headcount": d.headcount, "registered": d.registered, "extra": d.extra}


class ExclusionIn(BaseModel):
    person_id: Annotated[int, Field(ge=1, le=2_147_483_647)]
    reason: Annotated[str, Field(pattern="^(away|hospitalised|central_quarantine|infant|other)$")]
    #: the evidence (required for `away`)
    note: Annotated[str, Field(max_length=200)] = ""


@api.post("/rounds/{round_id}/exclusions", summary="Exclude a target from a round with a reason (and evidence)")
def post_exclusion(round_id: RowId, body: ExclusionIn, session: DbSession, actor: CanRound) -> dict[str, Any]:
    service.exclude(session, actor, round_id=round_id, person_id=body.person_id, reason=body.reason, note=body.note)
    return {"round_id": round_id, "person_id": body.person_id, "excluded": body.reason}


class HelpIn(BaseModel):
    person_id: Annotated[int, Field(ge=1, le=2_147_483_647)]
    kind: Annotated[str, Field(max_length=16)]
    detail: Annotated[str, Field(max_length=500)] = ""
    via: Annotated[str, Field(pattern="^(hotline|staff)$")] = "hotline"


class HelpOut(BaseModel):
    help_id: int
    person_id: int
    zone_id: int | None
    kind: str
    detail: str
    status: str
    due_at: str
    hospital: str | None
    task_id: int | None

    @classmethod
    def of(cls, r: HelpRequest) -> HelpOut:
        return cls(help_id=r.id, person_id=r.person_id, zone_id=r.zone_id, kind=r.kind, detail=r.detail,
                   status=r.status,
                   due_at=clock.iso_local(r.due_at), hospital=r.hospital, task_id=r.task_id)


@api.get("/help-requests", response_model=list[HelpOut], summary="Open help requests of sealed households")
def get_help(session: DbSession, actor: CanSeeTasks) -> list[HelpOut]:
    return [HelpOut.of(r) for r, _p in help_service.queue(session, actor)]


@api.post("/help-requests", response_model=HelpOut, status_code=201,
          summary="A help request for a resident (the hotline's form)")
def post_help(body: HelpIn, session: DbSession, actor: CanWork) -> HelpOut:
    return HelpOut.of(help_service.request_help(session, actor, person_id=body.person_id, kind=body.kind,
                                                detail=body.detail, via=body.via))


# ---------------------------------------------------------------------------------------------- pages

def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()][:20000]


def _zones_page(request: Request, session: DbSession, actor: Actor, *, error: Any = None, form: Any = None,
                status_code: int = 200) -> Response:
    pack = policy_service.active_pack(session)
    units = [u for u, _p in jurisdictions_service.iter_units_in_order(session, actor)][:3000]
    return render(request, "zones/zones.html", actor=actor, zones=service.list_zones(session, actor), units=units,
                  zones_policy=pack.zones, error=error, form=form or {}, status_code=status_code)


@pages.get("/zones")
def zones_page(request: Request, session: DbSession, actor: CanView) -> Response:
    """The zones and the drawing form (unit tree, address search, preview)."""
    return _zones_page(request, session, actor)


@pages.post("/zones/preview")
def zones_preview(request: Request, session: DbSession, actor: CanView,
                  units: Annotated[list[str] | None, Form(max_length=2000)] = None,
                  addresses: Annotated[str, Form(max_length=2_000_000)] = "") -> Response:
    p = service.preview_zone(session, actor, units=[u for u in units or [] if u], addresses=_lines(addresses))
    return render(request, "zones/_preview.html", actor=actor, p=p)


@pages.post("/zones")
def zones_draw(request: Request, session: DbSession, actor: CanManage,
               level: Annotated[str, Form(pattern="^(high|medium|low)$")],
               reason: Annotated[str, Form(max_length=500)] = "",
               units: Annotated[list[str] | None, Form(max_length=2000)] = None,
               addresses: Annotated[str, Form(max_length=2_000_000)] = "",
               name: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        r = service.draw_zone(session, actor, level=level, reason=reason, units=[u for u in units or [] if u],
                              addresses=_lines(addresses), name=name.strip() or None)
    except DomainError as exc:
        session.rollback()
        return _zones_page(request, session, actor, error=exc, status_code=422,
                           form={"level": level, "reason": reason, "units": units or [], "addresses": addresses,
                                 "name": name})
    return RedirectResponse(f"/zones/{r.zone.id}", status_code=303)


@pages.get("/zones/{zone_id}")
def zone_page(request: Request, zone_id: RowId, session: DbSession, actor: CanView) -> Response:
    """A zone: its history, its rounds and the eligibility evidence, with the lift action."""
    z = service.get_zone(session, actor, zone_id)
    now = clock.now()
    e = service.eligibility_of(session, actor, zone_id, at=now) if z.status == "active" else None
    pack = policy_service.active_pack(session)
    needs = help_service.special_needs_of_zone(session, actor, zone_id)
    helps = help_service.queue(session, actor, status=None, zone_id=zone_id) if actor.can("task.view") else []
    return render(request, "zones/zone.html", actor=actor, z=z, e=e, events=service.history(session, actor, zone_id),
                  rounds=service.list_rounds(session, actor, zone_id=zone_id), zones_policy=pack.zones, error=None,
                  needs=needs, helps=helps, under_measure=service.measure_counts(session, zone_id),
                  alone=help_service.elderly_alone_from_registry(session, actor, zone_id))


@pages.post("/zones/{zone_id}/confirm")
def zone_confirm(request: Request, zone_id: RowId, session: DbSession, actor: CanManage) -> Response:
    """The command centre confirms a lockdown proposal: it takes effect now."""
    service.confirm_zone(session, actor, zone_id=zone_id)
    return RedirectResponse(f"/zones/{zone_id}", status_code=303)


@pages.post("/zones/{zone_id}/decline")
def zone_decline(request: Request, zone_id: RowId, session: DbSession, actor: CanManage,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    service.decline_zone(session, actor, zone_id=zone_id, reason=reason)
    return RedirectResponse(f"/zones/{zone_id}", status_code=303)


@pages.post("/zones/{zone_id}/lift")
def zone_lift(request: Request, zone_id: RowId, session: DbSession, actor: CanManage,
              reason: Annotated[str, Form(max_length=500)] = "",
              override: Annotated[str, Form(max_length=5)] = "") -> Response:
    service.lift_zone(session, actor, zone_id=zone_id, override=override in ("1", "on", "true"), reason=reason)
    return RedirectResponse(f"/zones/{zone_id}", status_code=303)


@pages.post("/zones/{zone_id}/rounds")
def zone_round(request: Request, zone_id: RowId, session: DbSession, actor: CanRound) -> Response:
    rnd = service.start_round(session, actor, zone_id=zone_id)
    return RedirectResponse(f"/rounds/{rnd.id}", status_code=303)


@pages.get("/rounds/{round_id}")
def round_page(request: Request, round_id: RowId, session: DbSession, actor: CanView) -> Response:
    """A round's coverage per grid in real time, with the names still to sample."""
    return _round(request, session, actor, round_id)


def _round(request: Request, session: Any, actor: Actor, round_id: int, *, error: Any = None,
           status_code: int = 200) -> Response:
    rnd = service.get_round(session, actor, round_id)
    rows = service.coverage(session, actor, round_id=round_id, at=clock.now())
    declared = [d for d in headcounts.declared_in_round(session, rnd) if any(r.unit_id == d.unit_id for r in rows)]
    return render(request, "zones/round.html", actor=actor, rnd=rnd, rows=rows, declared=declared, error=error,
                  status_code=status_code, proposals=service.proposals(session, actor, round_id=round_id),
                  zones_policy=policy_service.active_pack(session).zones,
                  total={k: sum(getattr(r, k) for r in rows) for k in
                         ("targets", "sampled", "resulted", "positive", "positive_pools", "excluded", "missing",
                          "declared_extra")})


@pages.post("/rounds/{round_id}/headcounts")
def round_headcount(request: Request, round_id: RowId, session: DbSession, actor: CanRound,
                    address: Annotated[str, Form(max_length=255)] = "",
                    headcount: Annotated[int, Form(ge=0, le=headcounts.MAX_HEADCOUNT)] = 0,
                    note: Annotated[str, Form(max_length=200)] = "") -> Response:
    """A household's declared headcount from the round page (where the registry is thin)."""
    service.get_round(session, actor, round_id)  # 404 outside the actor's area, before the body
    try:
        headcounts.declare_headcount(session, actor, address=address, headcount=headcount, note=note)
    except ValidationFailed as exc:
        session.rollback()
        return _round(request, session, actor, round_id, error=exc, status_code=422)
    return RedirectResponse(f"/rounds/{round_id}", status_code=303)


@pages.get("/rounds/{round_id}/doors")
def doors_page(request: Request, round_id: RowId, session: DbSession, actor: CanView) -> Response:
    """The grid worker's phone list: doors (rooms) where someone is still to be sampled, by building;
    with the round.manage permission each person can be excluded with a reason (and the evidence)."""
    return _doors(request, session, actor, round_id)


@pages.post("/rounds/{round_id}/exclude")
def exclude_target(request: Request, round_id: RowId, session: DbSession, actor: CanRound,
                   person_id: Annotated[int, Form(ge=1)], reason: Annotated[str, Form(max_length=24)] = "",
                   note: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Exclude a target from the round (away with evidence, hospitalised, other), audited."""
    try:
        service.exclude(session, actor, round_id=round_id, person_id=person_id, reason=reason, note=note)
    except ValidationFailed as exc:
        session.rollback()
        return _doors(request, session, actor, round_id, error=exc, status_code=422)
    return RedirectResponse(f"/rounds/{round_id}/doors", status_code=303)


def _doors(request: Request, session: Any, actor: Actor, round_id: int, *, error: Any = None,
           status_code: int = 200) -> Response:
    rnd = service.get_round(session, actor, round_id)
    rows = service.missing(session, actor, round_id=round_id, at=clock.now())
    buildings: dict[str, dict[str, list[Any]]] = {}
    for target, person in rows:
        b = buildings.setdefault(target.building_key or "-", {})
        b.setdefault(person.address_text or "-", []).append(person)
    pack = policy_service.active_pack(session)
    zl = pack.zones.levels.get(rnd.level) if rnd.level else None  # type: ignore[call-overload]
    pool = pack.pooling.get(zl.pool) if zl is not None and zl.pool else None
    return render(request, "zones/doors.html", actor=actor, rnd=rnd, buildings=buildings, n=len(rows),
                  pool_size=pool.size if pool is not None else None, error=error, status_code=status_code,
                  excluded=service.excluded_targets(session, actor, round_id=round_id),
                  reasons=("away", "hospitalised", "other"))


# ------------------------------------------------------------------------------------- help requests

def _help_page(request: Request, session: Any, actor: Actor, *, error: Any = None, status: str = "open",
               status_code: int = 200) -> Response:
    rows = help_service.queue(session, actor, status=status or None)
    return render(request, "zones/help.html", actor=actor, rows=rows, kinds=HELP_KINDS, error=error, status=status,
                  now=clock.now(), status_code=status_code)


@pages.get("/help")
def help_page(request: Request, session: DbSession, actor: CanWork,
              status: Annotated[str, Query(pattern="^(open|served|closed|)$")] = "open") -> Response:
    """The community staff's queue of help requests, most urgent first, with the hotline's form."""
    return _help_page(request, session, actor, status=status)


@pages.post("/help")
def help_new(request: Request, session: DbSession, actor: CanWork,
             person: Annotated[str, Form(max_length=32)] = "", kind: Annotated[str, Form(max_length=16)] = "",
             detail: Annotated[str, Form(max_length=500)] = "") -> Response:
    """The hotline's form: a request for a resident found by ID number (or mobile number)."""
    found = people_service.find_by_id_number(session, person) or next(
        iter(people_service.find_by_phone(session, person)), None)
    try:
        req = help_service.request_help(session, actor, person_id=found.id if found else 0, kind=kind, detail=detail,
                                        via="hotline")
    except DomainError as exc:
        session.rollback()
        return _help_page(request, session, actor, error=exc, status_code=422)
    return RedirectResponse(f"/help/{req.id}", status_code=303)


@pages.get("/help/{help_id}")
def help_detail(request: Request, help_id: RowId, session: DbSession, actor: CanSeeTasks) -> Response:
    req = help_service.get_request(session, actor, help_id)
    person = people_service.get_person(session, actor, req.person_id, audit_view=False)
    return render(request, "zones/help_detail.html", actor=actor, r=req, person=person, now=clock.now())


@pages.post("/help/{help_id}/finish")
def help_finish(request: Request, help_id: RowId, session: DbSession, actor: CanWork,
                status: Annotated[str, Form(pattern="^(served|closed)$")] = "served",
                outcome: Annotated[str, Form(max_length=500)] = "") -> Response:
    help_service.finish(session, actor, request_id=help_id, status=status, outcome=outcome)
    return RedirectResponse(f"/help/{help_id}", status_code=303)


@pages.get("/help-me")
def help_me_page(request: Request, session: DbSession) -> Response:
    """A sealed household's own phone page: ask for help by ID number and the phone registered with it."""
    return render(request, "zones/help_me.html", kinds=HELP_KINDS, r=None, checked=False)


@pages.post("/help-me", dependencies=[public_limit()])
def help_me(request: Request, session: DbSession, id_number: Annotated[str, Form(max_length=32)] = "",
            phone: Annotated[str, Form(max_length=32)] = "", kind: Annotated[str, Form(max_length=16)] = "other",
            detail: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        req = help_service.request_help_by_resident(session, id_number=id_number, phone=phone, kind=kind,
                                                    detail=detail, ip=client_ip(request))
    except DomainError as exc:
        session.rollback()
        return render(request, "zones/help_me.html", kinds=HELP_KINDS, r=None, checked=True, error=exc,
                      status_code=422)
    if req is None:
        return render(request, "zones/help_me.html", kinds=HELP_KINDS, r=None, checked=True, status_code=404)
    return RedirectResponse(f"/help-me/{req.token}", status_code=303)


@pages.get("/help-me/{token}")
def help_me_status(request: Request, token: str, session: DbSession) -> Response:
    """The state of one's own request (by the token of its link)."""
    req = help_service.by_token(session, token[:40])
    if req is None:
        return render(request, "zones/help_me.html", kinds=HELP_KINDS, r=None, checked=True, status_code=404)
    return render(request, "zones/help_me.html", kinds=HELP_KINDS, r=req, checked=True)
