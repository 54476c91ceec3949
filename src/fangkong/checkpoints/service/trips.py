"""Point-to-point trips (点对点闭环): built from a plate's passages, confirmed by the receiver, closed by an
outbound passage; their state as of a time, the export, tasks for overdue trips, closing as "driver
staying" (the crew become leads)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints import kinds, rules
from fangkong.checkpoints.models import CheckpointRecord, Trip, TripArrival
from fangkong.checkpoints.service.records import NOT_A_PLATE
from fangkong.intake import service as intake_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks
from fangkong.kernel.clock import BadTime
from fangkong.kernel.errors import REQUIRED, TOO_LONG, Conflict
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, _, message, reason_of
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportRow, read_table
from fangkong.kernel.tabular import checkpoint as commit_chunk
from fangkong.kernel.tasks import service as tasks_service

ARRIVAL_NOT_SEEN = message("trip.arrival_not_seen", _("arrival_not_seen: no open trip of this plate entered by then"))
ALREADY_ARRIVED = message("trip.already_arrived", _("the trip's arrival was confirmed already at %(at)s; the first stays"))
OTHER_EPASS = message("trip.other_epass", _("the trip entered on e-pass %(no)s"))
REQUEST_REUSED = message("trip.request_reused", _("already used for an arrival with other content"))
TRIP_CLOSED = message("trip.closed", _("trip %(id)s is closed already"))

ARRIVAL_COLUMNS: dict[str, list[str]] = {
    "request_id": ["请求编号", "确认编号", "request id"],
    "plate": ["车牌号", "车牌"],
    "epass_no": ["通行证编号", "epass no"],
    "arrived_at": ["到达时间", "arrived at"],
    "receiver": ["收货单位", "接收单位"],
}
EXPORT_COLUMNS = ["trip_id", "plate", "epass_no", "entered_at", "arrived_at", "exited_at", "state", "overdue_hours"]


def region_code() -> str | None:
    """`FANGKONG_REGION_CODE`, read defensively (the e-pass capability declares it too)."""
    from fangkong.settings import get_settings

    code = getattr(get_settings(), "region_code", None)
    return str(code).strip() or None if code else None


def hours(session: Session) -> rules.TripHours:
    pack = policy_service.active_pack(session)
    c = pack.checkpoints
    return rules.TripHours(arrival=c.arrival_due_hours, exit=c.exit_due_hours, transit=c.transit_due_hours)


# ------------------------------------------------------------------------------------------ building

def rebuild_trips(session: Session, plates: Iterable[str]) -> None:
    """Make the trips of these plates agree with their passages (records may arrive in any order): one
    trip per inbound passage with an e-pass, keyed by its record; closings from the passages; a trip
    closed by hand (driver staying) stays closed. Then arrivals are joined again and records point to
    their trips."""
    plates = sorted(set(plates))
    if not plates:
        return
    region = region_code()
    for plate in plates:
        recs = list(session.execute(select(CheckpointRecord).where(CheckpointRecord.plate == plate)
                                    .order_by(CheckpointRecord.inspected_at, CheckpointRecord.id)).scalars())
        by_passage: dict[str, list[CheckpointRecord]] = defaultdict(list)
        for rec in recs:
            by_passage[rec.passage_key].append(rec)
        passages = []
        for group in by_passage.values():
            head = min(group, key=lambda r: (r.inspected_at, r.id))
            passages.append(rules.Passage(head.id, head.inspected_at, head.direction,
                                          any(r.epass_no or r.epass_token for r in group), head.place_id))
        facts = rules.trips_from_passages(passages)
        trips = {t.entry_record_id: t for t in session.execute(select(Trip).where(Trip.plate == plate)).scalars()}
        record_of = {r.id: r for r in recs}
        for f in facts:
            trip = trips.get(f.entry.record_id)
            group = by_passage[record_of[f.entry.record_id].passage_key]
            if trip is None:
                dest = next((r.destination_code for r in group if r.destination_code), None)
                unit = _unit_for(session, dest, f.entry.place_id)
                trip = Trip(plate=plate, epass_no=next((r.epass_no for r in group if r.epass_no), None),
                            entry_record_id=f.entry.record_id, place_id=f.entry.place_id, entered_at=f.entry.at,
                            destination_code=dest, local=rules.is_local(dest, region), unit_id=unit.id,
                            unit_path=unit.path)
                session.add(trip)
                trips[f.entry.record_id] = trip
            if trip.closed_as != "driver_staying":
                trip.closed_as, trip.closed_at = f.closed_as, f.closed_at
            trip.exited_at = f.exit_.at if f.exit_ else None
            trip.exit_record_id = f.exit_.record_id if f.exit_ else None
        session.flush()
        for f in facts:
            trip = trips[f.entry.record_id]
            for r in by_passage[record_of[f.entry.record_id].passage_key]:
                r.trip_id = trip.id
            if f.exit_ is not None:
                for r in by_passage[record_of[f.exit_.record_id].passage_key]:
                    r.trip_id = trip.id
        _join_arrivals(session, plate, list(trips.values()))
    session.flush()


def plates_with_trips(session: Session, plates: Iterable[str]) -> set[str]:
    """Those of the plates that have a trip (one indexed read; nothing to read for no plates)."""
    out: set[str] = set()
    for chunk in chunks(sorted(set(plates))):
        out.update(session.execute(select(Trip.plate).where(Trip.plate.in_(chunk)).distinct()).scalars())
    return out


def _unit_for(session: Session, destination_code: str | None, place_id: int) -> Unit:
    """The destination county's unit (a unit coded by the county), else the checkpoint's unit."""
    if destination_code:
        unit = session.execute(select(Unit).where(Unit.code == destination_code)).scalar_one_or_none()
        if unit is not None:
            return unit
    place = session.get(Place, place_id)
    unit = session.get(Unit, place.unit_id) if place is not None else None
    return unit or jurisdictions_service.root_unit(session)


def _open_at(trip: Trip, at: dt.datetime) -> bool:
    return trip.entered_at <= at and (trip.closed_at is None or trip.closed_at > at)


def _join_arrivals(session: Session, plate: str, trips: list[Trip]) -> None:
    """Each arrival (first received first) joins the plate's trip open at its time, latest entered; a trip
    keeps its first arrival; an arrival without a trip is `arrival_not_seen`."""
    arrivals = list(session.execute(select(TripArrival).where(TripArrival.plate == plate)
                                    .order_by(TripArrival.id)).scalars())
    for t in trips:
        t.arrived_at, t.arrival_id = None, None
    for a in arrivals:
        candidates = [t for t in trips if _open_at(t, a.arrived_at)]
        trip = max(candidates, key=lambda t: (t.entered_at, t.id or 0), default=None)
        a.trip_id = trip.id if trip is not None else None
        if trip is not None and trip.arrival_id is None:
            trip.arrived_at, trip.arrival_id = a.arrived_at, a.id


# ------------------------------------------------------------------------------------------ arrivals

@dataclass
class ArrivalItem:
    number: int
    values: dict[str, str]


def confirm_arrivals(session: Session, actor: Actor, *, items: Sequence[ArrivalItem],
                     progress: Callable[[int], None] | None = None) -> list[ReportRow]:
    """The receiver confirms arrivals (到达确认): one report line each with `trip_id` (empty and an issue
    `arrival_not_seen` when no open trip of the plate entered by then). Idempotent by request_id.
    Needs `trip.confirm`."""
    actor.require("trip.confirm")
    now = clock.now()
    out: list[ReportRow] = []
    plates: set[str] = set()
    new: list[tuple[ReportRow, TripArrival]] = []
    seen: dict[str, str] = {}
    for it in items:
        v = {k: " ".join(str(it.values.get(k) or "").split()) for k in ARRIVAL_COLUMNS}
        rep = ReportRow(it.number, "accepted")
        out.append(rep)
        issues: list[str] = []
        for f in ("request_id", "plate", "arrived_at"):
            if not v[f]:
                issues.append(FieldIssue(f, REQUIRED()))
        plate = rules.plate_key(v["plate"])
        if v["plate"] and not rules.looks_like_plate(plate):
            issues.append(FieldIssue("plate", NOT_A_PLATE(text=v["plate"])))
        at = None
        try:
            at = clock.parse_time(v["arrived_at"])
        except BadTime as exc:
            issues.append(FieldIssue("arrived_at", reason_of(exc)))
        if len(v["request_id"]) > 80:
            issues.append(FieldIssue("request_id", TOO_LONG(max=80)))
        if issues or at is None:
            rep.status, rep.issues = "rejected", issues
            continue
        digest = hashlib.sha256(json.dumps([plate, v["epass_no"], at.isoformat(), v["receiver"]]).encode()).hexdigest()
        stored = session.execute(select(TripArrival).where(TripArrival.request_id == v["request_id"])).scalar_one_or_none()
        if stored is not None or v["request_id"] in seen:
            same = (stored.content_hash if stored is not None else seen[v["request_id"]]) == digest
            if same:
                rep.status = "duplicate"
                if stored is not None:
                    rep.extra = {"trip_id": stored.trip_id}
            else:
                rep.status, rep.issues = "rejected", [FieldIssue("request_id", REQUEST_REUSED())]
            continue
        seen[v["request_id"]] = digest
        root = jurisdictions_service.root_unit(session)
        arrival = TripArrival(request_id=v["request_id"], content_hash=digest, plate=plate,
                              epass_no=v["epass_no"][:16] or None, arrived_at=at, receiver=v["receiver"][:100] or None,
                              recorded_at=now, unit_id=root.id, unit_path=root.path)
        session.add(arrival)
        new.append((rep, arrival))
        plates.add(plate)
        if progress is not None:
            progress(1)
    session.flush()
    rebuild_trips(session, plates)
    for rep, a in new:
        rep.extra = {"trip_id": a.trip_id}
        if a.trip_id is None:
            rep.issues.append(FieldIssue("plate", ARRIVAL_NOT_SEEN()))
            continue
        trip = session.get(Trip, a.trip_id)
        assert trip is not None
        a.unit_id, a.unit_path = trip.unit_id, trip.unit_path
        if trip.arrival_id != a.id and trip.arrived_at is not None:
            rep.issues.append(FieldIssue("arrived_at", ALREADY_ARRIVED(at=clock.iso_local(trip.arrived_at))))
        if a.epass_no and trip.epass_no and a.epass_no != trip.epass_no:
            rep.issues.append(FieldIssue("epass_no", OTHER_EPASS(no=trip.epass_no)))
    if new:
        audit.record(session, actor, "checkpoints.arrivals", object_type="checkpoint_trip", accepted=len(new))
    return out


def import_arrivals_file(session: Session, actor: Actor, path: Path, *,
                         progress: Callable[[int], None] | None = None) -> list[ReportRow]:
    """`fangkong import trip-arrivals FILE`: request_id, plate, epass_no, arrived_at, receiver."""
    actor.require("trip.confirm")
    table = read_table(path, ARRIVAL_COLUMNS, required_any=["request_id", "plate"])
    out: list[ReportRow] = []
    for rows in table.chunks():
        out += confirm_arrivals(session, actor, items=[ArrivalItem(r.number, r.values) for r in rows],
                                progress=progress)
        commit_chunk(session)
    return table.report(out)


def arrivals_not_seen(session: Session, actor: Actor, *, start: dt.datetime, end: dt.datetime) -> list[TripArrival]:
    """Arrivals confirmed in [start, end) that joined no trip."""
    actor.require("trip.view")
    stmt = scope.visible(select(TripArrival).where(TripArrival.trip_id.is_(None), TripArrival.arrived_at >= start,
                                                   TripArrival.arrived_at < end), actor, TripArrival)
    return list(session.execute(stmt.order_by(TripArrival.arrived_at, TripArrival.id)).scalars())


# ------------------------------------------------------------------------------------------ states

@dataclass(frozen=True)
class TripRow:
    trip: Trip
    state: rules.TripState
    checkpoint_name: str = ""

    def as_dict(self, at: dt.datetime) -> dict[str, Any]:
        t = self.trip
        return {"trip_id": t.id, "plate": t.plate, "epass_no": t.epass_no, "entered_at": t.entered_at,
                "arrived_at": t.arrived_at if t.arrived_at and t.arrived_at <= at else None,
                "exited_at": t.exited_at if t.exited_at and t.exited_at <= at else None,
                "state": self.state.state, "overdue_hours": self.state.overdue_hours,
                "destination_code": t.destination_code, "local": t.local, "task_id": t.task_id,
                "checkpoint_name": self.checkpoint_name}


def trip_states(session: Session, actor: Actor, *, at: dt.datetime, states: Sequence[str] | None = None,
                plate: str | None = None) -> list[TripRow]:
    """Trips entered by `at` in the actor's jurisdiction with their state as of `at`, by entry time."""
    actor.require("trip.view")
    h = hours(session)
    stmt = scope.visible(select(Trip).where(Trip.entered_at <= at), actor, Trip)
    if plate:
        stmt = stmt.where(Trip.plate == rules.plate_key(plate))
    out = []
    found = list(session.execute(stmt.order_by(Trip.entered_at, Trip.id)).scalars())
    names: dict[int, str] = {}
    for chunk in chunks(sorted({t.place_id for t in found})):
        names.update(session.execute(select(Place.id, Place.name).where(Place.id.in_(chunk))).all())
    for t in found:
        st = rules.trip_state(at=at, entered_at=t.entered_at, local=t.local, arrived_at=t.arrived_at,
                              closed_as=t.closed_as, closed_at=t.closed_at, hours=h)
        if st is not None and (not states or st.state in states):
            out.append(TripRow(t, st, names.get(t.place_id, "")))
    return out


def export_rows(session: Session, actor: Actor, *, at: dt.datetime) -> Iterator[dict[str, Any]]:
    for row in trip_states(session, actor, at=at):
        yield row.as_dict(at)


def make_overdue_tasks(session: Session, actor: Actor, *, at: dt.datetime) -> list[int]:
    """One task per overdue trip (as of `at`) at the trip's unit, once per trip. Needs `trip.manage`."""
    actor.require("trip.manage")
    new: list[tuple[Trip, tasks_service.NewTask]] = []
    for row in trip_states(session, actor, at=at, states=rules.OVERDUE):
        t = row.trip
        if t.task_id is not None:
            continue
        label = {"arrival_overdue": "未按时到达", "exit_overdue": "到达后未按时驶离",
                 "transit_overdue": "过境未按时驶离"}[row.state.state]
        new.append((t, tasks_service.NewTask(
            kind=kinds.TRIP_OVERDUE, title=f"货车 {t.plate} {label}(逾期 {row.state.overdue_hours} 小时)",
            unit_id=t.unit_id, subject_type="checkpoint_trip", subject_id=t.id,
            detail={"state": row.state.state, "epass_no": t.epass_no, "plate": t.plate})))
    ids = tasks_service.create_tasks(session, actor, [n for _t, n in new])
    for (t, _n), tid in zip(new, ids, strict=True):
        t.task_id = tid
    session.flush()
    return ids


def close_driver_staying(session: Session, actor: Actor, *, trip_id: int, at: dt.datetime | None = None) -> list[int]:
    """Close a trip as "driver staying" (司乘留驻): its crew (the driver and crew of the entry passage)
    become `checkpoint` leads; the trip's task, if open, is closed. Returns the lead ids. Needs
    `trip.manage`; audited."""
    actor.require("trip.manage")
    trip = scope.get_visible(session, actor, Trip, trip_id)
    if trip.closed_as is not None:
        raise Conflict(TRIP_CLOSED(id=trip.id))
    when = at or clock.now()
    entry = session.get(CheckpointRecord, trip.entry_record_id)
    assert entry is not None
    crew = list(session.execute(select(CheckpointRecord).where(
        CheckpointRecord.passage_key == entry.passage_key, CheckpointRecord.person_id.is_not(None))
        .order_by(CheckpointRecord.id)).scalars())
    trip.closed_as, trip.closed_at = "driver_staying", when
    session.flush()
    from fangkong.kernel.people import crypto
    from fangkong.kernel.people.models import Person

    items = []
    for i, rec in enumerate(crew, 1):
        person = session.get(Person, rec.person_id)
        if person is None:
            continue
        id_number = crypto.decrypt(person.id_number_enc) if getattr(person, "id_number_enc", None) else ""
        phone = crypto.decrypt(person.phone_enc) if getattr(person, "phone_enc", None) else ""
        items.append(intake_service.LeadItem(i, {
            "name": person.name or "", "id_number": id_number, "phone": phone, "origin": rec.origin or "",
            "arrival_at": clock.iso_local(rec.inspected_at), "address": rec.address or "",
            "transport": f"货车 {trip.plate}", "reason": "点对点闭环:司乘人员留驻本地",
            "source_ref": f"trip:{trip.id}:{rec.record_ref}"[:128]}))
    lead_ids: list[int] = []
    if items:
        result = intake_service.ingest_leads(session, actor, channel="checkpoint", items=items, via="api")
        lead_ids = [r.extra["lead_id"] for r in result.rows if r.extra.get("lead_id")]
    if trip.task_id is not None:
        tasks_service.close_open_tasks_about(session, actor, kind=kinds.TRIP_OVERDUE, subject_type="checkpoint_trip",
                                             outcomes={trip.id: None}, outcome_code="driver_staying")
    audit.record(session, actor, "checkpoints.trip_closed", object_type="checkpoint_trip", object_id=trip.id,
                 closed_as="driver_staying", leads=lead_ids)
    return lead_ids


def get_trip(session: Session, actor: Actor, trip_id: int) -> Trip:
    actor.require("trip.view")
    return scope.get_visible(session, actor, Trip, trip_id)


def trips_of_plates(session: Session, plates: Iterable[str]) -> dict[str, list[Trip]]:
    out: dict[str, list[Trip]] = defaultdict(list)
    for chunk in chunks(sorted(set(plates))):
        for t in session.execute(select(Trip).where(Trip.plate.in_(chunk))).scalars():
            out[t.plate].append(t)
    return out

