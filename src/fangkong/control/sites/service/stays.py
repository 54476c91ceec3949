"""Rooms for measures (房间安排): propose a room, assign it with a transport task (转运), arrival (the
measure starts), transfers between sites or to hospital, and leaving a room when a measure ends or
steps down (the room goes to cleaning when left empty).

Two requests for the last free bed: the room row is locked (`FOR UPDATE` on PostgreSQL; SQLite's
writers queue behind `BEGIN IMMEDIATE`) before its beds are counted, and one open stay per bed is a
unique index besides, so one request wins and the other gets 409."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.control.service import lifecycle
from fangkong.control.sites import kinds, rules
from fangkong.control.sites.models import QuarantineSite, Room, RoomStay
from fangkong.control.sites.service import sites as sites_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    REQUIRED,
    TOO_LONG,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.messages import _, labels, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.tasks import service as tasks_service

labels("audit_action", {"site.assigned": _("Room assigned"), "site.arrived": _("Arrived at the site"),
                        "site.transferred": _("Transferred"), "site.left": _("Left the room")})
labels("field", {"room_id": _("Room"), "pickup": _("Pickup address"), "pickup_at": _("Pickup time"),
                 "vehicle": _("Vehicle"), "escort": _("Escort")})

ROOM_TAKEN = message("room.taken", _("room %(room)s has no free bed for %(n)s person(s) any more"))
ROOM_NOT_READY = message("room.not_ready", _("room %(room)s is %(state)s"))
SITE_NOT_ACTIVE = message("site.not_active", _("the site %(site)s is not in use (%(status)s)"))
ALREADY_IN_ROOM = message("measure.in_room", _("measure %(id)s already has room %(room)s: transfer instead"))
NOT_WAITING = message("measure.not_waiting", _("measure %(id)s is %(status)s: no room can be assigned"))
NO_ROOM = message("measure.no_room", _("measure %(id)s has no room"))
NO_ROOM_FREE = message("site.no_room_free", _("no active site has a room with %(n)s free bed(s)"))
INVALID_ASSIGNMENT = message("room.invalid_assignment", _("invalid room assignment"))
ONE_HOUSEHOLD = message("room.one_household", _("a room is shared only by one household"))
ARRIVED_ALREADY = message("stay.arrived", _("already arrived"))

#: measure states a room may be assigned in: awaiting it, or active (restarted into central quarantine)
ASSIGNABLE = ("planned", "active")


@dataclass(frozen=True)
class Proposal:
    """A proposed room: the site and room, with its free beds and how the site was chosen."""

    site_id: int
    site_name: str
    room_id: int
    room: str
    building: str
    floor: int
    free_beds: int
    nearness: int


def _measures(session: Session, actor: Actor, measure_ids: Sequence[int]) -> list[Measure]:
    actor.require("measure.start")
    ids = sorted(set(measure_ids))
    if not ids:
        raise ValidationFailed(INVALID_ASSIGNMENT(), [FieldError("measure_ids", REQUIRED())])
    return [scope.get_visible(session, actor, Measure, i) for i in ids]


def open_stay(session: Session, measure_id: int, *, at: dt.datetime | None = None) -> RoomStay | None:
    stmt = select(RoomStay).where(RoomStay.measure_id == measure_id, RoomStay.until_at.is_(None))
    if at is not None:
        stmt = stmt.where(RoomStay.from_at <= at)
    return session.execute(stmt.order_by(RoomStay.id.desc())).scalars().first()


def stays_of(session: Session, measure_ids: Sequence[int], *, at: dt.datetime) -> dict[int, tuple[RoomStay, Room]]:
    """The room each measure holds at `at` (for lists and exports)."""
    out: dict[int, tuple[RoomStay, Room]] = {}
    ids = sorted(set(measure_ids))
    for i in range(0, len(ids), 500):
        stmt = (select(RoomStay, Room).join(Room, Room.id == RoomStay.room_id)
                .where(RoomStay.measure_id.in_(ids[i:i + 500]), RoomStay.from_at <= at,
                       or_(RoomStay.until_at.is_(None), RoomStay.until_at > at)))
        for s, r in session.execute(stmt):
            out[s.measure_id] = (s, r)
    return out


def propose_rooms(session: Session, actor: Actor, *, measure_ids: Sequence[int], at: dt.datetime | None = None,
                  limit: int = 5) -> list[Proposal]:
    """Rooms to propose for these persons together (a household kept together), best first: a room a
    member of their household holds already when it has beds left, then the nearest active site with
    space (`rules.proposal_order`: same community, street, district first)."""
    measures = _measures(session, actor, measure_ids)
    at = at or clock.now()
    person = session.get(Person, measures[0].person_id)
    home_path = person.unit_path if person is not None else measures[0].unit_path
    household = next((m.household for m in measures if m.household), None)
    sites = {p.id: p for p, status in session.execute(  # every active site of the city (a shared resource)
        select(Place, QuarantineSite.status)
        .outerjoin(QuarantineSite, QuarantineSite.place_id == Place.id)
        .where(Place.kind == "quarantine_site", or_(QuarantineSite.status.is_(None),
                                                     QuarantineSite.status == "active")))}
    rooms = list(session.execute(select(Room).where(Room.site_id.in_(sorted(sites) or [0]),
                                                    Room.status == "usable")).scalars())
    facts = sites_service.stay_facts(session, [r.id for r in rooms], at=at)
    free_rooms: dict[int, int] = defaultdict(int)
    cands: list[rules.Candidate] = []
    together: list[rules.Candidate] = []
    for r in rooms:
        beds = rules.free_beds(r.beds, r.status, facts.get(r.id, []), at, household=household)
        if not beds:
            continue
        inside = [s for s in facts.get(r.id, []) if s.open_at(at)]
        if not inside:
            free_rooms[r.site_id] += 1
        c = rules.Candidate(r.id, r.site_id, sites[r.site_id].unit_path, 0, r.building, r.floor, r.number, len(beds))
        (together if inside else cands).append(c)
    cands = [rules.Candidate(c.room_id, c.site_id, c.site_unit_path, free_rooms[c.site_id], c.building, c.floor,
                             c.number, c.free_beds) for c in cands]
    ordered = rules.proposal_order(home_path, together, persons=len(measures)) + rules.proposal_order(
        home_path, cands, persons=len(measures))
    return [Proposal(c.site_id, sites[c.site_id].name, c.room_id, f"{c.building}-{c.number}", c.building, c.floor,
                     c.free_beds, rules.nearness(home_path, c.site_unit_path)) for c in ordered[:limit]]


def _site_any(session: Session, site_id: int) -> tuple[Place, QuarantineSite]:
    """A site wherever it lies (assignment is city-wide); a site place without details reads as active."""
    place = session.get(Place, site_id)
    if place is None or place.kind != "quarantine_site":
        raise NotFound(record_not_found("quarantine_site", site_id))
    site = session.get(QuarantineSite, place.id)
    if site is None:
        site = QuarantineSite(place_id=place.id, status="active", contacts=None, created_at=clock.now(),
                              updated_at=clock.now(), unit_id=place.unit_id, unit_path=place.unit_path)
    return place, site


def _lock_room(session: Session, room_id: int) -> None:
    """Queue assignments of one room: a row lock on PostgreSQL, the write lock on SQLite."""
    session.execute(select(Room.id).where(Room.id == room_id).with_for_update())
    session.execute(update(Room).where(Room.id == room_id).values(lock_version=Room.lock_version + 1)
                    .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Transport:
    """A transport (转运): where and when the person is picked up, the vehicle and the escort."""

    pickup: str | None = None
    pickup_at: dt.datetime | None = None
    vehicle: str | None = None
    escort: str | None = None

    def check(self) -> list[FieldError]:
        errors = []
        for name, value, most in (("pickup", self.pickup, 200), ("vehicle", self.vehicle, 40),
                                  ("escort", self.escort, 100)):
            if value is not None and len(value) > most:
                errors.append(FieldError(name, TOO_LONG(max=most)))
        return errors


def _transport_task(session: Session, actor: Actor, *, measures: list[Measure], place: Place, room: Room,
                    stays: list[RoomStay], transport: Transport, at: dt.datetime, kind: str = "to_site") -> int:
    names = [p.name or f"#{p.id}" for p in session.execute(
        select(Person).where(Person.id.in_([m.person_id for m in measures]))).scalars()]
    title = f"转运 {'、'.join(names)[:80]} → {place.name} {room.building}-{room.number}"
    [task_id] = tasks_service.create_tasks(session, actor.acting_for("measure.start", "task.view", "task.work"), [
        tasks_service.NewTask(
            kind=kinds.TRANSPORT, title=title, unit_id=measures[0].unit_id, subject_type="room_stay",
            subject_id=stays[0].id, due_at=transport.pickup_at or at + dt.timedelta(hours=2),
            detail={"kind": kind, "stay_ids": [s.id for s in stays], "measure_ids": [m.id for m in measures],
                    "site_id": place.id, "room_id": room.id, "pickup": transport.pickup,
                    "pickup_at": clock.iso_local(transport.pickup_at) if transport.pickup_at else None,
                    "vehicle": transport.vehicle, "escort": transport.escort})])
    for s in stays:
        s.transport_task_id = task_id
    return task_id


def assign_room(session: Session, actor: Actor, *, measure_ids: Sequence[int], room_id: int,
                transport: Transport | None = None, household: str | None = None, at: dt.datetime | None = None,
                arrived: bool = False) -> list[RoomStay]:
    """Give these persons (one, or one household) beds in a room (分配房间) and a transport task
    (转运). The measures stay `planned` until arrival (`arrive`); `arrived=True` records them in the room
    already (a measure taken over from another system). 409 when the room has no beds for them (any
    more) or holds another household. Needs `measure.start`."""
    measures = _measures(session, actor, measure_ids)
    transport = transport or Transport()
    at = at or clock.now()
    errors = transport.check()
    if household is not None and len(household) > 64:
        errors.append(FieldError("household", TOO_LONG(max=64)))
    if errors:
        raise ValidationFailed(INVALID_ASSIGNMENT(), errors)
    for m in measures:
        if m.status not in ASSIGNABLE:
            raise Conflict(NOT_WAITING(id=m.id, status=m.status))
        held = open_stay(session, m.id)
        if held is not None:
            room = session.get(Room, held.room_id)
            raise Conflict(ALREADY_IN_ROOM(id=m.id, room=sites_service.room_label(room) if room else held.room_id))
    # sites are a city-wide resource: a worker may send someone to a site outside their own unit
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound(record_not_found("room", room_id))
    place, site = _site_any(session, room.site_id)
    if site.status != "active":
        raise Conflict(SITE_NOT_ACTIVE(site=place.name, status=site.status))
    households = {m.household for m in measures if m.household}
    if len(households) > 1:
        raise ValidationFailed(INVALID_ASSIGNMENT(), [FieldError("household", ONE_HOUSEHOLD())])
    household = household or (households.pop() if households else None)
    if household is None and len(measures) > 1:
        household = f"M{measures[0].id}"
    _lock_room(session, room.id)
    facts = sites_service.stay_facts(session, [room.id], at=at).get(room.id, [])
    state = rules.room_state(room.status, facts, at)
    if state in ("cleaning", "out_of_service"):
        raise Conflict(ROOM_NOT_READY(room=sites_service.room_label(room), state=state))
    beds = rules.free_beds(room.beds, room.status, facts, at, household=household)
    if len(beds) < len(measures):
        raise Conflict(ROOM_TAKEN(room=sites_service.room_label(room), n=len(measures)))
    stays = []
    try:
        with session.begin_nested():
            for m, bed in zip(measures, beds, strict=False):
                s = RoomStay(room_id=room.id, site_id=place.id, measure_id=m.id, person_id=m.person_id,
                             household=household, bed=bed, from_at=at, arrived_at=at if arrived else None,
                             needs_cleaning=False, unit_id=place.unit_id, unit_path=place.unit_path)
                session.add(s)
                stays.append(s)
            session.flush()
    except IntegrityError:
        raise Conflict(ROOM_TAKEN(room=sites_service.room_label(room), n=len(measures))) from None
    for m in measures:
        m.place_kind, m.place_id = "site", place.id
        if household and not m.household:
            m.household = household
    task_id = None if arrived else _transport_task(session, actor, measures=measures, place=place, room=room,
                                                   stays=stays, transport=transport, at=at)
    session.flush()
    audit.record(session, actor, "site.assigned", object_type="site_room", object_id=room.id,
                 measure_ids=[m.id for m in measures], person_ids=[m.person_id for m in measures],
                 household=household, transport_task_id=task_id, arrived=arrived)
    return stays


def assign_proposed(session: Session, actor: Actor, *, measure_ids: Sequence[int], transport: Transport | None = None,
                    at: dt.datetime | None = None) -> list[RoomStay]:
    """Assign the best proposed room (409 when none is free)."""
    at = at or clock.now()
    proposals = propose_rooms(session, actor, measure_ids=measure_ids, at=at, limit=1)
    if not proposals:
        raise Conflict(NO_ROOM_FREE(n=len(set(measure_ids))))
    return assign_room(session, actor, measure_ids=measure_ids, room_id=proposals[0].room_id, transport=transport,
                       at=at)


def arrive(session: Session, actor: Actor, *, measure_id: int, at: dt.datetime | None = None) -> RoomStay:
    """The person arrived at the site (入住): a planned measure becomes active (the lifecycle records
    it), the stay is marked arrived and the transport task closes once everyone on it has arrived."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    at = at or clock.now()
    stay = open_stay(session, measure.id)
    if stay is None:
        raise Conflict(NO_ROOM(id=measure.id))
    if stay.arrived_at is not None:
        raise Conflict(ARRIVED_ALREADY())
    stay.arrived_at = at
    if measure.status == "planned":
        lifecycle.change_status(session, actor, measure_id=measure.id, to_status="active", reason="arrived", at=at)
    if measure.phase != "central" and measure.status == "active":
        measure.phase = "central"
    session.flush()
    if stay.transport_task_id is not None:
        waiting = session.execute(select(RoomStay.id).where(RoomStay.transport_task_id == stay.transport_task_id,
                                                            RoomStay.arrived_at.is_(None),
                                                            RoomStay.until_at.is_(None))).first()
        task = tasks_service.open_task_for(session, kind=kinds.TRANSPORT, subject_type="room_stay",
                                           subject_id=_first_stay(session, stay.transport_task_id))
        if waiting is None and task is not None and task.id == stay.transport_task_id:
            tasks_service.complete_task(session, actor.acting_for("measure.start", "task.view", "task.work"),
                                        task.id, outcome_code="arrived", outcome={"at": clock.iso_local(at)},
                                        by_owner=True)
    audit.record(session, actor, "site.arrived", object_type="measure", object_id=measure.id, stay_id=stay.id,
                 room_id=stay.room_id)
    return stay


def _first_stay(session: Session, task_id: int) -> int:
    return session.execute(select(RoomStay.id).where(RoomStay.transport_task_id == task_id)
                           .order_by(RoomStay.id)).scalars().first() or 0


def leave_room(session: Session, measure: Measure, *, at: dt.datetime, reason: str) -> RoomStay | None:
    """End the measure's stay at `at` (released, stepped down, converted, transferred, cancelled); the
    last to leave a room leaves it to be cleaned. Called by the lifecycle on every change that takes
    the person out of central quarantine."""
    stay = open_stay(session, measure.id)
    if stay is None:
        return None
    stay.until_at = max(at, stay.from_at)
    stay.end_reason = reason[:32]
    others = session.execute(select(RoomStay.id).where(RoomStay.room_id == stay.room_id, RoomStay.id != stay.id,
                                                       RoomStay.until_at.is_(None))).first()
    stay.needs_cleaning = others is None
    session.flush()
    return stay


def transfer(session: Session, actor: Actor, *, measure_id: int, to_room_id: int | None = None,
             to_hospital: str | None = None, transport: Transport | None = None, reason: str = "",
             at: dt.datetime | None = None) -> RoomStay | None:
    """Move a person to another room or site (转隔离点), or to hospital (转医院: the measure is
    transferred out unless it ended already). The old room goes to cleaning when left empty; a
    transport task carries the person. Returns the new stay (None to hospital)."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    at = at or clock.now()
    old = open_stay(session, measure.id)
    if old is None:
        raise Conflict(NO_ROOM(id=measure.id))
    if (to_room_id is None) == (to_hospital is None):
        raise ValidationFailed(INVALID_ASSIGNMENT(), [FieldError("to_room_id", REQUIRED())])
    old_room = session.get(Room, old.room_id)
    assert old_room is not None
    if to_hospital is not None:
        hospital = " ".join(to_hospital.split())[:100]
        leave_room(session, measure, at=at, reason="hospital")
        place = session.get(Place, old.site_id)
        assert place is not None
        task_transport = transport or Transport()
        [task_id] = tasks_service.create_tasks(session, actor.acting_for("measure.start", "task.view", "task.work"), [
            tasks_service.NewTask(kind=kinds.TRANSPORT, title=f"转运 → {hospital}", unit_id=place.unit_id,
                                  subject_type="room_stay", subject_id=old.id,
                                  due_at=task_transport.pickup_at or at + dt.timedelta(hours=1),
                                  detail={"kind": "to_hospital", "hospital": hospital, "measure_ids": [measure.id],
                                          "from_room_id": old_room.id, "pickup": place.name,
                                          "vehicle": task_transport.vehicle, "escort": task_transport.escort})])
        if measure.status in ASSIGNABLE:
            lifecycle.change_status(session, actor, measure_id=measure.id, to_status="transferred_out",
                                    reason=reason or f"hospital: {hospital}", at=at)
        audit.record(session, actor, "site.transferred", object_type="measure", object_id=measure.id,
                     from_room_id=old_room.id, to_hospital=hospital, transport_task_id=task_id)
        return None
    assert to_room_id is not None
    old.until_at, old.end_reason = at, "transfer"
    session.flush()
    try:
        [stay] = assign_room(session, actor, measure_ids=[measure.id], room_id=to_room_id, transport=transport,
                             household=old.household, at=at)
    except Exception:
        old.until_at, old.end_reason = None, None
        raise
    others = session.execute(select(RoomStay.id).where(RoomStay.room_id == old.room_id, RoomStay.id != old.id,
                                                       RoomStay.until_at.is_(None))).first()
    old.needs_cleaning = others is None
    session.flush()
    audit.record(session, actor, "site.transferred", object_type="measure", object_id=measure.id,
                 from_room_id=old_room.id, to_room_id=to_room_id, stay_id=stay.id)
    return stay


def get_stay(session: Session, actor: Actor, stay_id: int) -> RoomStay:
    actor.require("place.view")
    stay = scope.get_visible(session, actor, RoomStay, stay_id)
    if stay is None:
        raise NotFound(record_not_found("room", stay_id))
    return stay
