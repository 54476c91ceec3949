"""Checkpoint reports: shift counts (班次统计) and vehicles stranded at service areas (服务区滞留车辆)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints import kinds, rules
from fangkong.checkpoints.models import Checkpoint, CheckpointRecord
from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service

SHIFT_COLUMNS = ["checkpoint", "day", "shift", "vehicles_in", "vehicles_out", "persons_in", "persons_out",
                 "trucks_in", "leads", "sampled", "returned"]
STRANDED_COLUMNS = ["plate", "service_area", "first_seen_at", "last_seen_at", "hours"]


def shift_counts(session: Session, actor: Actor, *, day: dt.date) -> list[dict[str, Any]]:
    """One row per shift starting on `day` per checkpoint (service areas excepted), zeros included:
    vehicles = distinct passages with a plate; persons = records with a person; trucks = distinct truck
    passages; leads = records that made a lead; sampled/returned = records decided `test`/`return`."""
    tz = clock.tz()
    out: list[dict[str, Any]] = []
    cps = checkpoints_service.list_checkpoints(session, actor, include_service_areas=False)
    for cp in sorted(cps, key=lambda c: (c.ref or c.code, c.place_id)):
        windows = [(s, *s.window(day, tz)) for s in cp.shifts]
        if not windows:
            continue
        lo, hi = min(w[1] for w in windows), max(w[2] for w in windows)
        recs = session.execute(select(
            CheckpointRecord.inspected_at, CheckpointRecord.direction, CheckpointRecord.passage_key,
            CheckpointRecord.plate, CheckpointRecord.vehicle_type, CheckpointRecord.person_id,
            CheckpointRecord.lead_id, CheckpointRecord.decision).where(
            CheckpointRecord.place_id == cp.place_id, CheckpointRecord.inspected_at >= lo,
            CheckpointRecord.inspected_at < hi)).all()
        for shift, start, end in windows:
            n: dict[str, Any] = defaultdict(int)
            vehicles: dict[str, set[str]] = {"in": set(), "out": set()}
            trucks: set[str] = set()
            for r in recs:
                if not start <= r.inspected_at < end:
                    continue
                if r.plate and r.direction in vehicles:
                    vehicles[r.direction].add(r.passage_key)
                    if r.direction == "in" and r.vehicle_type == "truck":
                        trucks.add(r.passage_key)
                if r.person_id is not None and r.direction in ("in", "out"):
                    n[f"persons_{r.direction}"] += 1
                n["leads"] += r.lead_id is not None
                n["sampled"] += r.decision == "test"
                n["returned"] += r.decision == "return"
            out.append({"checkpoint": cp.ref or cp.code, "checkpoint_name": cp.name, "day": day.isoformat(),
                        "shift": shift.label, "vehicles_in": len(vehicles["in"]), "vehicles_out": len(vehicles["out"]),
                        "persons_in": n["persons_in"], "persons_out": n["persons_out"], "trucks_in": len(trucks),
                        "leads": n["leads"], "sampled": n["sampled"], "returned": n["returned"]})
    return out


# ------------------------------------------------------------------------------------ service areas

@dataclass(frozen=True)
class StrandedVehicle:
    plate: str
    place_id: int
    service_area: str
    service_area_name: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    hours: float
    first_record_id: int

    def as_dict(self) -> dict[str, Any]:
        return {"plate": self.plate, "service_area": self.service_area, "service_area_name": self.service_area_name,
                "first_seen_at": self.first_seen_at, "last_seen_at": self.last_seen_at, "hours": self.hours}


def stranded(session: Session, actor: Actor, *, at: dt.datetime) -> list[StrandedVehicle]:
    """Vehicles stranded at a service area at `at` (rule `rules.stranded_at`, hours from the policy pack),
    for the service areas in the actor's jurisdiction; by plate. Needs `checkpoint.view`."""
    actor.require("checkpoint.view")
    min_hours = policy_service.active_pack(session).checkpoints.stranded_hours
    areas = {p.id: p for p in session.execute(scope.visible(
        select(Place).join(Checkpoint, Checkpoint.place_id == Place.id).where(Checkpoint.kind == "service_area"),
        actor, Place)).scalars()}
    if not areas:
        return []
    all_areas = set(session.execute(select(Checkpoint.place_id).where(Checkpoint.kind == "service_area")).scalars())
    # plates sighted at these service areas in the longest run that can matter: look back far enough
    plates = set(session.execute(select(CheckpointRecord.plate).where(
        CheckpointRecord.place_id.in_(sorted(areas)), CheckpointRecord.plate.is_not(None),
        CheckpointRecord.direction == "seen", CheckpointRecord.inspected_at <= at,
        CheckpointRecord.inspected_at >= at - dt.timedelta(days=14))).scalars())
    out = []
    for plate in sorted(plates):
        recs = session.execute(select(CheckpointRecord.id, CheckpointRecord.inspected_at, CheckpointRecord.place_id,
                                      CheckpointRecord.direction, CheckpointRecord.decision).where(
            CheckpointRecord.plate == plate, CheckpointRecord.inspected_at <= at)
            .order_by(CheckpointRecord.inspected_at, CheckpointRecord.id)).all()
        found = rules.stranded_at([rules.Sighting(r.inspected_at, r.place_id, r.place_id in all_areas, r.direction,
                                                  r.decision) for r in recs], at, min_hours)
        if found is None or found.place_id not in areas:
            continue
        first_id = next(r.id for r in recs if r.inspected_at == found.first_seen_at and r.place_id == found.place_id)
        place = areas[found.place_id]
        out.append(StrandedVehicle(plate, place.id, place.ref or place.code, place.name, found.first_seen_at,
                                   found.last_seen_at, found.hours, first_id))
    return out


def make_stranded_tasks(session: Session, actor: Actor, *, at: dt.datetime) -> list[int]:
    """One task per stranded vehicle's run (subject: the run's first sighting), at the service area's unit;
    a run already tasked is not tasked again. Needs `trip.manage`."""
    actor.require("trip.manage")
    found = stranded(session, actor, at=at)
    new = []
    for v in found:
        if tasks_service.open_task_for(session, kind=kinds.STRANDED, subject_type="checkpoint_record",
                                       subject_id=v.first_record_id) is not None:
            continue
        place = session.get(Place, v.place_id)
        assert place is not None
        new.append(tasks_service.NewTask(
            kind=kinds.STRANDED, title=f"服务区滞留车辆 {v.plate}({v.service_area_name},{v.hours} 小时)",
            unit_id=place.unit_id, subject_type="checkpoint_record", subject_id=v.first_record_id,
            detail={"plate": v.plate, "service_area": v.service_area}))
    ids = tasks_service.create_tasks(session, actor, new)
    if ids:
        audit.record(session, actor, "checkpoints.stranded_tasks", object_type="task", count=len(ids))
    return ids
