"""Builders for the control tests: a small jurisdiction, a quarantine site, a venue, persons, users, and
samples through testing's own service (flushed, never committed)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy.orm import Session

from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place

TZ = dt.timezone(dt.timedelta(hours=8))
#: a Monday morning, local time
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)
PASSWORD = "correct-horse-9"


def make_id(seq: int, born: str = "19800101", region: str = "320412") -> str:
    first = f"{region}{born}{seq % 1000:03d}"
    return first + id_check_digit(first)


def phone(seq: int) -> str:
    return f"136{seq:08d}"


@dataclass
class World:
    district: Unit
    community: Unit
    grid: Unit
    other: Unit
    site: Place
    point: Place
    venue: Place


def build_world(session: Session) -> World:
    s = SYSTEM_ACTOR

    def unit(code: str, name: str, level: str, parent: Unit | None) -> Unit:
        return jurisdictions_service.create_unit(session, s, code=code, name=name, level=level,
                                                 parent_code=parent.code if parent else None)

    district = unit("C01", "武进区", "district", None)
    street = unit("C0101", "湖塘镇", "street", district)
    community = unit("C010101", "花园社区", "community", street)
    grid = unit("C01010101", "花园一网格", "grid", community)
    other = unit("C02", "新北区", "district", None)
    site = places_service.create_place(session, s, kind="quarantine_site", name="湖塘隔离酒店", unit_id=district.id)
    point = places_service.create_place(session, s, kind="sampling_point", name="花园社区采样点", code="CSP1",
                                        unit_id=grid.id)
    venue = places_service.create_place(session, s, kind="venue", name="花园菜市场", ref="CV1", category="market",
                                        capacity=500, unit_id=grid.id)
    session.flush()
    return World(district, community, grid, other, site, point, venue)


def person(session: Session, w: World, seq: int, name: str) -> int:
    return people_service.register_person(session, SYSTEM_ACTOR, name=name, id_number=make_id(seq), phone=phone(seq),
                                          unit_id=w.grid.id, address_text="花园路8号").id


def sample(session: Session, w: World, seq: int, at: dt.datetime, barcode: str) -> None:
    """A single-tube PCR sample of person `seq` collected at `at`, through testing's sampling service."""
    from fangkong.testing import service as testing_service

    testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1, sampling_point_id=w.point.id)
    testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq), collected_at=at)


def user(session: Session, username: str, role: str, unit: Unit) -> Actor:
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
    return auth_service.actor_for(session, username)


def bearer(session: Session, username: str) -> dict[str, str]:
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str) -> str:
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
    assert m is not None
    return m.group(1)


def logout(client: TestClient, csrf: str) -> None:
    client.post("/logout", data={"csrf_token": csrf})
