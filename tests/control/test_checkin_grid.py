"""The staff check-in page is a room grid: one row per person in a check-in phase, by site, then
building, floor and room (the staff walk the corridors), the room beside the name; persons at home or
still awaiting a room come after the rooms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import build_world, person
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.service import checkins
from fangkong.control.sites.service import sites as sites_service
from fangkong.control.sites.service import stays as stays_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2022, 4, 20, 10, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(START + dt.timedelta(days=1)):
        yield


def test_rows_follow_the_rooms_and_name_them(session: Session) -> None:
    w = build_world(session)
    site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT", unit_id=w.district.id)
    rooms = {f"{b}-{n}": sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building=b,
                                                floor=int(n[0]), number=n).id
             for b, n in (("A", "302"), ("A", "201"), ("B", "101"))}
    placed = {}
    for seq, (name, room) in enumerate((("甲", "B-101"), ("乙", "A-302"), ("丙", "A-201")), start=1):
        m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=person(session, w, seq, name),
                                          category="close_contact", rule="categories.close_contact",
                                          place_kind="site", place_id=site.place_id, started_at=START, planned=True)
        stays_service.assign_room(session, SYSTEM_ACTOR, measure_ids=[m.id], room_id=rooms[room], at=START)
        stays_service.arrive(session, SYSTEM_ACTOR, measure_id=m.id, at=START)
        placed[name] = room
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=person(session, w, 9, "丁居家"),
                                  category="secondary_contact", rule="categories.secondary_contact", started_at=START)
    rows = checkins.roster(session, SYSTEM_ACTOR, at=START + dt.timedelta(days=1))
    at_site = [(r.room, r.name) for r in rows if r.site_name == "湖塘宾馆"]
    assert at_site == [("A-201", "丙"), ("A-302", "乙"), ("B-101", "甲")]
    assert [(r.room, r.site_name) for r in rows if r.name == "丁居家"] == [(None, None)]
