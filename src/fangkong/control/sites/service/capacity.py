"""Capacity (隔离资源): rooms per site and per unit by state at a moment, rooms per 10,000 residents
against the pack's figure, releases due over the next 7 days, and the dashboard's series. One read of
every room and of the stays that decide its state, then counting in Python (20,000 rooms: one pass)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.control.sites import rules
from fangkong.control.sites.models import QuarantineSite, Room, RoomStay
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import BOOL, INT, NUMBER, Column, ExportKind
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service

FORECAST_DAYS = 7
#: a site this full (occupied / usable) is highlighted
NEARLY_FULL = 0.9


@dataclass
class SiteCapacity:
    site_id: int
    ref: str
    name: str
    unit_id: int
    unit_path: str
    status: str
    counts: rules.Counts
    releases_due: int = 0


@dataclass
class UnitCapacity:
    unit_id: int
    code: str
    name: str
    level: str
    population: int | None
    counts: rules.Counts
    per_10k: float | None
    target: float
    below: bool
    releases_due: int = 0


@dataclass
class Capacity:
    at: dt.datetime
    target: float
    sites: list[SiteCapacity] = field(default_factory=list)
    units: list[UnitCapacity] = field(default_factory=list)
    #: local date → releases due that day (the next 7 days)
    releases_by_day: dict[dt.date, int] = field(default_factory=dict)


def _room_counts(session: Session, actor: Actor, at: dt.datetime) -> dict[int, rules.Counts]:
    """Per site: rooms by state at `at`, one grouped statement (the precedence of `rules.room_state`:
    out of service, else occupied, else being cleaned, else free)."""
    occ = select(RoomStay.room_id).where(RoomStay.from_at <= at, or_(
        RoomStay.until_at.is_(None), RoomStay.until_at > at)).distinct().subquery()
    cln = select(RoomStay.room_id).where(RoomStay.needs_cleaning.is_(True), RoomStay.until_at <= at, or_(
        RoomStay.cleaned_at.is_(None), RoomStay.cleaned_at > at)).distinct().subquery()
    oos = Room.status == "out_of_service"
    stmt = scope.visible(select(
        Room.site_id, func.count(), func.sum(case((oos, 1), else_=0)),
        func.sum(case((and_(~oos, occ.c.room_id.is_not(None)), 1), else_=0)),
        func.sum(case((and_(~oos, occ.c.room_id.is_(None), cln.c.room_id.is_not(None)), 1), else_=0)),
    ), actor, Room).outerjoin(occ, occ.c.room_id == Room.id).outerjoin(cln, cln.c.room_id == Room.id).group_by(
        Room.site_id)
    out: dict[int, rules.Counts] = defaultdict(rules.Counts)
    for site_id, n, out_of_service, occupied, cleaning in session.execute(stmt):
        out[site_id] = rules.Counts(rooms=int(n), occupied=int(occupied or 0), cleaning=int(cleaning or 0),
                                    out_of_service=int(out_of_service or 0))
    return out


def releases_due(session: Session, actor: Actor, at: dt.datetime, *, days: int = FORECAST_DAYS
                 ) -> tuple[dict[int, int], dict[dt.date, int]]:
    """Measures at sites whose day N falls in the next `days` local days from `at`'s date: per site,
    and per day."""
    first = clock.to_local(at).date()  # type: ignore[union-attr]
    last = first + dt.timedelta(days=days - 1)
    stmt = (scope.visible(select(Measure.place_id, Measure.planned_end_on, func.count()), actor, Measure)
            .where(Measure.status.in_(("active", "planned")), Measure.place_kind == "site",
                   Measure.planned_end_on >= first, Measure.planned_end_on <= last, Measure.started_at <= at)
            .group_by(Measure.place_id, Measure.planned_end_on))
    per_site: dict[int, int] = defaultdict(int)
    per_day: dict[dt.date, int] = {first + dt.timedelta(days=i): 0 for i in range(days)}
    for site_id, day, n in session.execute(stmt):
        if site_id is not None:
            per_site[site_id] += n
        if day in per_day:
            per_day[day] += n
    return per_site, per_day


def _population(units: list[Unit]) -> dict[int, int | None]:
    """A unit's residents: its own figure, else the sum of its children's (when any child is known)."""
    children: dict[int, list[Unit]] = defaultdict(list)
    for u in units:
        if u.parent_id is not None:
            children[u.parent_id].append(u)
    memo: dict[int, int | None] = {}

    def of(u: Unit) -> int | None:
        if u.id in memo:
            return memo[u.id]
        if u.population is not None:
            memo[u.id] = u.population
            return u.population
        known = [p for p in (of(c) for c in children.get(u.id, [])) if p is not None]
        memo[u.id] = sum(known) if known else None
        return memo[u.id]

    for u in sorted(units, key=lambda u: -u.depth):
        of(u)
    return memo


def capacity(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> Capacity:
    """Rooms per site (ordered by ref) and per unit — the actor's base unit and the units down to
    district level inside it — at `at` (default now). Rooms per 10,000 count the usable rooms of sites
    not closed; a unit is flagged below the pack's figure (`quarantine_sites.rooms_per_10k`) only when
    its population is known. Room status (usable, out of service) is today's: it is not versioned."""
    actor.require("place.view")
    at = at or clock.now()
    pack = policy_service.active_pack(session)
    target = float(pack.quarantine_sites.rooms_per_10k)
    counts = _room_counts(session, actor, at)
    per_site_due, per_day = releases_due(session, actor, at)
    sites_q = (scope.visible(select(Place, QuarantineSite.status), actor, Place)
               .outerjoin(QuarantineSite, QuarantineSite.place_id == Place.id).where(Place.kind == "quarantine_site"))
    report = Capacity(at=at, target=target, releases_by_day=per_day)
    for p, status in session.execute(sites_q):
        report.sites.append(SiteCapacity(p.id, p.ref or p.code, p.name, p.unit_id, p.unit_path, status or "active",
                                         counts.get(p.id, rules.Counts()), per_site_due.get(p.id, 0)))
    report.sites.sort(key=lambda s: (s.ref, s.site_id))
    units = list(session.execute(scope.visible(select(Unit), actor, Unit, column=Unit.path)).scalars())
    population = _population(units)
    top = min((u.depth for u in units), default=0)
    shown = [u for u in units if u.depth == top or u.level in ("city", "district")]
    for u in sorted(shown, key=lambda u: (u.depth, u.code)):
        c, usable_open, due = rules.Counts(), 0, 0
        for s in report.sites:
            if scope.inside(s.unit_path, u):
                c.merge(s.counts)
                due += s.releases_due
                if s.status != "closed":
                    usable_open += s.counts.usable
        per = rules.rooms_per_10k(usable_open, population.get(u.id))
        report.units.append(UnitCapacity(u.id, u.code, u.name, u.level, population.get(u.id), c, per, target,
                                         rules.below_target(per, target), due))
    return report


# ------------------------------------------------------------------------------------------ report

CAPACITY_COLUMNS = [
    Column("site", "隔离点"),
    Column("rooms", "房间数", INT),
    Column("usable", "可用", INT),
    Column("occupied", "在住", INT),
    Column("cleaning", "待消毒", INT),
    Column("free", "空闲", INT),
    Column("out_of_service", "停用", INT),
    Column("unit", "属地"),
    Column("name", "名称", machine=False),
    Column("population", "常住人口", INT),
    Column("rooms_per_10k", "每万人房间数", NUMBER),
    Column("target_per_10k", "标准(每万人)", NUMBER),
    Column("below_target", "低于标准", BOOL),
    Column("releases_due_7d", "未来7天到期解除", INT),
]


def capacity_rows(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Site rows (`site` = the site's ref), then unit rows (`site` empty, `unit` = the unit's code)."""
    report = capacity(session, actor, at=at)
    codes = {uid: code for uid, code in session.execute(select(Unit.id, Unit.code))}
    for s in report.sites:
        c = s.counts
        yield {"site": s.ref, "rooms": c.rooms, "usable": c.usable, "occupied": c.occupied, "cleaning": c.cleaning,
               "free": c.free, "out_of_service": c.out_of_service, "unit": codes.get(s.unit_id), "name": s.name,
               "releases_due_7d": s.releases_due}
    for u in report.units:
        c = u.counts
        yield {"site": "", "rooms": c.rooms, "usable": c.usable, "occupied": c.occupied, "cleaning": c.cleaning,
               "free": c.free, "out_of_service": c.out_of_service, "unit": u.code, "name": u.name,
               "population": u.population, "rooms_per_10k": u.per_10k, "target_per_10k": u.target,
               "below_target": u.below, "releases_due_7d": u.releases_due}


def _filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    text = (params.get("at") or "").strip()
    return {"at": clock.parse_time(text) if text else None}


#: not registered for the pages' download (a registered kind is a row of docs/permissions.md): the command line
#: writes it through the one writer, audited
CAPACITY = (ExportKind("capacity", "隔离资源", CAPACITY_COLUMNS, capacity_rows, ("place.view", "data.export"),
                               parse_filters=_filters, object_type="quarantine_site"))


# --------------------------------------------------------------------------------------- dashboard

def occupancy_series(session: Session, actor: Actor, *, at: dt.datetime, days: int = 14
                     ) -> list[tuple[dt.date, int]]:
    """Rooms occupied at each local noon of the `days` days up to `at`'s date (at `at` for today), one
    counting statement per day."""
    tz = clock.tz()
    last = clock.to_local(at).date()  # type: ignore[union-attr]
    first = last - dt.timedelta(days=days - 1)
    out = []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        moment = min(dt.datetime.combine(day, dt.time(12), tzinfo=tz), at)
        n = session.execute(scope.visible(select(func.count(func.distinct(RoomStay.room_id))), actor, RoomStay).where(
            RoomStay.from_at <= moment, or_(RoomStay.until_at.is_(None), RoomStay.until_at > moment))).scalar()
        out.append((day, int(n or 0)))
    return out


def flows(session: Session, actor: Actor, *, at: dt.datetime, days: int = 14
          ) -> list[tuple[dt.date, int, int]]:
    """Admissions (arrivals at a site) and releases (stays ended) per local day over the `days` days
    up to `at`: one statement, a counting column per day and kind."""
    tz = clock.tz()
    last = clock.to_local(at).date()  # type: ignore[union-attr]
    first = last - dt.timedelta(days=days - 1)
    bounds = [dt.datetime.combine(first + dt.timedelta(days=i), dt.time(0), tzinfo=tz) for i in range(days + 1)]
    bounds[-1] = min(bounds[-1], at + dt.timedelta(microseconds=1))
    cols = []
    for col in (RoomStay.arrived_at, RoomStay.until_at):
        cols += [func.sum(case((and_(col >= bounds[i], col < bounds[i + 1], col <= at), 1), else_=0))
                 for i in range(days)]
    row = session.execute(scope.visible(select(*cols), actor, RoomStay).where(or_(
        and_(RoomStay.arrived_at >= bounds[0], RoomStay.arrived_at <= at),
        and_(RoomStay.until_at >= bounds[0], RoomStay.until_at <= at)))).one()
    return [(first + dt.timedelta(days=i), int(row[i] or 0), int(row[days + i] or 0)) for i in range(days)]


def dashboard(session: Session, actor: Actor, *, at: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the capacity dashboard draws, as JSON-ready data."""
    at = at or clock.now()
    report = capacity(session, actor, at=at)
    return {
        "at": clock.iso_local(at),
        "target": report.target,
        "sites": [{"id": s.site_id, "ref": s.ref, "name": s.name, "status": s.status, "rooms": s.counts.rooms,
                   "occupied": s.counts.occupied, "cleaning": s.counts.cleaning, "free": s.counts.free,
                   "out_of_service": s.counts.out_of_service, "occupancy": round(s.counts.occupancy, 3),
                   "nearly_full": s.counts.occupancy >= NEARLY_FULL, "releases_due_7d": s.releases_due}
                  for s in report.sites],
        "units": [{"code": u.code, "name": u.name, "level": u.level, "population": u.population,
                   "rooms_per_10k": u.per_10k, "below": u.below} for u in report.units],
        "occupancy": [{"day": d.isoformat(), "occupied": n} for d, n in occupancy_series(session, actor, at=at)],
        "flows": [{"day": d.isoformat(), "admissions": a, "releases": r} for d, a, r in flows(session, actor, at=at)],
        "forecast": [{"day": d.isoformat(), "releases": n} for d, n in sorted(report.releases_by_day.items())],
    }


def occupancy_by_unit(session: Session, base: Unit, *, at: dt.datetime) -> dict[str, tuple[int, int]]:
    """The command centre's 隔离点使用率 at `at`: (occupied rooms, usable rooms) per unit path of the
    rooms in `base`'s subtree, with the precedence of `rules.room_state` (a room out of service is not
    usable; an occupied one counts once however many beds are taken). One grouped statement."""
    occ = select(RoomStay.room_id).where(RoomStay.from_at <= at, or_(
        RoomStay.until_at.is_(None), RoomStay.until_at > at)).distinct().subquery()
    usable = Room.status != "out_of_service"
    stmt = scope.within(select(
        Room.unit_path, func.sum(case((and_(usable, occ.c.room_id.is_not(None)), 1), else_=0)),
        func.sum(case((usable, 1), else_=0)),
    ).outerjoin(occ, occ.c.room_id == Room.id).group_by(Room.unit_path), base, Room)
    return {path: (int(occupied or 0), int(n or 0)) for path, occupied, n in session.execute(stmt)}
