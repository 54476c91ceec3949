"""Sites and rooms (集中隔离点与房间): register them (one at a time or from files), read a site's rooms
with their state at a moment, mark a room clean or out of service."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from fangkong.control.sites import rules
from fangkong.control.sites.models import ROOM_STATUSES, SITE_STATUSES, QuarantineSite, Room, RoomStay
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.errors import (
    ONE_OF,
    REQUIRED,
    REQUIRED_TOO_LONG,
    TOO_LONG,
    UNKNOWN_UNIT,
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.messages import FieldIssue, Term, _, labels, message
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportRow, checkpoint, read_table, summarise

labels("site_status", {"active": _("in use"), "standby": _("standby"), "closed": _("closed")})
labels("room_status", {"usable": _("usable"), "out_of_service": _("out of service")})
labels("room_state", {"free": _("free"), "occupied": _("occupied"), "cleaning": _("being cleaned"),
                      "out_of_service": _("out of service")})
labels("record", {"quarantine_site": _("quarantine site"), "room": _("room")})
labels("field", {"site_ref": _("Site reference"), "building": _("Building"), "floor": _("Floor"), "room": _("Room"),
                 "beds": _("Beds"), "contacts": _("Contacts")})
labels("audit_action", {"site.registered": _("Quarantine site registered"), "site.updated": _("Quarantine site updated"),
                        "site.rooms_added": _("Rooms added"), "site.room_cleaned": _("Room marked clean"),
                        "site.room_status": _("Room status changed"), "sites.imported": _("Quarantine sites imported"),
                        "rooms.imported": _("Rooms imported")})

INVALID_SITE = message("site.invalid", _("invalid quarantine site"))
INVALID_ROOM = message("room.invalid", _("invalid room"))
UNKNOWN_SITE = message("site.unknown", _("unknown quarantine site %(ref)s"))
NOT_A_SITE = message("site.not_a_site", _("%(ref)s is a place of another kind, not a quarantine site"))
REPEATED = message("site.repeated", _("repeated in this file (row %(row)s)"))
ALREADY = message("site.already", _("already stored with %(field)s %(value)s; kept"))
WHOLE_NUMBER = message("room.whole_number", _("a whole number from %(min)s to %(max)s"))
ROOM_EXISTS = message("room.exists", _("room %(building)s-%(number)s already exists at this site"))
NOT_EMPTY = message("room.not_empty", _("room %(room)s is occupied: move its occupants first"))
NOT_CLEANING = message("room.not_cleaning", _("room %(room)s is not waiting for cleaning"))

SITE_COLUMNS: dict[str, list[str]] = {
    "ref": ["site_ref", "site ref", "编号", "隔离点编号", "隔离点编码", "外部编号"],
    "name": ["site name", "名称", "隔离点名称", "隔离点"],
    "address": ["地址", "详细地址", "隔离点地址"],
    "unit": ["unit_code", "unit code", "属地", "属地编码", "所属单位", "所属区县"],
    "status": ["状态", "启用状态"],
    "contacts": ["contact", "联系人", "联系方式", "负责人"],
}
ROOM_COLUMNS: dict[str, list[str]] = {
    "site_ref": ["site", "隔离点", "隔离点编号", "隔离点编码"],
    "building": ["楼栋", "楼号", "栋"],
    "floor": ["楼层", "层"],
    "room": ["number", "room_number", "房间", "房间号", "房号"],
    "beds": ["床位", "床位数", "床数"],
    "status": ["状态", "房间状态"],
}
#: status words a file may use
SITE_STATUS_WORDS = {"active": "active", "启用": "active", "在用": "active", "使用中": "active", "standby": "standby",
                     "备用": "standby", "储备": "standby", "closed": "closed", "关闭": "closed", "停用": "closed"}
ROOM_STATUS_WORDS = {"usable": "usable", "可用": "usable", "正常": "usable", "out_of_service": "out_of_service",
                     "out of service": "out_of_service", "停用": "out_of_service", "不可用": "out_of_service",
                     "维修": "out_of_service"}
MAX_BEDS = 8
MAX_FLOOR = 200


def _now() -> dt.datetime:
    return clock.now()


# ------------------------------------------------------------------------------------------- sites

def register_site(session: Session, actor: Actor, *, name: str, ref: str | None = None, address: str | None = None,
                  unit_id: int | None = None, status: str = "active", contacts: str | None = None,
                  place_id: int | None = None) -> QuarantineSite:
    """Register a quarantine site (登记集中隔离点): a place of kind `quarantine_site` (made here unless
    `place_id` names one already known) with its status and contacts. Needs `place.manage`."""
    actor.require("place.manage")
    errors: list[FieldError] = []
    if status not in SITE_STATUSES:
        errors.append(FieldError("status", ONE_OF(choices=[Term(s, kind="site_status") for s in SITE_STATUSES])))
    if contacts is not None and len(contacts) > 255:
        errors.append(FieldError("contacts", TOO_LONG(max=255)))
    if errors:
        raise ValidationFailed(INVALID_SITE(), errors)
    if place_id is not None:
        place = scope.get_visible(session, actor, Place, place_id)
        if place.kind != "quarantine_site":
            raise ValidationFailed(INVALID_SITE(), [FieldError("place_id", NOT_A_SITE(ref=place.code))])
        if session.get(QuarantineSite, place.id) is not None:
            raise Conflict(ALREADY(field="ref", value=place.ref or place.code))
    else:
        place = places_service.create_place(session, actor, kind="quarantine_site", name=name, ref=ref,
                                            address_text=address, unit_id=unit_id)
    now = _now()
    site = QuarantineSite(place_id=place.id, status=status, contacts=(contacts or "").strip() or None,
                          created_at=now, updated_at=now, unit_id=place.unit_id, unit_path=place.unit_path)
    session.add(site)
    session.flush()
    audit.record(session, actor, "site.registered", object_type="place", object_id=place.id, status=status)
    return site


def site_of(session: Session, actor: Actor, site_id: int) -> tuple[Place, QuarantineSite]:
    """A quarantine site in the actor's jurisdiction (NotFound otherwise). A quarantine-site place
    registered before sites had details reads as active, without contacts."""
    actor.require("place.view")
    place = scope.get_visible(session, actor, Place, site_id)
    if place.kind != "quarantine_site":
        raise NotFound(record_not_found("quarantine_site", site_id))
    site = session.get(QuarantineSite, place.id)
    if site is None:
        now = _now()
        site = QuarantineSite(place_id=place.id, status="active", contacts=None, created_at=now, updated_at=now,
                              unit_id=place.unit_id, unit_path=place.unit_path)
    return place, site


def _stored_site(session: Session, actor: Actor, site_id: int) -> tuple[Place, QuarantineSite]:
    place, site = site_of(session, actor, site_id)
    if site not in session:
        session.add(site)
        session.flush()
    return place, site


def set_site_status(session: Session, actor: Actor, *, site_id: int, status: str, contacts: str | None = None
                    ) -> QuarantineSite:
    """Put a site in use, on standby or close it; change its contacts. Needs `place.manage`."""
    actor.require("place.manage")
    if status not in SITE_STATUSES:
        raise ValidationFailed(INVALID_SITE(), [FieldError(
            "status", ONE_OF(choices=[Term(s, kind="site_status") for s in SITE_STATUSES]))])
    _place, site = _stored_site(session, actor, site_id)
    old = site.status
    site.status = status
    if contacts is not None:
        site.contacts = contacts.strip()[:255] or None
    site.updated_at = _now()
    session.flush()
    audit.record(session, actor, "site.updated", object_type="place", object_id=site.place_id, from_status=old,
                 to_status=status)
    return site


@dataclass(frozen=True)
class SiteRow:
    """A site as lists show it."""

    id: int
    ref: str | None
    code: str
    name: str
    address: str | None
    unit_id: int
    status: str
    contacts: str | None


def list_sites(session: Session, actor: Actor, *, status: str | None = None, limit: int = 500) -> list[SiteRow]:
    """Quarantine sites in the actor's jurisdiction, by name."""
    actor.require("place.view")
    stmt = (scope.visible(select(Place, QuarantineSite), actor, Place)
            .outerjoin(QuarantineSite, QuarantineSite.place_id == Place.id).where(Place.kind == "quarantine_site"))
    if status == "active":
        stmt = stmt.where(or_(QuarantineSite.status.is_(None), QuarantineSite.status == "active"))
    elif status is not None:
        stmt = stmt.where(QuarantineSite.status == status)
    out = []
    for p, s in session.execute(stmt.order_by(Place.name, Place.id).limit(max(1, min(limit, 5000)))):
        out.append(SiteRow(p.id, p.ref, p.code, p.name, p.address_text, p.unit_id, s.status if s else "active",
                           s.contacts if s else None))
    return out


# ------------------------------------------------------------------------------------------- rooms

def _int(text: str, lo: int, hi: int) -> int:
    s = text.strip().replace(",", "")
    for suffix in ("层", "楼", "F", "f", "床"):
        s = s.removesuffix(suffix)
    value = float(s)
    if not value.is_integer() or not lo <= value <= hi:
        raise ValueError
    return int(value)


def add_room(session: Session, actor: Actor, *, site_id: int, building: str, floor: int, number: str, beds: int = 1,
             status: str = "usable") -> Room:
    """Add a room to a site. Needs `place.manage`."""
    actor.require("place.manage")
    place, _site = _stored_site(session, actor, site_id)
    building, number = (building or "").strip(), (number or "").strip()
    errors: list[FieldError] = []
    if not building or len(building) > 20:
        errors.append(FieldError("building", REQUIRED_TOO_LONG(max=20)))
    if not number or len(number) > 20:
        errors.append(FieldError("room", REQUIRED_TOO_LONG(max=20)))
    if not -5 <= floor <= MAX_FLOOR:
        errors.append(FieldError("floor", WHOLE_NUMBER(min=-5, max=MAX_FLOOR)))
    if not 1 <= beds <= MAX_BEDS:
        errors.append(FieldError("beds", WHOLE_NUMBER(min=1, max=MAX_BEDS)))
    if status not in ROOM_STATUSES:
        errors.append(FieldError("status", ONE_OF(choices=[Term(s, kind="room_status") for s in ROOM_STATUSES])))
    if errors:
        raise ValidationFailed(INVALID_ROOM(), errors)
    if session.execute(select(Room.id).where(Room.site_id == place.id, Room.building == building,
                                             Room.number == number)).first():
        raise Conflict(ROOM_EXISTS(building=building, number=number))
    room = Room(site_id=place.id, building=building, floor=floor, number=number, beds=beds, status=status,
                lock_version=0, created_at=_now(), unit_id=place.unit_id, unit_path=place.unit_path)
    session.add(room)
    session.flush()
    audit.record(session, actor, "site.rooms_added", object_type="place", object_id=place.id, count=1, room=room.id)
    return room


def room_label(room: Room) -> str:
    return f"{room.building}-{room.number}"


def get_room(session: Session, actor: Actor, room_id: int) -> Room:
    actor.require("place.view")
    return scope.get_visible(session, actor, Room, room_id)


def set_room_status(session: Session, actor: Actor, *, room_id: int, status: str, at: dt.datetime | None = None
                    ) -> Room:
    """Take a room out of service (or back). An occupied room cannot go out of service. Needs `place.manage`."""
    actor.require("place.manage")
    room = scope.get_visible(session, actor, Room, room_id)
    if status not in ROOM_STATUSES:
        raise ValidationFailed(INVALID_ROOM(), [FieldError(
            "status", ONE_OF(choices=[Term(s, kind="room_status") for s in ROOM_STATUSES]))])
    at = at or _now()
    if status == "out_of_service" and room_states(session, [room], at=at)[room.id] == "occupied":
        raise Conflict(NOT_EMPTY(room=room_label(room)))
    old, room.status = room.status, status
    session.flush()
    audit.record(session, actor, "site.room_status", object_type="site_room", object_id=room.id, from_status=old,
                 to_status=status)
    return room


def mark_clean(session: Session, actor: Actor, *, room_id: int, at: dt.datetime | None = None) -> Room:
    """The room's terminal disinfection is done (终末消毒完成): it is free again. Needs `measure.start`
    (site staff who assign rooms) or `place.manage`."""
    if not actor.can("measure.start"):
        actor.require("place.manage")
    room = scope.get_visible(session, actor, Room, room_id)
    at = at or _now()
    stays = list(session.execute(select(RoomStay).where(
        RoomStay.room_id == room.id, RoomStay.needs_cleaning.is_(True), RoomStay.cleaned_at.is_(None),
        RoomStay.until_at <= at)).scalars())
    if not stays:
        raise Conflict(NOT_CLEANING(room=room_label(room)))
    for s in stays:
        s.cleaned_at = at
    session.flush()
    audit.record(session, actor, "site.room_cleaned", object_type="site_room", object_id=room.id,
                 stays=[s.id for s in stays])
    return room


def stay_facts(session: Session, room_ids: Sequence[int], *, at: dt.datetime) -> dict[int, list[rules.StayFact]]:
    """The stays that decide these rooms' states at `at`: open then, or left to be cleaned."""
    out: dict[int, list[rules.StayFact]] = defaultdict(list)
    ids = sorted(set(room_ids))
    for i in range(0, len(ids), 500):
        stmt = select(RoomStay).where(in_list(session, RoomStay.room_id, ids[i:i + 500]), RoomStay.from_at <= at, or_(
            RoomStay.until_at.is_(None), RoomStay.until_at > at,
            and_(RoomStay.needs_cleaning.is_(True), or_(RoomStay.cleaned_at.is_(None), RoomStay.cleaned_at > at))))
        for s in session.execute(stmt).scalars():
            out[s.room_id].append(rules.StayFact(s.person_id, s.household, s.from_at, s.until_at, s.needs_cleaning,
                                                 s.cleaned_at, s.bed))
    return out


def room_states(session: Session, rooms: Sequence[Room], *, at: dt.datetime) -> dict[int, str]:
    facts = stay_facts(session, [r.id for r in rooms], at=at)
    return {r.id: rules.room_state(r.status, facts.get(r.id, []), at) for r in rooms}


@dataclass(frozen=True)
class Occupant:
    """Who holds a bed: the person (name, masked ID), the measure, arrived or on the way."""

    stay_id: int
    person_id: int
    name: str | None
    id_masked: str | None
    measure_id: int
    bed: int
    household: str | None
    arrived: bool


@dataclass(frozen=True)
class RoomView:
    id: int
    building: str
    floor: int
    number: str
    beds: int
    status: str
    state: str
    occupants: tuple[Occupant, ...]


def site_rooms(session: Session, actor: Actor, site_id: int, *, at: dt.datetime) -> tuple[Place, QuarantineSite,
                                                                                           list[RoomView]]:
    """A site and its rooms (by building, floor, number) with their state and occupants at `at`."""
    from fangkong.kernel.people.models import Person

    place, site = site_of(session, actor, site_id)
    rooms = list(session.execute(select(Room).where(Room.site_id == place.id)).scalars())
    rooms.sort(key=lambda r: (r.building, r.floor, rules._natural(r.number)))
    facts = stay_facts(session, [r.id for r in rooms], at=at)
    open_stays: dict[int, list[tuple[RoomStay, Person]]] = defaultdict(list)
    stmt = (select(RoomStay, Person).join(Person, Person.id == RoomStay.person_id)
            .where(RoomStay.site_id == place.id, RoomStay.from_at <= at,
                   or_(RoomStay.until_at.is_(None), RoomStay.until_at > at)))
    for s, p in session.execute(stmt):
        open_stays[s.room_id].append((s, p))
    views = []
    for r in rooms:
        occ = tuple(Occupant(s.id, p.id, p.name, p.id_number_masked, s.measure_id, s.bed, s.household,
                             s.arrived_at is not None and s.arrived_at <= at)
                    for s, p in sorted(open_stays.get(r.id, []), key=lambda x: x[0].bed))
        views.append(RoomView(r.id, r.building, r.floor, r.number, r.beds, r.status,
                              rules.room_state(r.status, facts.get(r.id, []), at), occ))
    return place, site, views


# ------------------------------------------------------------------------------------------- files

def import_sites_file(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None] | None = None
                      ) -> list[ReportRow]:
    """`fangkong import sites FILE` (导入隔离点): ref, name, address, unit, status, contacts. Idempotent
    by ref: a stored ref is `duplicate` (a different name or status is mentioned, never changed).
    Report extra column: `site_id`. Needs `place.manage`."""
    actor.require("place.manage")
    table = read_table(path, SITE_COLUMNS, required_any=["ref", "name"])
    units: dict[str, int | None] = {}
    seen: dict[str, tuple[int, int]] = {}
    out: list[ReportRow] = []
    for rows in table.chunks():
        for row in rows:
            v = row.values
            rep = ReportRow(row.number, "accepted")
            out.append(rep)
            if progress is not None:
                progress(1)
            ref, name = v.get("ref", "").strip(), v.get("name", "").strip()
            status_text = v.get("status", "").strip()
            status = SITE_STATUS_WORDS.get(status_text.lower()) if status_text else "active"
            issues: list[str] = []
            if not ref:
                issues.append(FieldIssue("ref", REQUIRED()))
            elif len(ref) > 64:
                issues.append(FieldIssue("ref", TOO_LONG(max=64)))
            if status is None:
                issues.append(FieldIssue("status", ONE_OF(choices=[Term(s, kind="site_status") for s in SITE_STATUSES])))
            if issues:
                rep.status, rep.issues = "rejected", issues
                continue
            if ref in seen:
                rep.status, rep.extra = "duplicate", {"site_id": seen[ref][0]}
                rep.issues.append(FieldIssue("ref", REPEATED(row=seen[ref][1])))
                continue
            stored = session.execute(select(Place).where(Place.ref == ref)).scalar()
            if stored is not None:
                if stored.kind != "quarantine_site" or not scope.sees(actor, stored):
                    rep.status, rep.issues = "rejected", [FieldIssue("ref", NOT_A_SITE(ref=ref))]
                    continue
                rep.status, rep.extra = "duplicate", {"site_id": stored.id}
                if name and name != stored.name:
                    rep.issues.append(FieldIssue("name", ALREADY(field="name", value=stored.name)))
                details = session.get(QuarantineSite, stored.id)
                if details is None:
                    register_site(session, actor, name=stored.name, place_id=stored.id, status=status or "active",
                                  contacts=v.get("contacts") or None)
                    rep.status = "accepted"
                elif status_text and details.status != status:
                    rep.issues.append(FieldIssue("status", ALREADY(field="status", value=Term(details.status,
                                                                                            kind="site_status"))))
                seen[ref] = (stored.id, row.number)
                continue
            unit_id = None
            code = v.get("unit", "").strip()
            if code:
                if code not in units:
                    unit = scope.visible_unit_or_none(session, actor, code=code)
                    units[code] = unit.id if unit is not None else None
                if units[code] is None:
                    rep.status, rep.issues = "rejected", [FieldIssue("unit", UNKNOWN_UNIT(code=code))]
                    continue
                unit_id = units[code]
            try:
                site = register_site(session, actor, name=name, ref=ref, address=v.get("address", "").strip() or None,
                                     unit_id=unit_id, status=status or "active",
                                     contacts=v.get("contacts", "").strip() or None)
            except DomainError as exc:
                rep.status = "rejected"
                rep.issues = [FieldIssue(f.field, f.message) for f in exc.fields] or [FieldIssue("ref", exc.message)]
                continue
            rep.extra = {"site_id": site.place_id}
            seen[ref] = (site.place_id, row.number)
        checkpoint(session)
    out = table.report(out)
    audit.record(session, actor, "sites.imported", object_type="place", file=Path(path).name, **summarise(out))
    return out


def import_rooms_file(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None] | None = None
                      ) -> list[ReportRow]:
    """`fangkong import rooms FILE` (导入房间): site_ref, building, floor, room, beds, status.
    Idempotent by site + building + room: a stored room is `duplicate` (a different floor, beds or
    status is mentioned, never changed). An unknown site rejects the row. Report extra: `room_id`."""
    actor.require("place.manage")
    table = read_table(path, ROOM_COLUMNS, required_any=["site_ref", "room"])
    sites: dict[str, Place | None] = {}
    out: list[ReportRow] = []
    seen: dict[tuple[int, str, str], int] = {}
    for rows in table.chunks():
        for row in rows:
            v = row.values
            rep = ReportRow(row.number, "accepted")
            out.append(rep)
            if progress is not None:
                progress(1)
            ref = v.get("site_ref", "").strip()
            issues: list[str] = []
            place = None
            if not ref:
                issues.append(FieldIssue("site_ref", REQUIRED()))
            else:
                if ref not in sites:
                    found = session.execute(select(Place).where(or_(Place.ref == ref, Place.code == ref))).scalar()
                    sites[ref] = found if found is not None and scope.sees(actor, found) else None
                place = sites[ref]
                if place is None:
                    issues.append(FieldIssue("site_ref", UNKNOWN_SITE(ref=ref)))
                elif place.kind != "quarantine_site":
                    issues.append(FieldIssue("site_ref", NOT_A_SITE(ref=ref)))
            building = v.get("building", "").strip() or "1"
            number = v.get("room", "").strip()
            if not number or len(number) > 20:
                issues.append(FieldIssue("room", REQUIRED_TOO_LONG(max=20)))
            if len(building) > 20:
                issues.append(FieldIssue("building", TOO_LONG(max=20)))
            floor = beds = None
            try:
                floor = _int(v.get("floor", ""), -5, MAX_FLOOR) if v.get("floor", "").strip() else None
            except ValueError:
                issues.append(FieldIssue("floor", WHOLE_NUMBER(min=-5, max=MAX_FLOOR)))
            if floor is None and not any(i.startswith("floor") for i in issues):
                digits = "".join(ch for ch in number if ch.isdigit())
                floor = int(digits[:-2]) if len(digits) >= 3 and int(digits[:-2]) <= MAX_FLOOR else None
                if floor is None:
                    issues.append(FieldIssue("floor", REQUIRED()))
            try:
                beds = _int(v.get("beds", "") or "1", 1, MAX_BEDS)
            except ValueError:
                issues.append(FieldIssue("beds", WHOLE_NUMBER(min=1, max=MAX_BEDS)))
            status_text = v.get("status", "").strip()
            status = ROOM_STATUS_WORDS.get(status_text.lower()) if status_text else "usable"
            if status is None:
                issues.append(FieldIssue("status", ONE_OF(choices=[Term(s, kind="room_status") for s in ROOM_STATUSES])))
            if issues:
                rep.status, rep.issues = "rejected", issues
                continue
            assert place is not None and floor is not None and beds is not None and status is not None
            key = (place.id, building, number)
            if key in seen:
                rep.status, rep.issues = "duplicate", [FieldIssue("room", REPEATED(row=seen[key]))]
                continue
            seen[key] = row.number
            stored = session.execute(select(Room).where(Room.site_id == place.id, Room.building == building,
                                                        Room.number == number)).scalar()
            if stored is not None:
                rep.status, rep.extra = "duplicate", {"room_id": stored.id}
                for field, old, new in (("floor", stored.floor, floor), ("beds", stored.beds, beds)):
                    if old != new:
                        rep.issues.append(FieldIssue(field, ALREADY(field=field, value=old)))
                continue
            try:
                room = add_room(session, actor, site_id=place.id, building=building, floor=floor, number=number,
                                beds=beds, status=status)
            except DomainError as exc:
                rep.status = "rejected"
                rep.issues = [FieldIssue(f.field, f.message) for f in exc.fields] or [FieldIssue("room", exc.message)]
                continue
            rep.extra = {"room_id": room.id}
        checkpoint(session)
    out = table.report(out)
    audit.record(session, actor, "rooms.imported", object_type="site_room", file=Path(path).name, **summarise(out))
    return out
