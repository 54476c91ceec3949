"""Small builders for the testing capability's tests: a jurisdiction, an employer, a sampling point,
actors with the testing permissions, valid ID numbers, and file writers."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place

#: the permissions this capability adds (until roles.py has them, tests build actors or grant them)
TESTING_PERMISSIONS = frozenset({"testing.sample", "testing.result", "testing.enrol", "testing.view"})
WORKER_PERMISSIONS = TESTING_PERMISSIONS | {
    "person.view", "person.edit", "place.view", "place.manage", "task.view", "task.work", "task.assign",
    "data.import", "data.export", "unit.view",
}

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)


def make_id(seq: int, born: str = "19800101", region: str = "320412") -> str:
    first = f"{region}{born}{seq % 1000:03d}"
    return first + id_check_digit(first)


def phone(seq: int) -> str:
    return f"139{seq:08d}"


@dataclass
class Tree:
    district: Unit
    street: Unit
    community: Unit
    grid_a: Unit
    grid_b: Unit
    other_street: Unit
    other_grid: Unit
    employer: Place
    point: Place


def build_tree(session: Session, suffix: str = "") -> Tree:
    s = SYSTEM_ACTOR

    def unit(code: str, name: str, level: str, parent: Unit | None) -> Unit:
        return jurisdictions_service.create_unit(session, s, code=code + suffix, name=name, level=level,
                                                 parent_code=parent.code if parent else None)

    district = unit("T01", "武进区", "district", None)
    street = unit("T0101", "湖塘镇", "street", district)
    community = unit("T010101", "花园社区", "community", street)
    grid_a = unit("T01010101", "花园一网格", "grid", community)
    grid_b = unit("T01010102", "花园二网格", "grid", community)
    other_street = unit("T0102", "牛塘镇", "street", district)
    other_community = unit("T010201", "青云社区", "community", other_street)
    other_grid = unit("T01020101", "青云一网格", "grid", other_community)
    employer = places_service.create_place(session, s, kind="employer", name="顺达快递武进站", code="EMPT1" + suffix,
                                           category="courier_delivery_rider", unit_id=grid_a.id)
    point = places_service.create_place(session, s, kind="sampling_point", name="花园社区采样点",
                                        code="SMPT1" + suffix, unit_id=grid_a.id)
    session.flush()
    return Tree(district, street, community, grid_a, grid_b, other_street, other_grid, employer, point)


def actor_at(unit: Unit, *, permissions: frozenset[str] = WORKER_PERMISSIONS, name: str = "worker") -> Actor:
    return Actor(user_id=None, username=name, role="community", unit_id=unit.id, unit_path=unit.path,
                 permissions=permissions)


def person(session: Session, seq: int, unit: Unit, *, name: str | None = None, with_phone: bool = True) -> int:
    p = people_service.register_person(session, SYSTEM_ACTOR, name=name or f"测试{seq:03d}", id_number=make_id(seq),
                                       phone=phone(seq) if with_phone else None, unit_id=unit.id)
    return p.id


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, title: str | None = None) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        if title:
            w.writerow([title])
        w.writerow(header)
        for r in rows:
            w.writerow(r)
    return path
