"""Zones over HTTP: JSON under /api/v1 (list, preview, draw, detail with eligibility, lift, rounds and
their coverage) and pages (draw a zone with the unit tree and address search and a preview; a zone's
detail with the eligibility evidence and the lift action; a round's coverage; the grid worker's phone
list of doors still to knock). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import DomainError
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render
from fangkong.zones import service
from fangkong.zones.models import Zone

api = APIRouter(tags=["zones"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("zone.view"))]
CanManage = Annotated[Actor, Depends(requires("zone.manage"))]
CanRound = Annotated[Actor, Depends(requires("round.manage"))]

register_nav("zones", N_("Risk zones"), "/zones", "zone.view", 56)

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


def _elig_out(e: Any) -> EligibilityOut:
    return EligibilityOut(level=e.level, next_level=e.next_level, eligible=e.eligible, day0=e.day0,
                          days_required=e.days_required,
                          last_infection_at=clock.iso_local(e.last_infection_at) if e.last_infection_at else None,
                          qualifying_round=e.qualifying_round, eligible_on=e.eligible_on, waiting_for=e.waiting_for)


def _cov_out(r: service.CoverageRow) -> CoverageOut:
    return CoverageOut(unit_code=r.unit_code, unit_name=r.unit_name, targets=r.targets, sampled=r.sampled,
                       resulted=r.resulted, positive=r.positive, excluded=r.excluded, missing=r.missing)


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
    return render(request, "zones/zone.html", actor=actor, z=z, e=e, events=service.history(session, actor, zone_id),
                  rounds=service.list_rounds(session, actor, zone_id=zone_id), zones_policy=pack.zones, error=None)


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
    rnd = service.get_round(session, actor, round_id)
    rows = service.coverage(session, actor, round_id=round_id, at=clock.now())
    return render(request, "zones/round.html", actor=actor, rnd=rnd, rows=rows,
                  total={k: sum(getattr(r, k) for r in rows) for k in
                         ("targets", "sampled", "resulted", "positive", "excluded", "missing")})


@pages.get("/rounds/{round_id}/doors")
def doors_page(request: Request, round_id: RowId, session: DbSession, actor: CanView) -> Response:
    """The grid worker's phone list: doors (rooms) where someone is still to be sampled, by building."""
    rnd = service.get_round(session, actor, round_id)
    rows = service.missing(session, actor, round_id=round_id, at=clock.now())
    buildings: dict[str, dict[str, list[Any]]] = {}
    for target, person in rows:
        b = buildings.setdefault(target.building_key or "-", {})
        b.setdefault(person.address_text or "-", []).append(person)
    return render(request, "zones/doors.html", actor=actor, rnd=rnd, buildings=buildings, n=len(rows))
