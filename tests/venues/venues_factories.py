"""Small builders for the venue tests, through the services (flushed, never committed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.venues.service import codes as codes_service

PASSWORD = "correct-horse-9"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
#: a fixed "now" for every test that records scans (retention and the future check use the clock)
NOW = dt.datetime(2022, 4, 18, 12, 0, tzinfo=SHANGHAI)


def valid_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


ID_A = valid_id("32041219850312123")
ID_B = valid_id("32041219900701456")


def venue(session: Session, name: str = "万达广场", *, ref: str | None = None, unit: Unit | None = None,
          capacity: int | None = 1000, category: str = "mall") -> Place:
    return places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name=name, ref=ref,
                                       unit_id=unit.id if unit else None, capacity=capacity, category=category)


def token_of(session: Session, place: Place) -> str:
    return codes_service.issue_code(session, SYSTEM_ACTOR, place_id=place.id).token


def units(session: Session, suffix: str = "") -> tuple[Unit, Unit]:
    """Two sibling districts."""
    a = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="VD1" + suffix, name="甲区", level="district",
                                             parent_code=None)
    b = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="VD2" + suffix, name="乙区", level="district",
                                             parent_code=None)
    return a, b


def user(session: Session, username: str, role: str, unit: Unit) -> Actor:
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
    return auth_service.actor_for(session, username)
