"""Quarantine sites over HTTP: sites, rooms, capacity and room assignment (JSON under /api/v1), the
site staff page (rooms by building and floor with their state) and the capacity dashboard. Thin:
parse, call the service, shape. Included by `control.routes`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from fangkong.control.models import Measure
from fangkong.control.sites.service import capacity as capacity_service
from fangkong.control.sites.service import sites as sites_service
from fangkong.control.sites.service import stays as stays_service
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import INVALID_INPUT, NOT_A_TIME, FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render

api = APIRouter(tags=["quarantine sites"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("place.view"))]
CanManage = Annotated[Actor, Depends(requires("place.manage"))]
CanAssign = Annotated[Actor, Depends(requires("measure.start"))]
At = Annotated[clock.LocalTime | None, Query(description="as of this moment (default now)")]

NOT_AN_ID = message("form.not_an_id", _("not a record number"))

register_nav("quarantine_sites", N_("Quarantine sites"), "/quarantine-sites", "place.view", 54, group="control")
register_nav("quarantine_capacity", N_("Quarantine capacity"), "/quarantine-capacity", "place.view", 55, group="control")


# ---------------------------------------------------------------------------------------------- shapes

class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    ref: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=255)
    unit_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    status: str = Field(default="active", max_length=16)
    contacts: str | None = Field(default=None, max_length=255)


class SiteOut(BaseModel):
    id: int
    ref: str | None
    code: str
    name: str
    address: str | None
    unit_id: int
    status: str
    contacts: str | None


class RoomIn(BaseModel):
    building: str = Field(min_length=1, max_length=20)
    floor: int = Field(ge=-5, le=200)
    number: str = Field(min_length=1, max_length=20)
    beds: int = Field(default=1, ge=1, le=8)
    status: str = Field(default="usable", max_length=16)


class OccupantOut(BaseModel):
    stay_id: int
    person_id: int
    name: str | None
    id_number_masked: str | None
    measure_id: int
    bed: int
    household: str | None
    arrived: bool


class RoomOut(BaseModel):
    id: int
    building: str
    floor: int
    number: str
    beds: int
    status: str
    state: str
    occupants: list[OccupantOut]


class SiteRoomsOut(BaseModel):
    site: SiteOut
    at: str
    rooms: list[RoomOut]


class CountsOut(BaseModel):
    rooms: int
    usable: int
    occupied: int
    cleaning: int
    free: int
    out_of_service: int


class SiteCapacityOut(CountsOut):
    site_id: int
    ref: str
    name: str
    status: str
    releases_due_7d: int


class UnitCapacityOut(CountsOut):
    unit_id: int
    code: str
    name: str
    population: int | None
    rooms_per_10k: float | None
    target_per_10k: float
    below_target: bool
    releases_due_7d: int


class CapacityOut(BaseModel):
    at: str
    sites: list[SiteCapacityOut]
    units: list[UnitCapacityOut]
    releases_by_day: dict[str, int]


class ProposalOut(BaseModel):
    site_id: int
    site_name: str
    room_id: int
    room: str
    building: str
    floor: int
    free_beds: int


class AssignIn(BaseModel):
    """Beds in a room for one person or one household (room_id; the best proposed room when absent),
    and the transport (转运)."""

    measure_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(min_length=1, max_length=8)
    room_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    household: str | None = Field(default=None, max_length=64)
    pickup: str | None = Field(default=None, max_length=200)
    pickup_at: clock.LocalTime | None = None
    vehicle: str | None = Field(default=None, max_length=40)
    escort: str | None = Field(default=None, max_length=100)


class StayOut(BaseModel):
    stay_id: int
    measure_id: int
    person_id: int
    site_id: int
    room_id: int
    bed: int
    household: str | None
    transport_task_id: int | None
    arrived_at: str | None


class TransferIn(BaseModel):
    to_room_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    to_hospital: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str = Field(default="", max_length=200)
    pickup_at: clock.LocalTime | None = None
    vehicle: str | None = Field(default=None, max_length=40)
    escort: str | None = Field(default=None, max_length=100)


def _site_out(row: sites_service.SiteRow) -> SiteOut:
    return SiteOut(**row.__dict__)


def _stay_out(s: Any) -> StayOut:
    return StayOut(stay_id=s.id, measure_id=s.measure_id, person_id=s.person_id, site_id=s.site_id, room_id=s.room_id,
                   bed=s.bed, household=s.household, transport_task_id=s.transport_task_id,
                   arrived_at=clock.iso_local(s.arrived_at) if s.arrived_at else None)


def _counts(c: Any) -> dict[str, int]:
    return {"rooms": c.rooms, "usable": c.usable, "occupied": c.occupied, "cleaning": c.cleaning, "free": c.free,
            "out_of_service": c.out_of_service}


# ------------------------------------------------------------------------------------------------ API

@api.get("/quarantine-sites", response_model=list[SiteOut], summary="Quarantine sites (集中隔离点)")
def list_sites(session: DbSession, actor: CanView,
               status: Annotated[str | None, Query(pattern="^(active|standby|closed)$")] = None) -> list[SiteOut]:
    return [_site_out(r) for r in sites_service.list_sites(session, actor, status=status)]


@api.post("/quarantine-sites", response_model=SiteOut, status_code=201, summary="Register a quarantine site")
def create_site(body: SiteIn, session: DbSession, actor: CanManage) -> SiteOut:
    site = sites_service.register_site(session, actor, name=body.name, ref=body.ref, address=body.address,
                                       unit_id=body.unit_id, status=body.status, contacts=body.contacts)
    return _site_out(next(r for r in sites_service.list_sites(session, actor, limit=5000) if r.id == site.place_id))


@api.get("/quarantine-sites/{site_id}", response_model=SiteRoomsOut, summary="A site's rooms and their state")
def get_site(site_id: RowId, session: DbSession, actor: CanView, at: At = None) -> SiteRoomsOut:
    when = at or clock.now()
    place, site, rooms = sites_service.site_rooms(session, actor, site_id, at=when)
    out = SiteOut(id=place.id, ref=place.ref, code=place.code, name=place.name, address=place.address_text,
                  unit_id=place.unit_id, status=site.status, contacts=site.contacts)
    return SiteRoomsOut(site=out, at=clock.iso_local(when), rooms=[RoomOut(
        id=r.id, building=r.building, floor=r.floor, number=r.number, beds=r.beds, status=r.status, state=r.state,
        occupants=[OccupantOut(stay_id=o.stay_id, person_id=o.person_id, name=o.name, id_number_masked=o.id_masked,
                               measure_id=o.measure_id, bed=o.bed, household=o.household, arrived=o.arrived)
                   for o in r.occupants]) for r in rooms])


@api.post("/quarantine-sites/{site_id}/rooms", response_model=RoomOut, status_code=201, summary="Add a room")
def add_room(site_id: RowId, body: RoomIn, session: DbSession, actor: CanManage) -> RoomOut:
    r = sites_service.add_room(session, actor, site_id=site_id, building=body.building, floor=body.floor,
                               number=body.number, beds=body.beds, status=body.status)
    return RoomOut(id=r.id, building=r.building, floor=r.floor, number=r.number, beds=r.beds, status=r.status,
                   state="out_of_service" if r.status == "out_of_service" else "free", occupants=[])


@api.post("/rooms/{room_id}/clean", status_code=204, summary="Mark a room clean (终末消毒完成)")
def clean_room(room_id: RowId, session: DbSession, actor: CanAssign) -> Response:
    sites_service.mark_clean(session, actor, room_id=room_id)
    return Response(status_code=204)


@api.get("/quarantine-capacity", response_model=CapacityOut, summary="Capacity per site and unit (隔离资源)")
def get_capacity(session: DbSession, actor: CanView, at: At = None) -> CapacityOut:
    report = capacity_service.capacity(session, actor, at=at)
    return CapacityOut(
        at=clock.iso_local(report.at),
        sites=[SiteCapacityOut(site_id=s.site_id, ref=s.ref, name=s.name, status=s.status,
                               releases_due_7d=s.releases_due, **_counts(s.counts)) for s in report.sites],
        units=[UnitCapacityOut(unit_id=u.unit_id, code=u.code, name=u.name, population=u.population,
                               rooms_per_10k=u.per_10k, target_per_10k=u.target, below_target=u.below,
                               releases_due_7d=u.releases_due, **_counts(u.counts)) for u in report.units],
        releases_by_day={d.isoformat(): n for d, n in sorted(report.releases_by_day.items())})


@api.get("/quarantine-capacity/dashboard", summary="The capacity dashboard's data (charts)")
def get_dashboard(session: DbSession, actor: CanView, at: At = None) -> dict[str, Any]:
    return capacity_service.dashboard(session, actor, at=at)


@api.get("/measures/{measure_id}/room-proposals", response_model=list[ProposalOut],
         summary="Rooms proposed for a measure's person (nearest active site with space)")
def get_proposals(measure_id: RowId, session: DbSession, actor: CanAssign) -> list[ProposalOut]:
    return [ProposalOut(**{k: v for k, v in p.__dict__.items() if k != "nearness"})
            for p in stays_service.propose_rooms(session, actor, measure_ids=[measure_id])]


@api.post("/room-assignments", response_model=list[StayOut], status_code=201,
          summary="Assign a room (or the best proposed one) with a transport task; 409 when it is taken")
def post_assignment(body: AssignIn, session: DbSession, actor: CanAssign) -> list[StayOut]:
    transport = stays_service.Transport(pickup=body.pickup, pickup_at=body.pickup_at, vehicle=body.vehicle,
                                        escort=body.escort)
    if body.room_id is None:
        made = stays_service.assign_proposed(session, actor, measure_ids=body.measure_ids, transport=transport)
    else:
        made = stays_service.assign_room(session, actor, measure_ids=body.measure_ids, room_id=body.room_id,
                                         transport=transport, household=body.household)
    return [_stay_out(s) for s in made]


@api.post("/measures/{measure_id}/arrive", response_model=StayOut, summary="Arrived at the site: the measure starts")
def post_arrive(measure_id: RowId, session: DbSession, actor: CanAssign) -> StayOut:
    return _stay_out(stays_service.arrive(session, actor, measure_id=measure_id))


@api.post("/measures/{measure_id}/transfer", response_model=StayOut | None,
          summary="Transfer to another room or site, or to hospital (the old room goes to cleaning)")
def post_transfer(measure_id: RowId, body: TransferIn, session: DbSession, actor: CanAssign) -> StayOut | None:
    transport = stays_service.Transport(pickup_at=body.pickup_at, vehicle=body.vehicle, escort=body.escort)
    stay = stays_service.transfer(session, actor, measure_id=measure_id, to_room_id=body.to_room_id,
                                  to_hospital=body.to_hospital, transport=transport, reason=body.reason)
    return _stay_out(stay) if stay is not None else None


# ---------------------------------------------------------------------------------------------- pages

def waiting_measures(session: DbSession, actor: Actor, *, limit: int = 200) -> list[tuple[Measure, Person]]:
    """Measures awaiting a room: planned central ones, and active central ones without a room (restarted)."""
    if not actor.can("measure.start"):
        return []
    from fangkong.control.sites.models import RoomStay

    held = select(RoomStay.measure_id).where(RoomStay.until_at.is_(None))
    stmt = (scope.visible(select(Measure, Person), actor, Measure).join(Person, Person.id == Measure.person_id)
            .where(Measure.status.in_(("planned", "active")), Measure.phase == "central", Measure.id.not_in(held))
            .order_by(Measure.id).limit(limit))
    return [(m, p) for m, p in session.execute(stmt)]


def _form_int(value: str, field: str) -> int:
    if not (value.isascii() and value.isdigit() and 0 < len(value) < 10):
        raise ValidationFailed(INVALID_INPUT(), [FieldError(field, NOT_AN_ID())])
    return int(value)


@pages.get("/quarantine-sites")
def sites_page(request: Request, session: DbSession, actor: CanView) -> Response:
    """Every quarantine site in the caller's jurisdiction with its rooms by state now."""
    report = capacity_service.capacity(session, actor)
    return render(request, "control/sites/sites.html", actor=actor, report=report,
                  near_full=capacity_service.NEARLY_FULL)


@pages.get("/quarantine-sites/{site_id}")
def site_page(request: Request, site_id: RowId, session: DbSession, actor: CanView) -> Response:
    """A site's rooms by building and floor with their state (free, occupied, being cleaned, out of
    service) and who is in them; persons awaiting a room, with the proposed room."""
    now = clock.now()
    place, site, rooms = sites_service.site_rooms(session, actor, site_id, at=now)
    floors: dict[tuple[str, int], list[Any]] = {}
    for r in rooms:
        floors.setdefault((r.building, r.floor), []).append(r)
    waiting = waiting_measures(session, actor)
    proposals = {}
    for m, _p in waiting[:30]:
        found = stays_service.propose_rooms(session, actor, measure_ids=[m.id], at=now, limit=1)
        proposals[m.id] = found[0] if found else None
    free_rooms = [r for r in rooms if r.state == "free"]
    return render(request, "control/sites/site.html", actor=actor, place=place, site=site, floors=floors,
                  waiting=waiting, proposals=proposals, free_rooms=free_rooms,
                  counts={s: sum(1 for r in rooms if r.state == s) for s in ("free", "occupied", "cleaning",
                                                                           "out_of_service")})


@pages.post("/quarantine-sites/{site_id}/assign")
def assign_page(site_id: RowId, session: DbSession, actor: CanAssign, measure_id: Annotated[str, Form()],
                room_id: Annotated[str, Form()] = "", vehicle: Annotated[str, Form(max_length=40)] = "",
                escort: Annotated[str, Form(max_length=100)] = "", pickup: Annotated[str, Form(max_length=200)] = "",
                pickup_at: Annotated[str, Form(max_length=40)] = "") -> Response:
    sites_service.site_of(session, actor, site_id)
    when = None
    if pickup_at.strip():
        try:
            when = clock.parse_time(pickup_at)
        except Exception:
            raise ValidationFailed(INVALID_INPUT(), [FieldError("pickup_at", NOT_A_TIME())]) from None
    transport = stays_service.Transport(pickup=pickup.strip() or None, pickup_at=when,
                                        vehicle=vehicle.strip() or None, escort=escort.strip() or None)
    mid = _form_int(measure_id, "measure_id")
    if room_id.strip():
        made = stays_service.assign_room(session, actor, measure_ids=[mid], room_id=_form_int(room_id, "room_id"),
                                         transport=transport)
    else:
        made = stays_service.assign_proposed(session, actor, measure_ids=[mid], transport=transport)
    return RedirectResponse(f"/quarantine-sites/{made[0].site_id}?assigned={mid}", status_code=303)


@pages.post("/quarantine-sites/{site_id}/arrive")
def arrive_page(site_id: RowId, session: DbSession, actor: CanAssign, measure_id: Annotated[str, Form()]) -> Response:
    sites_service.site_of(session, actor, site_id)
    stays_service.arrive(session, actor, measure_id=_form_int(measure_id, "measure_id"))
    return RedirectResponse(f"/quarantine-sites/{site_id}", status_code=303)


@pages.post("/quarantine-sites/{site_id}/transfer")
def transfer_page(site_id: RowId, session: DbSession, actor: CanAssign, measure_id: Annotated[str, Form()],
                  to_room_id: Annotated[str, Form()] = "", to_hospital: Annotated[str, Form(max_length=100)] = ""
                  ) -> Response:
    sites_service.site_of(session, actor, site_id)
    stays_service.transfer(session, actor, measure_id=_form_int(measure_id, "measure_id"),
                           to_room_id=_form_int(to_room_id, "to_room_id") if to_room_id.strip() else None,
                           to_hospital=to_hospital.strip() or None)
    return RedirectResponse(f"/quarantine-sites/{site_id}", status_code=303)


@pages.post("/quarantine-sites/{site_id}/rooms/{room_id}/clean")
def clean_page(site_id: RowId, room_id: RowId, session: DbSession, actor: CanAssign) -> Response:
    sites_service.site_of(session, actor, site_id)
    sites_service.mark_clean(session, actor, room_id=room_id)
    return RedirectResponse(f"/quarantine-sites/{site_id}", status_code=303)


@pages.get("/quarantine-capacity")
def capacity_page(request: Request, session: DbSession, actor: CanView) -> Response:
    """The capacity dashboard (ECharts): rooms by site, occupancy over time, admissions and releases
    with 7 days of forecast, rooms per 10,000 by district against the pack's figure."""
    return render(request, "control/sites/capacity.html", actor=actor,
                  data=capacity_service.dashboard(session, actor))
