"""Quarantine sites over real HTTP: the JSON API (sites, rooms, capacity, proposals, assignment,
arrival, transfer), scoping (a neighbouring district sees no site, 404 for one outside), the site staff
page in Chinese, and two requests for the last free bed at once on a database of the test's own — one
wins, the other gets 409 — on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from control_factories import bearer, build_world, login, person, user
from fastapi.testclient import TestClient
from own_database import initialised_database
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.control import service as control_service
from fangkong.control.sites.service import sites as sites_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _planned(session: Session, w: Any, seq: int, name: str) -> int:
    pid = person(session, w, seq, name)
    return control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="close_contact",
                                         rule="categories.close_contact", started_at=NOW, exposure_at=NOW,
                                         planned=True).id


def _world(session: Session) -> dict[str, Any]:
    w = build_world(session)
    site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT1", unit_id=w.district.id)
    rooms = [sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building="A", floor=3,
                                    number=n, beds=1) for n in ("301", "302")]
    user(session, "dist1", "district", w.district)
    user(session, "other1", "district", w.other)
    return {"w": w, "site_id": site.place_id, "rooms": [r.id for r in rooms],
            "measures": [_planned(session, w, 1, "张三"), _planned(session, w, 2, "李四")]}


def test_the_api_assigns_a_room_sends_transport_and_starts_on_arrival(client: TestClient, session: Session) -> None:
    d = _world(session)
    h = bearer(session, "dist1")
    sites = client.get("/api/v1/quarantine-sites", headers=h).json()
    assert [s["ref"] for s in sites if s["ref"]] == ["HT1"]
    assert client.get("/api/v1/quarantine-sites", headers=bearer(session, "other1")).json() == []
    assert client.get(f"/api/v1/quarantine-sites/{d['site_id']}", headers=bearer(session, "other1")).status_code == 404
    [m1, m2] = d["measures"]
    props = client.get(f"/api/v1/measures/{m1}/room-proposals", headers=h).json()
    assert props[0]["room"] in ("A-301", "A-302")
    r = client.post("/api/v1/room-assignments", headers=h, json={
        "measure_ids": [m1], "room_id": d["rooms"][0], "pickup": "花园路8号", "pickup_at": "2022-04-18 11:00",
        "vehicle": "苏D12345", "escort": "李护士"})
    assert r.status_code == 201, r.text
    [stay] = r.json()
    assert stay["transport_task_id"] and stay["arrived_at"] is None
    again = client.post("/api/v1/room-assignments", headers=h, json={"measure_ids": [m2], "room_id": d["rooms"][0]})
    assert again.status_code == 409 and "A-301" in again.json()["error"]["message"]
    bad = client.post("/api/v1/room-assignments", headers=h, json={"measure_ids": [], "room_id": 0})
    assert bad.status_code == 422
    site = client.get(f"/api/v1/quarantine-sites/{d['site_id']}", headers=h).json()
    assert [(r["number"], r["state"]) for r in site["rooms"]] == [("301", "occupied"), ("302", "free")]
    assert site["rooms"][0]["occupants"][0]["id_number_masked"].count("*") == 8
    arrived = client.post(f"/api/v1/measures/{m1}/arrive", headers=h)
    assert arrived.status_code == 200 and arrived.json()["arrived_at"].startswith("2022-04-18T09:00:00+08:00")
    assert client.post(f"/api/v1/measures/{m1}/arrive", headers=h).status_code == 409
    moved = client.post(f"/api/v1/measures/{m1}/transfer", headers=h, json={"to_room_id": d["rooms"][1]})
    assert moved.status_code == 200 and moved.json()["room_id"] == d["rooms"][1]
    cap = client.get("/api/v1/quarantine-capacity", headers=h).json()
    ht1 = next(s for s in cap["sites"] if s["ref"] == "HT1")
    assert (ht1["rooms"], ht1["occupied"], ht1["cleaning"], ht1["free"]) == (2, 1, 1, 0)
    assert client.post(f"/api/v1/rooms/{d['rooms'][0]}/clean", headers=h).status_code == 204
    assert client.post(f"/api/v1/rooms/{d['rooms'][0]}/clean", headers=h).status_code == 409
    dash = client.get("/api/v1/quarantine-capacity/dashboard", headers=h).json()
    assert {"sites", "units", "occupancy", "flows", "forecast"} <= set(dash)
    assert len(dash["forecast"]) == 7


def test_the_site_page_shows_rooms_by_floor_in_chinese_and_assigns(client: TestClient, session: Session) -> None:
    d = _world(session)
    csrf = login(client, "dist1")
    page = client.get(f"/quarantine-sites/{d['site_id']}")
    assert page.status_code == 200
    assert "空闲" in page.text and "待安排房间" in page.text and "张三" in page.text
    r = client.post(f"/quarantine-sites/{d['site_id']}/assign", data={
        "csrf_token": csrf, "measure_id": str(d["measures"][0]), "vehicle": "苏D1"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/quarantine-sites/{d['site_id']}")
    assert "在住" in page.text and "转运途中" in page.text
    listing = client.get("/quarantine-sites")
    assert "湖塘宾馆" in listing.text
    assert client.get("/quarantine-capacity").status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_requests_for_the_last_free_bed_one_wins_the_other_gets_409(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with initialised_database(backend, tmp_path, monkeypatch, "lastbed") as (_url, factory):
        with factory() as session:
            d = _world(session)
            sites_service.set_room_status(session, SYSTEM_ACTOR, room_id=d["rooms"][1], status="out_of_service")
            h = bearer(session, "dist1")
            session.commit()
        app = create_app(session_factory=factory)
        with TestClient(app, raise_server_exceptions=False) as c:
            start = threading.Barrier(2)
            codes: list[int] = []

            def claim(measure_id: int) -> None:
                start.wait()
                r = c.post("/api/v1/room-assignments", headers=h,
                           json={"measure_ids": [measure_id], "room_id": d["rooms"][0]})
                codes.append(r.status_code)

            threads = [threading.Thread(target=claim, args=(m,)) for m in d["measures"]]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert sorted(codes) == [201, 409]
        with factory() as session:
            place, _site, rooms = sites_service.site_rooms(session, SYSTEM_ACTOR, d["site_id"], at=clock.now())
            assert len(rooms[0].occupants) == 1 and place.ref == "HT1"
