"""Checkpoint routes (卡口): the JSON API under /api/v1 and the pages — checkpoints with their shift
counts, the phone inspection page (查验), trips (点对点闭环) and stranded vehicles."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from fangkong.checkpoints import exports, rules
from fangkong.checkpoints.models import CODE_COLOURS, DECISIONS, DIRECTIONS, KINDS, ROLES, VEHICLE_TYPES
from fangkong.checkpoints.schemas import (
    ArrivalsIn,
    ClosedOut,
    RecordsIn,
    ReportOut,
    ShiftRowOut,
    StrandedOut,
    TripOut,
)
from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.checkpoints.service import reconciliation as reconciliation_service
from fangkong.checkpoints.service import records as records_service
from fangkong.checkpoints.service import reports as reports_service
from fangkong.checkpoints.service import trips as trips_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.clock import BadTime
from fangkong.kernel.errors import INVALID_INPUT, ONE_OF, FieldError, ValidationFailed
from fangkong.kernel.messages import _, message, reason_of
from fangkong.kernel.people import service as people_service
from fangkong.kernel.tabular import ReportRow, summarise
from fangkong.kernel.web.deps import DbSession, FormFields, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render

api = APIRouter(tags=["checkpoints"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("checkpoint.view"))]
CanRecord = Annotated[Actor, Depends(requires("checkpoint.record"))]
CanSeeTrips = Annotated[Actor, Depends(requires("trip.view"))]
CanConfirm = Annotated[Actor, Depends(requires("trip.confirm"))]
CanManage = Annotated[Actor, Depends(requires("trip.manage"))]

register_nav("checkpoints", N_("Checkpoints"), "/checkpoints", "checkpoint.view", 50, group="places")
register_nav("inspect", N_("Inspection"), "/checkpoints/inspect", "checkpoint.record", 51, group="places")
register_nav("trips", N_("Truck trips"), "/checkpoints/trips", "trip.view", 52, group="places")
register_nav("data_loop", N_("Data gaps"), "/checkpoints/reconciliation", "checkpoint.view", 53, group="places")

INVALID_TIME = message("checkpoint.invalid_time", _("invalid time"))
#: persons on one vehicle the inspection page takes at once
PAGE_PERSONS = 9


def _at(value: str | None, field: str = "at") -> dt.datetime:
    try:
        return clock.parse_time(value or "") or clock.now()
    except BadTime as exc:
        raise ValidationFailed(INVALID_TIME(), [FieldError(field, reason_of(exc))]) from None


def _day(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else clock.today()
    except ValueError:
        raise ValidationFailed(INVALID_TIME(), [FieldError("day", _("expected YYYY-MM-DD"))]) from None


def _report(session: Any, actor: Actor, rows: list[ReportRow]) -> dict[str, Any]:
    seen = people_service.visible_person_ids(session, actor, (r.person_id for r in rows))
    return {"counts": summarise(rows), "items": [
        {"row": r.row, "status": r.status, "person_id": r.person_id if r.person_id in seen else None,
         "issues": [str(i) for i in r.issues], **{k: r.extra.get(k) for k in ("lead_id", "trip_id")}} for r in rows]}


def _trip_out(row: trips_service.TripRow, at: dt.datetime) -> dict[str, Any]:
    d = row.as_dict(at)
    for k in ("entered_at", "arrived_at", "exited_at"):
        d[k] = clock.iso_local(d[k]) or None
    return d


# ------------------------------------------------------------------------------------------------ API

@api.post("/checkpoint-records", response_model=ReportOut, summary="Record checkpoint inspections (查验记录)")
def post_records(body: RecordsIn, session: DbSession, actor: CanRecord) -> dict[str, Any]:
    """A row per person (a plate alone is a sighting). Per-item report like a file import, with `lead_id`
    and `trip_id`; idempotent by `record_ref` (a reused ref with other content is rejected)."""
    items = [records_service.RecordItem(i, {k: "" if v is None else str(v) for k, v in it.model_dump().items()})
             for i, it in enumerate(body.items, 1)]
    return _report(session, actor, records_service.record_items(session, actor, items=items, source="api"))


@api.post("/trip-arrivals", response_model=ReportOut, summary="Confirm trucks' arrivals (到达确认)")
def post_arrivals(body: ArrivalsIn, session: DbSession, actor: CanConfirm) -> dict[str, Any]:
    """Each arrival joins the plate's open trip entered by then (the first arrival stays), else it is
    reported `arrival_not_seen`; idempotent by `request_id`."""
    items = [trips_service.ArrivalItem(i, {k: "" if v is None else str(v) for k, v in it.model_dump().items()})
             for i, it in enumerate(body.items, 1)]
    return _report(session, actor, trips_service.confirm_arrivals(session, actor, items=items))


@api.get("/trips", response_model=list[TripOut], summary="Trucks' trips and their states as of a time")
def get_trips(session: DbSession, actor: CanSeeTrips, at: Annotated[str, Query(max_length=64)] = "",
              state: Annotated[str, Query(max_length=24)] = "",
              plate: Annotated[str, Query(max_length=32)] = "") -> list[dict[str, Any]]:
    when = _at(at)
    states = [state] if state else None
    return [_trip_out(r, when) for r in trips_service.trip_states(session, actor, at=when, states=states,
                                                                  plate=plate or None)]


@api.post("/trips/{trip_id}/close", response_model=ClosedOut, summary="Close a trip: the driver stays (crew become leads)")
def post_close_trip(trip_id: RowId, session: DbSession, actor: CanManage) -> dict[str, Any]:
    return {"trip_id": trip_id, "lead_ids": trips_service.close_driver_staying(session, actor, trip_id=trip_id)}


@api.get("/reports/checkpoint-shifts", response_model=list[ShiftRowOut], summary="Shift counts of a day")
def get_shift_counts(session: DbSession, actor: CanView,
                     day: Annotated[str, Query(max_length=10)] = "") -> list[dict[str, Any]]:
    return reports_service.shift_counts(session, actor, day=_day(day))


@api.get("/reports/stranded", response_model=list[StrandedOut], summary="Vehicles stranded at service areas")
def get_stranded(session: DbSession, actor: CanView, at: Annotated[str, Query(max_length=64)] = "") -> list[dict[str, Any]]:
    rows = []
    for v in reports_service.stranded(session, actor, at=_at(at)):
        d = v.as_dict()
        d["first_seen_at"], d["last_seen_at"] = clock.iso_local(v.first_seen_at), clock.iso_local(v.last_seen_at)
        rows.append(d)
    return rows


# ---------------------------------------------------------------------------------------------- pages

@pages.get("/checkpoints")
def checkpoints_page(request: Request, session: DbSession, actor: CanView,
                     day: Annotated[str, Query(max_length=10)] = "") -> Response:
    """卡口: every checkpoint with its shift counts of the day, and the vehicles stranded now."""
    the_day = _day(day)
    cps = checkpoints_service.list_checkpoints(session, actor)
    counts = reports_service.shift_counts(session, actor, day=the_day)
    stranded = reports_service.stranded(session, actor, at=clock.now())
    return render(request, "checkpoints/checkpoints.html", actor=actor, day=the_day, checkpoints=cps, counts=counts,
                  stranded=stranded, kinds=KINDS, can_manage=actor.can("trip.manage"),
                  export_kind=exports.SHIFTS.name)


@pages.get("/checkpoints/inspect")
def inspect_page(request: Request, session: DbSession, actor: CanRecord,
                 checkpoint: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    """查验: one vehicle and its persons on a phone; posts once by client id (offline: queued)."""
    cps = [c for c in checkpoints_service.list_checkpoints(session, actor)]
    return render(request, "checkpoints/inspect.html", actor=actor, checkpoints=cps, chosen=checkpoint,
                  client_id=uuid.uuid4().hex, directions=DIRECTIONS, vehicle_types=VEHICLE_TYPES, roles=ROLES,
                  colours=CODE_COLOURS, decisions=DECISIONS, persons=2, max_persons=PAGE_PERSONS, done=None, check=None)


def _time_or_now(text: str) -> dt.datetime:
    try:
        return clock.parse_time(text) or clock.now()
    except BadTime:
        return clock.now()


def _check(session: Any, actor: Actor, f: dict[str, str], at: dt.datetime) -> records_service.InspectionCheck:
    persons = [(n, f.get(f"p{n}_origin", ""), f.get(f"p{n}_tested_at", "")) for n in range(1, PAGE_PERSONS + 1)]
    return records_service.inspection_check(session, actor, at=at, token=f.get("epass_token"), plate=f.get("plate"),
                                            persons=persons)


@pages.post("/checkpoints/inspect/check")
def inspect_check(request: Request, session: DbSession, actor: CanRecord, form: FormFields) -> Response:
    """The answer at once while the form is filled (scan, plate, origins): the e-pass verdict and each
    origin's risk level, as a fragment; nothing is stored."""
    f = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    return render(request, "checkpoints/_inspect_check.html", actor=actor, check=_check(session, actor, f, clock.now()))


@pages.post("/checkpoints/inspect")
def inspect_post(request: Request, session: DbSession, actor: CanRecord, form: FormFields) -> Response:
    """The inspection form: a vehicle (checkpoint, direction, plate, type, e-pass) and up to
    `PAGE_PERSONS` persons; each person is a record `<client_id>-<n>`, the vehicle alone a sighting
    `<client_id>-0`. Posting the same client id again changes nothing."""
    f = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    client_id = "".join(ch for ch in f.get("client_id", "") if ch.isalnum())[:40] or uuid.uuid4().hex
    cp_id = f.get("checkpoint", "")
    cp = checkpoints_service.get_checkpoint(session, actor, int(cp_id)) if cp_id.isdigit() and len(cp_id) < 10 else None
    vehicle = {"checkpoint": str(cp.place_id) if cp else f.get("checkpoint", ""), "direction": f.get("direction", ""),
               "inspected_at": f.get("inspected_at") or clock.iso_local(clock.now()), "plate": f.get("plate", ""),
               "vehicle_type": f.get("vehicle_type", ""), "epass_token": f.get("epass_token", ""),
               "epass_no": f.get("epass_no", ""), "passage_ref": client_id}
    if cp is not None:
        vehicle["checkpoint"] = cp.ref or cp.code
    items = []
    for n in range(1, PAGE_PERSONS + 1):
        person = {k: f.get(f"p{n}_{k}", "") for k in ("name", "id_number", "phone", "role", "origin", "destination",
                                                        "health_code", "tested_at", "temperature", "decision")}
        if person["id_number"] or person["phone"]:
            items.append(records_service.RecordItem(n, {**vehicle, **person, "record_ref": f"{client_id}-{n}"}))
    if not items:
        items.append(records_service.RecordItem(0, {**vehicle, "record_ref": f"{client_id}-0",
                                                    "decision": f.get("p1_decision", "")}))
    rows = records_service.record_items(session, actor, items=items, source="page", known=cp)
    if request.headers.get("accept", "").startswith("application/json"):
        from fastapi.responses import JSONResponse

        return JSONResponse(_report(session, actor, rows))
    cps = checkpoints_service.list_checkpoints(session, actor)
    return render(request, "checkpoints/inspect.html", actor=actor, checkpoints=cps, chosen=cp.place_id if cp else None,
                  client_id=uuid.uuid4().hex, directions=DIRECTIONS, vehicle_types=VEHICLE_TYPES, roles=ROLES,
                  colours=CODE_COLOURS, decisions=DECISIONS, persons=2, max_persons=PAGE_PERSONS,
                  done={"rows": rows, "plate": rules.plate_key(f.get("plate", ""))},
                  check=_check(session, actor, f, _time_or_now(vehicle["inspected_at"])))


@pages.get("/checkpoints/trips")
def trips_page(request: Request, session: DbSession, actor: CanSeeTrips,
               state: Annotated[str, Query(max_length=24)] = "") -> Response:
    """货车点对点闭环: trips as of now, overdue first; confirm an arrival; make tasks."""
    now = clock.now()
    rows = trips_service.trip_states(session, actor, at=now, states=[state] if state else None)
    rows.sort(key=lambda r: (r.state.state not in rules.OVERDUE, -(r.state.overdue_hours or 0), r.trip.id))
    return render(request, "checkpoints/trips.html", actor=actor, rows=rows, state=state, states=exports.STATE_ZH,
                  can_confirm=actor.can("trip.confirm"), can_manage=actor.can("trip.manage"),
                  request_id=uuid.uuid4().hex, report=None)


@pages.post("/checkpoints/trips/arrival")
def arrival_post(request: Request, session: DbSession, actor: CanConfirm,
                 request_id: Annotated[str, Form(max_length=80)], plate: Annotated[str, Form(max_length=32)],
                 arrived_at: Annotated[str, Form(max_length=64)],
                 epass_no: Annotated[str, Form(max_length=32)] = "",
                 receiver: Annotated[str, Form(max_length=120)] = "") -> Response:
    [rep] = trips_service.confirm_arrivals(session, actor, items=[trips_service.ArrivalItem(1, {
        "request_id": request_id, "plate": plate, "arrived_at": arrived_at, "epass_no": epass_no,
        "receiver": receiver})])
    rows = trips_service.trip_states(session, actor, at=clock.now()) if actor.can("trip.view") else []
    return render(request, "checkpoints/trips.html", actor=actor, rows=rows, state="", states=exports.STATE_ZH,
                  can_confirm=True, can_manage=actor.can("trip.manage"), request_id=uuid.uuid4().hex, report=rep)


@pages.post("/checkpoints/trips/tasks")
def trip_tasks_post(session: DbSession, actor: CanManage) -> Response:
    trips_service.make_overdue_tasks(session, actor, at=clock.now())
    reports_service.make_stranded_tasks(session, actor, at=clock.now())
    return RedirectResponse("/checkpoints/trips", status_code=303)


@pages.post("/checkpoints/trips/{trip_id}/close")
def trip_close_post(trip_id: RowId, session: DbSession, actor: CanManage) -> Response:
    trips_service.close_driver_staying(session, actor, trip_id=trip_id)
    return RedirectResponse("/checkpoints/trips", status_code=303)


@pages.get("/checkpoints/reconciliation")
def reconciliation_page(request: Request, session: DbSession, actor: CanView,
                        day: Annotated[str, Query(max_length=10)] = "") -> Response:
    """数据闭环: one list per gap for a day, each with "make tasks"."""
    the_day = _day(day)
    gaps = reconciliation_service.reconciliation(session, actor, day=the_day)
    names = reconciliation_service.names_of(session, [g.person_id for g in gaps if g.person_id])
    lists = {k: [g for g in gaps if g.gap == k] for k in reconciliation_service.GAPS}
    return render(request, "checkpoints/reconciliation.html", actor=actor, day=the_day, lists=lists, names=names,
                  gap_zh=exports.GAP_ZH, can_manage=actor.can("trip.manage"), made=None)


@pages.post("/checkpoints/reconciliation/tasks")
def reconciliation_tasks_post(request: Request, session: DbSession, actor: CanManage,
                              gap: Annotated[str, Form(max_length=32)],
                              day: Annotated[str, Form(max_length=10)] = "") -> Response:
    the_day = _day(day)
    if gap not in reconciliation_service.GAPS:
        raise ValidationFailed(INVALID_INPUT(), [FieldError("gap", ONE_OF(choices=", ".join(reconciliation_service.GAPS)))])
    reconciliation_service.make_gap_tasks(session, actor, day=the_day, gap=gap)
    return RedirectResponse(f"/checkpoints/reconciliation?day={the_day.isoformat()}", status_code=303)



from fangkong.checkpoints.epass import routes as _epass_routes  # noqa: E402

#: the e-pass part's routers, included by the app beside this module's own (app.py)
SUB_ROUTERS = [_epass_routes]
