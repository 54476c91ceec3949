"""Builders for the zone tests: a county with two grids and their addresses, residents, samples and
results through testing's own service (flushed, never committed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place

TZ = dt.timezone(dt.timedelta(hours=8))


def t(day: int, hour: float = 0) -> dt.datetime:
    """April 2022, local time."""
    return dt.datetime(2022, 4, day, tzinfo=TZ) + dt.timedelta(hours=hour)


def make_id(seq: int, born: str = "19800101") -> str:
    first = f"320412{born}{seq % 1000:03d}"
    return first + id_check_digit(first)


@dataclass
class City:
    district: Unit
    community: Unit
    grid1: Unit
    grid2: Unit
    point: Place
    #: person id → seq
    people: dict[int, int] = field(default_factory=dict)


def build_city(session: Session, *, per_room: int = 2) -> City:
    """武进区 (320412) → 湖塘镇 → 花园社区 → two grids; 花园路8号 buildings 1 (grid 1) and 2 (grid 2), rooms
    101 and 102 each, `per_room` residents per room; one more address with nobody registered."""
    s = SYSTEM_ACTOR

    def unit(code: str, name: str, level: str, parent: Unit | None) -> Unit:
        return jurisdictions_service.create_unit(session, s, code=code, name=name, level=level,
                                                 parent_code=parent.code if parent else None)

    district = unit("320412", "武进区", "district", None)
    street = unit("320412001", "湖塘镇", "street", district)
    community = unit("320412001001", "花园社区", "community", street)
    g1 = unit("32041200100101", "花园一网格", "grid", community)
    g2 = unit("32041200100102", "花园二网格", "grid", community)
    point = places_service.create_place(session, s, kind="sampling_point", name="花园社区采样点", code="ZSP1",
                                        unit_id=community.id)
    city = City(district, community, g1, g2, point)
    seq = 0
    for building, grid in (("1", g1), ("2", g2)):
        for room in ("101", "102"):
            text = f"花园路8号{building}栋{room}室"
            jurisdictions_service.add_address(session, s, text=text, grid_code=grid.code)
            for _ in range(per_room):
                seq += 1
                p = people_service.register_person(session, s, name=f"居民{seq}", id_number=make_id(seq),
                                                   phone=f"136{seq:08d}", address_text=text)
                city.people[p.id] = seq
    jurisdictions_service.add_address(session, s, text="花园路9号1栋101室", grid_code=g2.code)
    session.flush()
    return city


def sample(session: Session, city: City, seq: int, at: dt.datetime, *, result: str | None = "negative",
           report_after: float = 6) -> None:
    """A single-tube PCR sample of resident `seq` collected at `at`, and its result."""
    from fangkong.testing import service as testing_service

    barcode = f"Z{seq}-{at:%m%d%H%M}"
    with clock.frozen(at):
        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1, sampling_point_id=city.point.id)
        testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq), collected_at=at)
    if result is None:
        return
    reported = at + dt.timedelta(hours=report_after)
    with clock.frozen(reported):
        rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
            "tube_barcode": barcode, "result": result, "lab": "常州检测",
            "reported_at": reported.strftime("%Y-%m-%d %H:%M")})])
    assert rows[0].status == "accepted", rows[0].issues


def pool(session: Session, city: City, barcode: str, seqs: list[int], at: dt.datetime, result: str,
         *, report_after: float = 5) -> None:
    """A pooled PCR tube (混采) of residents `seqs` collected at `at`, and its result (a positive pool
    runs testing's pool loop)."""
    from fangkong.testing import service as testing_service

    with clock.frozen(at):
        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=len(seqs),
                                  sampling_point_id=city.point.id)
        for seq in seqs:
            testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq), collected_at=at)
    reported = at + dt.timedelta(hours=report_after)
    with clock.frozen(reported):
        rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
            "tube_barcode": barcode, "result": result, "lab": "常州检测",
            "reported_at": reported.strftime("%Y-%m-%d %H:%M")})])
    assert rows[0].status == "accepted", rows[0].issues


PASSWORD = "correct-horse-9"


def user(session: Session, username: str, role: str, unit: Unit) -> None:
    from fangkong.kernel.auth import service as auth_service

    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
