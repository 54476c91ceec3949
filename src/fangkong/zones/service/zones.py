"""Zones (风险区域划定): preview and draw a zone on the gazetteer, put its residents under the zone's
measure through control, file the national-list risk area through intake, compute eligibility from
the data and lift (downgrade) a zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list, insert_rows
from fangkong.kernel.errors import Conflict, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.address import normalise_address
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.messages import Message, _, labels, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack
from fangkong.zones import rules
from fangkong.zones.models import ZONE_LEVELS, Zone, ZoneAddress, ZoneEvent, ZoneResident

INVALID_ZONE = message("zone.invalid", _("invalid zone"))
UNKNOWN_LEVEL = message("zone.unknown_level", _("one of high, medium, low"))
REASON_REQUIRED = message("zone.reason_required", _("a reason is required (the case or cluster it answers)"))
NOTHING_DRAWN = message("zone.nothing_drawn", _("name at least one unit or address"))
UNKNOWN_UNIT = message("zone.unknown_unit", _("unknown unit %(code)s"))
NOT_IN_GAZETTEER = message("zone.not_in_gazetteer", _("%(text)s is not in the address gazetteer"))
CLOSEST = message("zone.closest", _("%(text)s is not in the address gazetteer; closest: %(closest)s"))
NO_ADDRESSES = message("zone.no_addresses", _("the zone covers no address of the gazetteer"))
NOT_PROPOSED = message("zone.not_proposed", _("zone %(id)s is not a proposal waiting for confirmation"))
NOT_ACTIVE = message("zone.not_active", _("zone %(id)s is already lifted"))
NOT_ELIGIBLE = message("zone.not_eligible", _("zone %(id)s is not eligible yet (%(why)s); an override needs a reason"))
LEVEL_NOT_IN_PACK = message("zone.level_not_in_pack", _("the active policy pack has no %(level)s zones"))

LEVELS = labels("zone_level", {"high": _("High-risk zone"), "medium": _("Medium-risk zone"),
                               "low": _("Low-risk zone"), "lifted": _("Lifted")})
labels("zone_waiting", {"": _("eligible"), "days": _("days without a new infection still to run"),
                        "round_missing": _("no testing round on the last day"),
                        "round_incomplete": _("the last day's round is not complete"),
                        "round_positive": _("the last day's round has a positive")})
labels("record", {"zone": _("zone"), "testing_round": _("testing round")})
labels("zone_action", {"drawn": _("Drawn"), "downgraded": _("Downgraded"), "lifted": _("Lifted"),
                       "proposed": _("Proposed (lockdown on the spot)"), "declined": _("Declined")})
labels("zone_status", {"proposed": _("Proposed, waiting for confirmation"), "active": _("In force"),
                       "lifted": _("Lifted"), "declined": _("Declined")})
labels("audit_action", {"zone.drawn": _("Zone drawn"), "zone.downgraded": _("Zone downgraded"),
                        "zone.lifted": _("Zone lifted"), "zone.proposed": _("Lockdown proposed"),
                        "zone.declined": _("Lockdown proposal declined"),
                        "zone.residents_admitted": _("New residents put under the zone's measure")})
labels("field", {"level": _("Level"), "reason": _("Reason"), "units": _("Units"), "addresses": _("Addresses"),
                 "starts_at": _("Starts at"), "zone": _("Zone")})

#: closest gazetteer entries offered for an address that is not in it
CLOSEST_N = 3


@dataclass
class Selection:
    """What a drawing names: the gazetteer's address ids, and the texts it could not place."""

    address_ids: list[int] = field(default_factory=list)
    issues: list[FieldError] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


@dataclass
class Preview:
    """How much a zone covers before it takes effect (预览): addresses, households, registered residents."""

    address_ids: list[int]
    addresses: int
    households: int
    residents: int
    issues: list[FieldError]
    owner: Unit | None


@dataclass
class DrawResult:
    zone: Zone
    measures: int
    already_under_measure: int
    leads: int = 0


def _closest(session: Session, text: str) -> list[str]:
    """Up to three gazetteer addresses nearest to `text` (same road when it names one)."""
    parts = normalise_address(text)
    stmt = select(Address.text, Address.key)
    if parts.road:
        stmt = stmt.where(Address.road == parts.road)
    elif parts.key:
        stmt = stmt.where(Address.key.startswith(parts.key[:2], autoescape=True))
    rows = session.execute(stmt.limit(20000)).all()
    if not rows or not parts.key:
        return []
    found = process.extract(parts.key, [k for _t, k in rows], limit=CLOSEST_N)
    return [rows[i][0] for _k, _score, i in found]


def select_addresses(session: Session, actor: Actor, *, units: Sequence[str] = (),
                     addresses: Sequence[str] = ()) -> Selection:
    """The addresses a drawing names: every address under each unit (a grid, a 小区/村 …), each
    address text exactly, or — a text without a room — every address of that building or compound.
    A text the gazetteer does not hold is an issue naming the closest entries, never a silent drop."""
    sel = Selection(units=[u.strip() for u in units if u.strip()], addresses=[a.strip() for a in addresses
                                                                             if a.strip()])
    ids: set[int] = set()
    for i, code in enumerate(sel.units):
        unit = scope.visible_unit_or_none(session, actor, code=code)
        if unit is None:
            sel.issues.append(FieldError(f"units.{i}", UNKNOWN_UNIT(code=code)))
            continue
        ids.update(session.execute(select(Address.id).where(scope.under(Address.unit_path, unit))).scalars())
    matches = jurisdictions_service.match_addresses(session, sel.addresses)
    for i, (text, m) in enumerate(zip(sel.addresses, matches, strict=True)):
        if m.address is not None and scope.sees(actor, m.address):
            ids.add(m.address.id)
            continue
        key = m.key or normalise_address(text).key
        found: list[int] = []
        if key:
            stmt = scope.visible(select(Address.id).where(Address.key.startswith(key, autoescape=True)), actor,
                                 Address)
            found = list(session.execute(stmt).scalars())
        if found:
            ids.update(found)
            continue
        closest = _closest(session, text)
        msg: Message = (CLOSEST(text=text, closest="; ".join(closest)) if closest else NOT_IN_GAZETTEER(text=text))
        sel.issues.append(FieldError(f"addresses.{i}", msg))
    sel.address_ids = sorted(ids)
    return sel


def _owner(session: Session, address_ids: Sequence[int]) -> Unit | None:
    """The lowest unit holding every address (their grids' common ancestor)."""
    paths: set[str] = set()
    for chunk in chunks(list(address_ids)):
        paths.update(session.execute(select(Address.unit_path).where(in_list(session, Address.id, chunk))
                                     .distinct()).scalars())
    if not paths:
        return None
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if not common:
        return jurisdictions_service.root_unit(session)
    return session.get(Unit, int(common[-1]))


def residents_of(session: Session, address_ids: Sequence[int]) -> list[tuple[int, int, int, str]]:
    """(person id, address id, unit id, unit path) of every person registered at the addresses."""
    out: list[tuple[int, int, int, str]] = []
    for chunk in chunks(list(address_ids), 5000):
        out.extend(session.execute(select(Person.id, Person.address_id, Person.unit_id, Person.unit_path)
                                   .where(in_list(session, Person.address_id, chunk))).all())
    return out


def preview_zone(session: Session, actor: Actor, *, units: Sequence[str] = (),
                 addresses: Sequence[str] = ()) -> Preview:
    """What a drawing would cover, before it takes effect."""
    actor.require("zone.view")
    sel = select_addresses(session, actor, units=units, addresses=addresses)
    people = residents_of(session, sel.address_ids)
    return Preview(sel.address_ids, len(sel.address_ids), len({a for _p, a, _u, _up in people}), len(people),
                   sel.issues, _owner(session, sel.address_ids))


def _pack(session: Session) -> Pack:
    return policy_service.active_pack(session)


def level_name(pack: Pack, level: str, locale: str = "zh_CN") -> str:
    return pack.zones.level_name(level, locale)


def _event(session: Session, actor: Actor, zone: Zone, *, action: str, from_level: str | None, to_level: str,
           at: dt.datetime, reason: str = "", override: bool = False, **detail: Any) -> ZoneEvent:
    ev = ZoneEvent(zone_id=zone.id, at=at, action=action, from_level=from_level, to_level=to_level,
                   user_id=actor.user_id, username=actor.username, reason=reason[:500], override=override,
                   detail=detail)
    session.add(ev)
    return ev


def draw_zone(session: Session, actor: Actor, *, level: str, reason: str, units: Sequence[str] = (),
              addresses: Sequence[str] = (), starts_at: dt.datetime | None = None, name: str | None = None,
              ref: str | None = None) -> DrawResult:
    """Draw a zone (划定风险区域) and put its residents under the zone's measure in one step.

    Refused (nothing stored) when an address is not in the gazetteer (the issue names the closest
    entries), when nothing is named, or without a reason. The residents' measures go through control's
    `start_measure` (a person already under an equal or stronger measure keeps it); a high- or
    medium-risk zone is filed as intake's risk area (county code + area name) so travellers are
    decided by it too."""
    actor.require("zone.manage")
    errors: list[FieldError] = []
    pack = _pack(session)
    if level not in ZONE_LEVELS:
        errors.append(FieldError("level", UNKNOWN_LEVEL()))
    elif level not in pack.zones.levels:
        errors.append(FieldError("level", LEVEL_NOT_IN_PACK(level=level)))
    if not (reason or "").strip():
        errors.append(FieldError("reason", REASON_REQUIRED()))
    if not any(u.strip() for u in units) and not any(a.strip() for a in addresses):
        errors.append(FieldError("units", NOTHING_DRAWN()))
    if errors:
        raise ValidationFailed(INVALID_ZONE(), errors)
    sel = select_addresses(session, actor, units=units, addresses=addresses)
    if sel.issues:
        raise ValidationFailed(INVALID_ZONE(), sel.issues)
    if not sel.address_ids:
        raise ValidationFailed(INVALID_ZONE(), [FieldError("addresses", NO_ADDRESSES())])
    owner = _owner(session, sel.address_ids)
    assert owner is not None
    now = clock.now()
    start = starts_at or now
    people = residents_of(session, sel.address_ids)
    label = name or _default_name(session, sel)
    zone = Zone(ref=ref, name=label[:200], level=level, status="active", reason=reason.strip()[:500],
                selection={"units": sel.units, "addresses": sel.addresses}, starts_at=start, level_since=start,
                came_from_high=False, drawn_by_id=actor.user_id, drawn_by=actor.username, created_at=now,
                addresses=len(sel.address_ids), households=len({a for _p, a, _u, _up in people}),
                residents=len(people), unit_id=owner.id, unit_path=owner.path)
    session.add(zone)
    session.flush()
    _add_addresses(session, zone, sel.address_ids)
    return _take_effect(session, actor, zone, pack, owner, people, at=start)


def _add_addresses(session: Session, zone: Zone, address_ids: Sequence[int]) -> None:
    """The zone's addresses, each owned by its grid: one bulk insert (a zone may hold tens of
    thousands of addresses)."""
    rows: list[tuple[int, int, int, str]] = []
    ids = sorted(set(address_ids))
    for chunk in chunks(ids, 5000):
        rows.extend((zone.id, a, uid, upath) for a, uid, upath in session.execute(
            select(Address.id, Address.unit_id, Address.unit_path).where(in_list(session, Address.id, chunk))))
    insert_rows(session, ZoneAddress.__table__, ("zone_id", "address_id", "unit_id", "unit_path"), rows)


def _take_effect(session: Session, actor: Actor, zone: Zone, pack: Pack, owner: Unit,
                 people: Sequence[tuple[int, int, int, str]], *, at: dt.datetime) -> DrawResult:
    """The residents' measures, the national-list risk area and the leavers' leads of a zone in force."""
    started, kept = _start_measures(session, actor, zone, pack, people, at=at)
    zone.risk_area_id = _file_risk_area(session, actor, zone, owner)
    leads = _leads_for_leavers(session, actor, zone, pack, owner, [p for p, *_ in people])
    _event(session, actor, zone, action="drawn", from_level=None, to_level=zone.level, at=clock.now(),
           reason=zone.reason, addresses=zone.addresses, residents=zone.residents)
    session.flush()
    audit.record(session, actor, "zone.drawn", object_type="zone", object_id=zone.id, level=zone.level,
                 addresses=zone.addresses, households=zone.households, residents=zone.residents,
                 measures=started, kept=kept, leads=leads, reason=zone.reason)
    return DrawResult(zone, started, kept, leads)


def propose_zone(session: Session, actor: Actor, *, address_ids: Sequence[int], reason: str, ref: str,
                 level: str = "high") -> Zone | None:
    """A lockdown proposal (就地封控建议): the household or building of a positive in a round, drawn
    as a zone that waits for the command centre to confirm (nothing in force yet). Once per `ref`."""
    if not address_ids or session.execute(select(Zone.id).where(Zone.ref == ref)).first() is not None:
        return None
    owner = _owner(session, address_ids)
    if owner is None:
        return None
    now = clock.now()
    people = residents_of(session, address_ids)
    texts = list(session.execute(select(Address.text).where(in_list(session, Address.id, list(address_ids))))
                 .scalars())
    zone = Zone(ref=ref[:64], name=("、".join(sorted(texts)[:3]) or "-")[:200], level=level, status="proposed",
                reason=reason[:500], selection={"units": [], "addresses": sorted(texts)}, starts_at=now,
                level_since=now, came_from_high=False, drawn_by_id=actor.user_id, drawn_by=actor.username,
                created_at=now, addresses=len(address_ids), households=len({a for _p, a, _u, _up in people}),
                residents=len(people), unit_id=owner.id, unit_path=owner.path)
    session.add(zone)
    session.flush()
    _add_addresses(session, zone, address_ids)
    _event(session, actor, zone, action="proposed", from_level=None, to_level=level, at=now, reason=reason)
    session.flush()
    audit.record(session, actor, "zone.proposed", object_type="zone", object_id=zone.id, level=level,
                 addresses=zone.addresses, residents=zone.residents, reason=zone.reason)
    return zone


def confirm_zone(session: Session, actor: Actor, *, zone_id: int) -> DrawResult:
    """The command centre confirms a lockdown proposal: it takes effect now like a drawn zone."""
    actor.require("zone.manage")
    zone = get_zone(session, actor, zone_id)
    if zone.status != "proposed":
        raise Conflict(NOT_PROPOSED(id=zone_id))
    now = clock.now()
    zone.status, zone.starts_at, zone.level_since = "active", now, now
    zone.drawn_by_id, zone.drawn_by = actor.user_id, actor.username
    ids = list(session.execute(select(ZoneAddress.address_id).where(ZoneAddress.zone_id == zone.id)).scalars())
    owner = session.get(Unit, zone.unit_id)
    assert owner is not None
    return _take_effect(session, actor, zone, _pack(session), owner, residents_of(session, ids), at=now)


def decline_zone(session: Session, actor: Actor, *, zone_id: int, reason: str) -> Zone:
    """The command centre declines a lockdown proposal (with a reason)."""
    actor.require("zone.manage")
    zone = get_zone(session, actor, zone_id)
    if zone.status != "proposed":
        raise Conflict(NOT_PROPOSED(id=zone_id))
    zone.status, zone.ended_at = "declined", clock.now()
    _event(session, actor, zone, action="declined", from_level=zone.level, to_level=zone.level, at=clock.now(),
           reason=reason)
    session.flush()
    audit.record(session, actor, "zone.declined", object_type="zone", object_id=zone.id, reason=reason[:200])
    return zone


def _default_name(session: Session, sel: Selection) -> str:
    names = []
    for code in sel.units:
        u = jurisdictions_service.get_unit_by_code(session, code)
        if u is not None:
            names.append(u.name)
    names += sel.addresses
    text = "、".join(names[:3]) + ("等" if len(names) > 3 else "")
    return text or "-"


def _start_measures(session: Session, actor: Actor, zone: Zone, pack: Pack,
                    people: Sequence[tuple[int, int, int, str]], *, at: dt.datetime) -> tuple[int, int]:
    """The zone level's measure for every resident, through control's bulk write path (start_many).
    Returns (started, kept: already under an equal or stronger measure)."""
    zl = pack.zones.levels.get(zone.level)  # type: ignore[call-overload]
    category = zl.category if zl is not None else None
    started = kept = 0
    if category is None or not pack.has_category(category) or not people:
        _add_residents(session, [(zone.id, p, a, zone.level, None, at, u, up) for p, a, u, up in people])
        return 0, 0
    new_rank = _rank_of_category(pack, category)
    in_force = control_service.kinds_in_force(session, [p for p, *_ in people], at=at)
    doer = actor.acting_for("zone.manage", "measure.start")
    to_start = list(dict.fromkeys(
        pid for pid, *_ in people
        if not any(control_service.KIND_RANK.get(k, 0) >= new_rank for k in in_force.get(pid, ()))))
    new_ids = control_service.start_many(session, doer, [control_service.NewMeasure(
        person_id=pid, category=category, rule=f"zone:{zone.id}", started_at=at) for pid in to_start])
    measure_of = dict(zip(to_start, new_ids, strict=True))
    rows: list[tuple[Any, ...]] = []
    for pid, aid, uid, upath in people:
        measure_id = measure_of.pop(pid, None)
        if measure_id is None:
            kept += 1
        else:
            started += 1
        rows.append((zone.id, pid, aid, zone.level, measure_id, at, uid, upath))
    _add_residents(session, rows)
    return started, kept


_RESIDENT_COLUMNS = ("zone_id", "person_id", "address_id", "level", "measure_id", "started_at", "unit_id", "unit_path")


def _add_residents(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """The zone's residents (`_RESIDENT_COLUMNS` tuples) in one bulk insert."""
    insert_rows(session, ZoneResident.__table__, _RESIDENT_COLUMNS, rows)


def _rank_of_category(pack: Pack, category: str) -> int:
    kinds = [pack.measure(p.measure).kind for p in pack.category(category).phases]
    return max(control_service.KIND_RANK.get(k, 0) for k in kinds)


def county_of(session: Session, unit: Unit) -> str | None:
    """The GB/T 2260 county the unit lies in: the nearest unit (itself or above) whose code is one."""
    for u in reversed([*jurisdictions_service.ancestors(session, unit), unit]):
        code = (u.code or "").strip()
        if code.isdigit() and regions.is_county(code[:6]) and len(code) >= 6:
            return code[:6]
    return None


def _file_risk_area(session: Session, actor: Actor, zone: Zone, owner: Unit) -> int | None:
    """Our zone as a national-list risk area (county code + area name), when high or medium and the
    zone's units name a county."""
    from fangkong.intake import service as intake_service

    if zone.level not in ("high", "medium"):
        return None
    county = county_of(session, owner)
    if county is None:
        return None
    area = intake_service.add_risk_area(session, actor.acting_for("zone.manage", "risk_area.manage"),
                                        level=zone.level, start_at=zone.starts_at, region_code=county,
                                        place=zone.name, source=f"zone {zone.id}")
    return area.id


def leavers(session: Session, actor: Actor, *, person_ids: Sequence[int], owner: Unit, since: dt.datetime,
            until: dt.datetime) -> dict[int, tuple[dt.datetime, str]]:
    """Residents who left (离开): whose last venue scan in [since, until] lies outside the zone's unit.
    person id → (the first scan outside after their last scan inside, the venue's name)."""
    from fangkong.kernel.places.models import Place

    try:
        from fangkong.venues import service as venues_service
    except ModuleNotFoundError:  # a build without venues: nobody is known to have left
        return {}
    reader = actor.acting_for("zone.manage", "case.view")
    out: dict[int, tuple[dt.datetime, str]] = {}
    place_paths: dict[int, str] = {}
    for pid, visits in venues_service.scans_of_persons(session, reader, person_ids=person_ids, since=since,
                                                       until=until).items():
        outside: tuple[dt.datetime, str] | None = None
        for v in visits:
            if v.venue_id not in place_paths:
                place = session.get(Place, v.venue_id)
                place_paths[v.venue_id] = place.unit_path if place is not None else ""
            if scope.inside(place_paths[v.venue_id], owner):
                outside = None
            elif outside is None:
                outside = (v.scanned_at, v.venue_name)
        if outside is not None:
            out[pid] = outside
    return out


def _leads_for_leavers(session: Session, actor: Actor, zone: Zone, pack: Pack, owner: Unit,
                       person_ids: Sequence[int]) -> int:
    """Residents who left within the look-back window become leads (channel `zone`) of the category
    a stay in a risk area of the zone's level means; their grids find them."""
    from fangkong.intake import service as intake_service
    from fangkong.kernel.people import crypto

    if zone.level not in pack.levels or not person_ids:
        return 0
    since = zone.starts_at - dt.timedelta(days=pack.zones.lookback_days)
    gone = leavers(session, actor, person_ids=person_ids, owner=owner, since=since, until=zone.starts_at)
    if not gone:
        return 0
    items = []
    persons: dict[int, Person] = {}
    for chunk in chunks(sorted(gone)):
        persons.update((p.id, p) for p in session.execute(select(Person).where(in_list(session, Person.id, chunk)))
                       .scalars())
    for n, pid in enumerate(sorted(gone), start=1):
        p = persons[pid]
        left_at, venue = gone[pid]
        items.append(intake_service.LeadItem(n, {
            "name": p.name or "", "id_number": crypto.decrypt(p.id_number_enc) if p.id_number_enc else "",
            "phone": crypto.decrypt(p.phone_enc) if p.phone_enc else "", "origin": zone.name[:100],
            "arrival_at": clock.iso_local(left_at), "address": "",
            "reason": f"{level_name(pack, zone.level)} {zone.name}: {venue}"[:255],
            "source_ref": f"zone:{zone.id}:{pid}"}))
    result = intake_service.ingest_leads(session, actor.acting_for("zone.manage", "lead.import"), channel="zone",
                                         items=items, category=pack.risk_level(zone.level).category, via="api")
    return sum(1 for r in result.rows if r.status == "accepted")


def list_zones(session: Session, actor: Actor, *, status: str | None = None) -> list[Zone]:
    actor.require("zone.view")
    stmt = scope.visible(select(Zone), actor, Zone)
    if status:
        stmt = stmt.where(Zone.status == status)
    return list(session.execute(stmt.order_by(Zone.id)).scalars())


def get_zone(session: Session, actor: Actor, zone_id: int) -> Zone:
    actor.require("zone.view")
    return scope.get_visible(session, actor, Zone, zone_id)


def history(session: Session, actor: Actor, zone_id: int) -> list[ZoneEvent]:
    get_zone(session, actor, zone_id)
    return list(session.execute(select(ZoneEvent).where(ZoneEvent.zone_id == zone_id)
                                .order_by(ZoneEvent.at, ZoneEvent.id)).scalars())


def admit_new_residents(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """Persons arriving later (后续迁入) are decided by the zone's level: whoever is registered at an
    address of a zone in force but is not yet one of its residents gets the zone's measure the same
    way (control's `start_many`; kept when already under an equal or stronger one). One audit entry
    per zone that admitted anyone."""
    actor.require("zone.manage")
    at = at or clock.now()
    pack = _pack(session)
    admitted: dict[int, int] = {}
    for zone in list_zones(session, actor, status="active"):
        if zone.starts_at > at:
            continue
        known = set(zone_person_ids(session, zone.id))
        ids = list(session.execute(select(ZoneAddress.address_id).where(ZoneAddress.zone_id == zone.id)).scalars())
        people = [p for p in residents_of(session, ids) if p[0] not in known]
        if not people:
            continue
        started, kept = _start_measures(session, actor, zone, pack, people, at=at)
        zone.residents += len(people)
        admitted[zone.id] = len(people)
        session.flush()
        audit.record(session, actor, "zone.residents_admitted", object_type="zone", object_id=zone.id,
                     residents=len(people), measures=started, kept=kept,
                     persons=audit.compact_ids(p for p, *_ in people))
    return {"zones": len(admitted), "residents": sum(admitted.values()), "by_zone": admitted}


def measure_counts(session: Session, zone_id: int) -> tuple[int, int]:
    """(residents under the zone's measure now, of whom already under an equal or stronger one)."""
    n, kept = session.execute(select(func.count(), func.count().filter(ZoneResident.measure_id.is_(None))).where(
        ZoneResident.zone_id == zone_id, ZoneResident.ended_at.is_(None))).one()
    return int(n or 0), int(kept or 0)


def zone_person_ids(session: Session, zone_id: int) -> list[int]:
    return list(session.execute(select(ZoneResident.person_id).where(ZoneResident.zone_id == zone_id)
                                .distinct()).scalars())


def levels_at(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> dict[int, tuple[str, int]]:
    """address id → (strictest level, zone) over the visible zones in force at `at` (overlaps resolved)."""
    at = at or clock.now()
    covers: list[rules.Cover] = []
    for z in list_zones(session, actor):
        if z.status not in ("active", "lifted"):
            continue
        ids = frozenset(session.execute(select(ZoneAddress.address_id).where(ZoneAddress.zone_id == z.id)).scalars())
        covers.append(rules.Cover(z.id, z.level, ids, z.starts_at, z.ended_at))
    return rules.levels_by_address(covers, at)


# ------------------------------------------------------------------------------------ eligibility

def downgrade_days(pack: Pack) -> rules.DowngradeDays:
    z = pack.zones
    return rules.DowngradeDays(z.high_days, z.high_round_required, z.medium_days, z.medium_days_after_high,
                               z.low_days)


def facts_of(session: Session, zone: Zone, *, at: dt.datetime) -> rules.ZoneFacts:
    """What the eligibility rule reads: new infections among the zone's residents (a positive PCR
    sample collected since the zone started, reported by `at`) and its rounds as of `at`."""
    from fangkong.zones.service import rounds as rounds_service

    infections = _infections(session, zone_person_ids(session, zone.id), since=zone.starts_at, at=at)
    return rules.ZoneFacts(zone.level, zone.level_since, zone.came_from_high, tuple(infections),
                           tuple(rounds_service.round_facts(session, zone.id, at=at)))


def _infections(session: Session, person_ids: Sequence[int], *, since: dt.datetime, at: dt.datetime
                ) -> list[dt.datetime]:
    from fangkong.testing import service as testing_service

    out: list[dt.datetime] = []
    if not person_ids:
        return out
    found = testing_service.sample_results(session, person_ids, since, at + dt.timedelta(seconds=1))
    for versions in found.values():
        for _tube, collected, result, reported in versions:
            if result == "positive" and reported is not None and reported <= at:
                out.append(collected)
    return out


def eligibility_of(session: Session, actor: Actor, zone_id: int, *, at: dt.datetime | None = None
                   ) -> rules.Eligibility:
    zone = get_zone(session, actor, zone_id)
    at = at or clock.now()
    return rules.eligibility(facts_of(session, zone, at=at), downgrade_days(_pack(session)), at=at, tz=clock.tz())


def eligibility_rows(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One row per active zone: zone_id, level, last_infection_at, qualifying_round, eligible_on, next_level."""
    at = at or clock.now()
    days = downgrade_days(_pack(session))
    out = []
    for z in list_zones(session, actor, status="active"):
        e = rules.eligibility(facts_of(session, z, at=at), days, at=at, tz=clock.tz())
        out.append({"zone_id": z.id, "level": z.level, "last_infection_at": e.last_infection_at,
                    "qualifying_round": e.qualifying_round, "eligible_on": e.eligible_on,
                    "next_level": e.next_level, "eligible": e.eligible, "waiting_for": e.waiting_for})
    return out


def lift_zone(session: Session, actor: Actor, *, zone_id: int, at: dt.datetime | None = None,
              override: bool = False, reason: str = "") -> tuple[Zone, rules.Eligibility, int]:
    """Move a zone down one level by the data (降级/解除): high → medium → low → lifted. Refused while
    not eligible unless `override` with a reason (audited as an override). The residents' measures of
    the old level end; the new level's measure starts for them (none for low). Returns the zone, the
    evidence and how many measures ended."""
    actor.require("zone.manage")
    zone = get_zone(session, actor, zone_id)
    if zone.status != "active":
        raise Conflict(NOT_ACTIVE(id=zone_id))
    at = at or clock.now()
    e = eligibility_of(session, actor, zone_id, at=at)
    if not e.eligible and not (override and reason.strip()):
        raise Conflict(NOT_ELIGIBLE(id=zone_id, why=e.waiting_for or "days"))
    old = zone.level
    ended = _end_measures(session, actor, zone, at=at, reason=reason or f"zone {zone.id} {e.next_level}")
    if e.next_level == "lifted":
        zone.status, zone.ended_at = "lifted", at
        _update_risk_area(session, actor, zone, end_at=at)
    else:
        zone.came_from_high = old == "high"
        zone.level, zone.level_since = e.next_level, at
        people = session.execute(select(ZoneResident.person_id, ZoneResident.address_id, ZoneResident.unit_id,
                                        ZoneResident.unit_path).where(ZoneResident.zone_id == zone.id,
                                                                      ZoneResident.level == old)).all()
        _start_measures(session, actor, zone, _pack(session), list(dict.fromkeys(people)), at=at)
        _update_risk_area(session, actor, zone, end_at=at if e.next_level == "low" else None)
    action = "lifted" if e.next_level == "lifted" else "downgraded"
    _event(session, actor, zone, action=action, from_level=old, to_level=e.next_level, at=at, reason=reason,
           override=not e.eligible, qualifying_round=e.qualifying_round, measures_ended=ended)
    session.flush()
    audit.record(session, actor, f"zone.{action}", object_type="zone", object_id=zone.id, from_level=old,
                 to_level=e.next_level, override=not e.eligible, reason=reason[:200], measures_ended=ended,
                 qualifying_round=e.qualifying_round)
    return zone, e, ended


def _end_measures(session: Session, actor: Actor, zone: Zone, *, at: dt.datetime, reason: str) -> int:
    """The residents' zone measures end in one bulk step through control (`end_many`: end_measure's
    rules, one audit entry naming the ids); the zone's residents are marked ended. Returns how many
    measures ended (those ended meanwhile are left as they are)."""
    doer = actor.acting_for("zone.manage", "measure.start")
    open_rows = ZoneResident.zone_id == zone.id, ZoneResident.ended_at.is_(None)
    measure_ids = list(session.execute(select(ZoneResident.measure_id).where(
        *open_rows, ZoneResident.measure_id.is_not(None))).scalars())
    session.flush()
    session.execute(update(ZoneResident).where(*open_rows).values(ended_at=at)
                    .execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ZoneResident) and obj.zone_id == zone.id:
            session.expire(obj)
    ended = control_service.end_many(session, doer, measure_ids, reason=reason[:200] or "zone", at=at)
    return len(ended)


def _update_risk_area(session: Session, actor: Actor, zone: Zone, *, end_at: dt.datetime | None) -> None:
    from fangkong.intake import service as intake_service

    if zone.risk_area_id is None:
        return
    doer = actor.acting_for("zone.manage", "risk_area.manage")
    if end_at is not None:
        intake_service.update_risk_area(session, doer, area_id=zone.risk_area_id, end_at=end_at)
        return
    # downgraded to medium: the high area ends, a medium one starts
    intake_service.update_risk_area(session, doer, area_id=zone.risk_area_id, end_at=zone.level_since)
    owner = session.get(Unit, zone.unit_id)
    county = county_of(session, owner) if owner is not None else None
    if county is not None:
        area = intake_service.add_risk_area(session, doer, level=zone.level, start_at=zone.level_since,
                                            region_code=county, place=zone.name, source=f"zone {zone.id}")
        zone.risk_area_id = area.id


# ------------------------------------------------------------------------------ national list

NATIONAL_COLUMNS = ("province", "city", "county", "place", "level", "start_at", "end_at")


def national_rows(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Our high- and medium-risk zones in force at `at` as the national list publishes areas:
    省, 市, 县区, 风险区名称, 等级 (高/中), start and end."""
    at = at or clock.now()
    out = []
    for z in list_zones(session, actor, status="active"):
        if z.level not in ("high", "medium") or z.starts_at > at:
            continue
        owner = session.get(Unit, z.unit_id)
        county = county_of(session, owner) if owner is not None else None
        if county is None:
            continue
        out.append({"province": _division_name(county[:2] + "0000"), "city": _division_name(county[:4] + "00"),
                    "county": _division_name(county), "place": z.name,
                    "level": "高" if z.level == "high" else "中", "start_at": z.level_since, "end_at": None,
                    "county_code": county})
    return out


def _division_name(code: str) -> str:
    d = regions.division(code)
    return d.names[-1] if d is not None and d.names else ""


def zone_units(session: Session, zone_id: int) -> list[int]:
    return list(session.execute(select(ZoneAddress.unit_id).where(ZoneAddress.zone_id == zone_id).distinct()
                                ).scalars())


def count_addresses(session: Session, zone_id: int) -> int:
    return int(session.execute(select(func.count()).select_from(ZoneAddress).where(ZoneAddress.zone_id == zone_id))
               .scalar() or 0)
