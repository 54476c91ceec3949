"""Builders for the tracing tests: a small jurisdiction, a case person with household, colleague and
co-visitors, scans at a venue, and a positive individual result through testing's own service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.auth.models import RolePermission
from fangkong.kernel.auth.roles import MATRIX
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.testing import service as testing_service
from fangkong.testing.service.results import ResultItem
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service.scans import ScanItem

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 12, 0, tzinfo=TZ)
#: the permissions tracing adds (until kernel/auth/roles.py has them, tests grant them)
TRACING_PERMISSIONS = frozenset({"case.view", "case.manage", "contact.confirm"})
ADDRESS = "武进区湖塘镇花园路8号3幢201室"


def make_id(seq: int, born: str = "19850101", region: str = "320412") -> str:
    first = f"{region}{born}{seq % 1000:03d}"
    return first + id_check_digit(first)


def phone(seq: int) -> str:
    return f"137{seq:08d}"


def grant(session: Session, role: str, permissions: frozenset[str] = TRACING_PERMISSIONS) -> None:
    """Give a role the tracing permissions inside the test's transaction (the seeded matrix already
    gives them to epidemiologists; other roles get them here)."""
    for perm in sorted(permissions):
        if session.get(RolePermission, (role, perm)) is None:
            session.add(RolePermission(role_code=role, permission=perm))
    session.flush()


def epidemiologist(unit: Unit, *, extra: frozenset[str] = TRACING_PERMISSIONS, name: str = "epi") -> Actor:
    return Actor(user_id=None, username=name, role="epidemiologist", unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(MATRIX["epidemiologist"]) | extra)


@dataclass
class World:
    district: Unit
    grid: Unit
    other_district: Unit
    employer: Place
    venue: Place
    point: Place
    subject: int
    household: int
    colleague: int
    covisitor: int
    late_visitor: int


def build_world(session: Session, suffix: str = "") -> World:
    s = SYSTEM_ACTOR

    def unit(code: str, name: str, level: str, parent: Unit | None) -> Unit:
        return jurisdictions_service.create_unit(session, s, code=code + suffix, name=name, level=level,
                                                 parent_code=parent.code if parent else None)

    district = unit("R01", "武进区", "district", None)
    street = unit("R0101", "湖塘镇", "street", district)
    community = unit("R010101", "花园社区", "community", street)
    grid = unit("R01010101", "花园一网格", "grid", community)
    other = unit("R02", "新北区", "district", None)
    employer = places_service.create_place(session, s, kind="employer", name="顺达快递武进站", code="EMPR1" + suffix,
                                           unit_id=grid.id)
    venue = places_service.create_place(session, s, kind="venue", name="花园菜市场", ref="VR1" + suffix,
                                        category="market", capacity=2000, unit_id=grid.id)
    point = places_service.create_place(session, s, kind="sampling_point", name="花园社区采样点",
                                        code="SMPR1" + suffix, unit_id=grid.id)

    def person(seq: int, name: str, **kw: object) -> int:
        return people_service.register_person(session, s, name=name, id_number=make_id(seq), phone=phone(seq),
                                              unit_id=grid.id, **kw).id  # type: ignore[arg-type]

    subject = person(1, "王病例", address_text=ADDRESS, employer_id=employer.id)
    household = person(2, "王家属", address_text=ADDRESS)
    colleague = person(3, "李同事", employer_id=employer.id)
    covisitor = person(4, "赵伴随")
    late = person(5, "钱路人")
    session.flush()
    return World(district, grid, other, employer, venue, point, subject, household, colleague, covisitor, late)


def add_scans(session: Session, rows: list[tuple[int, int, dt.datetime]], tag: str) -> None:
    """rows: (venue id, person seq, time), through venues' real recording path."""
    items = [ScanItem(k + 1, place_id=v, phone=phone(seq), scanned_at=at.isoformat(), request_id=f"{tag}-{k}")
             for k, (v, seq, at) in enumerate(rows)]
    out = scans_service.record_scans(session, SYSTEM_ACTOR, items=items, source="api")
    assert {r.status for r in out} == {"accepted"}, [r.issues for r in out]


def positive_result(session: Session, w: World, *, seq: int = 1, barcode: str = "TR-0001",
                    collected_at: dt.datetime | None = None) -> None:
    """A single-tube positive for the person `seq`, through testing's service (→ a case candidate)."""
    testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1, sampling_point_id=w.point.id)
    testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq),
                               collected_at=collected_at or NOW - dt.timedelta(hours=8))
    rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[ResultItem(1, {
        "tube_barcode": barcode, "result": "阳性", "ct": "28", "lab": "常州检测",
        "reported_at": (NOW - dt.timedelta(hours=1)).isoformat()})])
    assert rows[0].status == "accepted", rows[0].issues


def standard_scans(session: Session, w: World, tag: str = "s") -> None:
    """The subject at the market two days ago; the co-visitor 10 minutes later; a late visitor 3 h later."""
    t = NOW - dt.timedelta(days=2)
    add_scans(session, [(w.venue.id, 1, t), (w.venue.id, 4, t + dt.timedelta(minutes=10)),
                        (w.venue.id, 5, t + dt.timedelta(hours=3))], tag)


def test_result(session: Session, w: World, *, seq: int, barcode: str, collected_at: dt.datetime,
                result: str = "阴性") -> None:
    """A single-tube result for the person `seq`, sampled at `collected_at` (call under a clock at or
    after it: results are reported when they arrive)."""
    testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1, sampling_point_id=w.point.id)
    testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq), collected_at=collected_at)
    rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[ResultItem(1, {
        "tube_barcode": barcode, "result": result, "lab": "常州检测",
        "reported_at": (collected_at + dt.timedelta(hours=1)).isoformat()})])
    assert rows[0].status == "accepted", rows[0].issues


test_result.__test__ = False  # type: ignore[attr-defined]  (a builder, not a test)
