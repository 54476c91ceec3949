"""The checkpoints' JSON API through the app (TestClient on the test's transaction): records posted by
another system (per-item report with lead_id/trip_id, idempotent by record_ref, rejections naming the
field), the receiver's arrival, the trips as of a time, closing a trip as "driver staying", the shift
counts; permissions; bad input is a 4xx, never a 5xx."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cp_factories import ID_A, NOW, checkpoint

from fangkong.intake import service as intake_service
from fangkong.kernel import clock, scope
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"


@pytest.fixture
def client(session_factory) -> Iterator:
    from fastapi.testclient import TestClient

    from fangkong.app import create_app

    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    monkeypatch.setenv("FANGKONG_REGION_CODE", "320400")
    from fangkong.settings import get_settings

    get_settings.cache_clear()
    with clock.frozen(NOW + dt.timedelta(days=1)):
        yield
    get_settings.cache_clear()


def _bearer(session, username: str, role: str) -> dict[str, str]:
    root = scope.base_unit(session, SYSTEM_ACTOR)
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=root.code, password=PASSWORD)
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def _rec(ref: str, at: str, direction: str, **kw: str) -> dict[str, str]:
    return {"record_ref": ref, "checkpoint": "K1", "inspected_at": at, "direction": direction, **kw}


def test_records_arrivals_trips_and_counts_over_http(client, session) -> None:
    checkpoint(session, "K1")
    intake_service.add_risk_area(session, SYSTEM_ACTOR, level="high", region_name="上海市浦东新区",
                                 start_at=NOW - dt.timedelta(days=5), end_at=None)
    kakou = _bearer(session, "kakou", "checkpoint")
    street = _bearer(session, "jiedao", "street")
    items = [
        _rec("r1", "2022-04-20 09:00", "进", plate="苏D12345", vehicle_type="小客车", name="张三", id_number=ID_A,
             origin="上海市浦东新区"),
        _rec("r2", "2022-04-20 09:30", "进", passage_ref="t1", plate="苏DA1234", vehicle_type="货车",
             epass_no="320400000001", name="李四", phone="13912345678", role="驾驶员", destination="常州市武进区"),
        _rec("r3", "2022-04-20 09:40", "sideways", plate="苏D00001"),
        _rec("r4", "2022-04-20 09:50", "in", checkpoint="K9", plate="苏D00002"),
        _rec("r5", "2022-04-20 10:00", "in"),
        _rec("r6", "2022-04-20 10:10", "in", plate="苏D00003", id_number="320412198503121230", name="王五"),
    ]
    assert client.post("/api/v1/checkpoint-records", json={"items": items}, headers=street).status_code == 403
    r = client.post("/api/v1/checkpoint-records", json={"items": items}, headers=kakou)
    assert r.status_code == 200, r.text
    got = r.json()["items"]
    assert [g["status"] for g in got] == ["accepted", "accepted", "rejected", "rejected", "rejected", "accepted"]
    assert got[0]["lead_id"] is not None and got[0]["trip_id"] is None  # from a high-risk area: a lead
    assert got[1]["lead_id"] is None and got[1]["trip_id"] is not None  # driver on a pass: a trip
    assert got[2]["issues"][0].startswith("direction:") and got[3]["issues"][0].startswith("checkpoint:")
    assert got[4]["issues"][0].startswith("plate:")  # nothing to record
    assert any(i.startswith("id_number:") for i in got[5]["issues"])  # a bad ID number: only an issue
    # the same again: duplicates with the first answer; the ref with other content: rejected
    again = client.post("/api/v1/checkpoint-records", json={"items": items[:2]}, headers=kakou).json()["items"]
    assert [g["status"] for g in again] == ["duplicate", "duplicate"]
    assert (again[0]["lead_id"], again[1]["trip_id"]) == (got[0]["lead_id"], got[1]["trip_id"])
    other = client.post("/api/v1/checkpoint-records", json={"items": [dict(items[0], plate="苏D54321")]},
                        headers=kakou).json()["items"]
    assert other[0]["status"] == "rejected" and other[0]["issues"][0].startswith("record_ref:")

    # the receiver confirms; an arrival nobody entered for is arrival_not_seen
    arrivals = [{"request_id": "q1", "plate": "苏D·A1234", "epass_no": "320400000001", "arrived_at": "2022-04-20 11:00",
                 "receiver": "常州某超市"},
                {"request_id": "q2", "plate": "苏D77777", "arrived_at": "2022-04-20 11:00"}]
    assert client.post("/api/v1/trip-arrivals", json={"items": arrivals}, headers=kakou).status_code == 403
    a = client.post("/api/v1/trip-arrivals", json={"items": arrivals}, headers=street)
    assert a.status_code == 200, a.text
    joined, unseen = a.json()["items"]
    assert joined["status"] == "accepted" and joined["trip_id"] == got[1]["trip_id"]
    assert unseen["trip_id"] is None and any("arrival_not_seen" in i for i in unseen["issues"])

    # states as of a time: at destination, then exit overdue (arrival + 24 h) an hour later
    trips = client.get("/api/v1/trips", params={"at": "2022-04-21 12:00"}, headers=street).json()
    assert [(t["plate"], t["state"], t["overdue_hours"]) for t in trips] == [("苏DA1234", "exit_overdue", 1.0)]
    early = client.get("/api/v1/trips", params={"at": "2022-04-20 10:00"}, headers=street).json()
    assert early[0]["state"] == "in_transit" and early[0]["arrived_at"] is None
    assert client.get("/api/v1/trips", params={"at": "tomorrow-ish"}, headers=street).status_code == 422

    # closing as "driver staying": the driver becomes a lead; a second close is a conflict
    tid = got[1]["trip_id"]
    closed = client.post(f"/api/v1/trips/{tid}/close", headers=street)
    assert closed.status_code == 200 and len(closed.json()["lead_ids"]) == 1
    assert client.post(f"/api/v1/trips/{tid}/close", headers=street).status_code == 409
    assert client.post("/api/v1/trips/999999/close", headers=street).status_code == 404

    # shift counts of the day: two vehicles and two persons in, one truck, one lead
    shifts = client.get("/api/v1/reports/checkpoint-shifts", params={"day": "2022-04-20"}, headers=street).json()
    day_shift = next(s for s in shifts if s["shift"] == "08:00-16:00")
    assert (day_shift["vehicles_in"], day_shift["persons_in"], day_shift["trucks_in"], day_shift["leads"]) == (3, 3, 1, 1)
    assert client.get("/api/v1/reports/checkpoint-shifts", params={"day": "20/04"}, headers=street).status_code == 422


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": [{"record_ref": "x"}]}, {"items": "x"}, [1, 2],
                                  {"items": [{"record_ref": "x", "checkpoint": "K1", "inspected_at": "2022-13-45 99:99",
                                              "direction": "in", "plate": "苏D1"}]}])
def test_bad_bodies_are_4xx_never_5xx(client, session, body) -> None:
    checkpoint(session, "K1")
    kakou = _bearer(session, "kakou", "checkpoint")
    r = client.post("/api/v1/checkpoint-records", json=body, headers=kakou)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["items"][0]["status"] == "rejected"
    assert client.post("/api/v1/trip-arrivals", json=body, headers=_bearer(session, "jiedao", "street")).status_code in (200, 422)
