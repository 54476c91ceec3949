"""Intake JSON API: batches with per-item reports, idempotency, scope (404), auth (401/403), 422s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from intake_factories import NOW, Tree, make_id
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.models import RolePermission

ADDR = "幸福路12号3幢2单元301室"
#: what the lead is asked to add to roles.py; granted here as data (roles are editable in the database)
GRANTS = {"grid": {"lead.view", "lead.verify", "lead.import", "measure.start"},
          "command": {"lead.view", "lead.import", "lead.verify", "risk_area.manage", "measure.start"}}


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tree(session):
    t = Tree(session)
    have = set(session.execute(select(RolePermission.role_code, RolePermission.permission)).all())
    for role, perms in GRANTS.items():
        for p in perms - {q for r, q in have if r == role}:
            session.add(RolePermission(role_code=role, permission=p))
    session.flush()
    return t


def _token(session, username, role, unit) -> dict[str, str]:
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password="correct-horse-9")
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def centre(session, tree):
    return _token(session, "centre", "command", tree.root)


@pytest.fixture
def grid1(session, tree):
    return _token(session, "grid1", "grid", tree.grid1)


def _post(client, headers, body):
    with clock.frozen(NOW):
        return client.post("/api/v1/leads", json=body, headers=headers)


def test_batch_report_and_idempotency(client, centre):
    body = {"channel": "bigdata", "items": [
        {"name": "张三", "id_number": make_id(), "phone": "13812345678", "address": ADDR, "source_ref": "A1",
         "category": "密接", "航班": "MU5101"},
        {"name": "李四", "phone": "12345", "source_ref": "A2"},
        {"name": "王五", "source_ref": "A3"},
    ]}
    r = _post(client, centre, body)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["status"] for i in items] == ["accepted", "accepted", "rejected"]
    assert items[1]["issues"] == ["phone: should be 11 digits (got 5)"]
    again = _post(client, centre, body).json()["items"]
    assert [i["status"] for i in again] == ["duplicate", "duplicate", "rejected"]
    assert [i["lead_id"] for i in again[:2]] == [i["lead_id"] for i in items[:2]]
    lead = client.get(f"/api/v1/leads/{items[0]['lead_id']}", headers=centre).json()
    assert (lead["rule"], lead["measure_code"], lead["id_number_masked"][-4:]) == (
        "categories.close_contact", "centralised_quarantine", make_id()[-4:])
    assert lead["received_at"] == "2022-04-18T09:00:00+08:00"
    assert "密切接触者" in lead["explanation"]


def test_single_lead_at_the_top_level(client, centre):
    r = _post(client, centre, {"channel": "self", "name": "张三", "phone": "13812345678"})
    assert r.status_code == 200 and r.json()["items"][0]["status"] == "accepted"


def test_bad_bodies_are_422(client, centre):
    assert _post(client, centre, {"channel": "bigdata"}).status_code == 422
    assert _post(client, centre, {"channel": "pigeon", "items": [{"name": "x"}]}).status_code == 422
    assert _post(client, centre, {"channel": "bigdata", "items": []}).status_code == 422
    assert client.get("/api/v1/leads?cursor=abc", headers=centre).status_code == 422
    assert client.get("/api/v1/leads?received_from=someday", headers=centre).status_code == 422


def test_auth(client, session, tree):
    assert client.get("/api/v1/leads").status_code == 401
    lab = _token(session, "lab1", "lab", tree.root)  # a laboratory has no business with leads
    assert client.get("/api/v1/leads", headers=lab).status_code == 403
    viewer = _token(session, "viewer1", "viewer", tree.root)  # reads leads, cannot send them
    assert client.get("/api/v1/leads", headers=viewer).status_code == 200
    assert client.post("/api/v1/leads", json={"channel": "tip", "name": "x"}, headers=viewer).status_code == 403


def test_scope_pagination_and_verification(client, centre, grid1):
    items = [{"name": f"人{i}", "phone": f"1380000000{i}", "address": ADDR} for i in range(3)]
    items.append({"name": "无址", "phone": "13900000000"})
    ids = [i["lead_id"] for i in _post(client, centre, {"channel": "community", "items": items}).json()["items"]]
    page = client.get("/api/v1/leads?limit=2", headers=grid1).json()
    assert [x["id"] for x in page["items"]] == [ids[2], ids[1]]
    rest = client.get(f"/api/v1/leads?limit=2&cursor={page['next_cursor']}", headers=grid1).json()
    assert [x["id"] for x in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert client.get(f"/api/v1/leads/{ids[3]}", headers=grid1).status_code == 404  # root's lead
    assert client.post(f"/api/v1/leads/{ids[3]}/verification", json={"outcome_code": "false_lead"},
                       headers=grid1).status_code == 404
    with clock.frozen(NOW):
        r = client.post(f"/api/v1/leads/{ids[0]}/verification", headers=grid1,
                        json={"outcome_code": "found_home", "four_checks": {"headcount": 2, "identity": True}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"  # category other: nothing to start
    assert r.json()["headcount"] == 2
    again = client.post(f"/api/v1/leads/{ids[0]}/verification", headers=grid1, json={"outcome_code": "false_lead"})
    assert again.status_code == 409
    bad = client.post(f"/api/v1/leads/{ids[1]}/verification", headers=grid1, json={"outcome_code": "left_city"})
    assert bad.status_code == 422
    with clock.frozen(NOW):
        rep = client.get("/api/v1/reports/clearance?day=2022-04-18", headers=grid1).json()
        rec = client.get("/api/v1/reports/reconciliation?day=2022-04-18", headers=centre).json()
    assert (rep["totals"]["received"], rep["totals"]["cleared"]) == (3, 1)
    assert rec["checkpoint_not_verified"] == []


def test_risk_areas(client, centre, grid1):
    r = client.post("/api/v1/risk-areas", headers=centre, json={
        "region_name": "上海市浦东新区", "level": "高", "start_at": "2022-04-01", "source": "上海发布"})
    assert r.status_code == 201, r.text
    area = r.json()
    assert (area["level"], area["start_at"], area["end_at"]) == ("high", "2022-04-01T00:00:00+08:00", None)
    assert client.post("/api/v1/risk-areas", headers=centre, json={
        "region_name": "x", "level": "purple", "start_at": "2022-04-01"}).status_code == 422
    assert client.post("/api/v1/risk-areas", headers=grid1, json={
        "region_name": "x", "level": "high", "start_at": "2022-04-01"}).status_code == 403
    p = client.patch(f"/api/v1/risk-areas/{area['id']}", headers=centre, json={"end_at": "2022-04-20 12:00"})
    assert p.json()["end_at"] == "2022-04-20T12:00:00+08:00"
    listed = client.get("/api/v1/risk-areas?active_at=2022-04-18", headers=grid1).json()
    assert [a["id"] for a in listed] == [area["id"]]
    assert client.get("/api/v1/risk-areas?active_at=2022-04-21", headers=grid1).json() == []
    # a lead from that area is decided by it
    with clock.frozen(NOW):
        items = _post(client, centre, {"channel": "bigdata", "name": "张三", "phone": "13812345678",
                                       "origin": "上海市浦东新区", "arrival_at": "2022-04-17 20:00"}).json()["items"]
    lead = client.get(f"/api/v1/leads/{items[0]['lead_id']}", headers=centre).json()
    assert lead["rule"] == "risk_areas.high"


def test_risk_areas_by_county_code(client, centre, grid1):
    r = client.post("/api/v1/risk-areas", headers=centre, json={
        "province": "江苏省", "city": "南京市", "county": "鼓楼区", "place": "宁海路街道幸福小区", "level": "高风险",
        "start_at": "2022-04-10", "source": "南京发布"})
    assert r.status_code == 201, r.text
    area = r.json()
    assert (area["county_code"], area["county_name"], area["places"], area["level"]) == (
        "320106", "江苏省南京市鼓楼区", ["宁海路街道幸福小区"], "high")
    # 鼓楼区 alone: 422 naming the candidates, never a guess
    bad = client.post("/api/v1/risk-areas", headers=centre, json={
        "region_name": "鼓楼区", "level": "high", "start_at": "2022-04-10"})
    assert bad.status_code == 422
    [field] = bad.json()["error"]["fields"]
    assert (field["field"], field["reason"]) == ("region_name", "region.ambiguous")
    assert "江苏省徐州市鼓楼区" in field["message"]
    assert client.post("/api/v1/risk-areas", headers=centre, json={
        "region_name": "南京市鼓楼区", "level": "low", "start_at": "2022-04-10"}).status_code == 422
    # a change that makes it the same as another area: 409, not a 500
    other = client.post("/api/v1/risk-areas", headers=centre, json={
        "region_name": "南京鼓楼区宁海路街道幸福小区", "level": "medium", "start_at": "2022-04-10"}).json()
    clash = client.patch(f"/api/v1/risk-areas/{other['id']}", headers=centre, json={"level": "high"})
    assert clash.status_code == 409, clash.text
    # times no one can mean: 422 (or an empty answer), never a 500
    for day in ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00"):
        listed = client.get("/api/v1/risk-areas", params={"active_at": day}, headers=grid1)
        assert listed.status_code in (200, 422), (day, listed.text)
        assert client.get("/api/v1/risk-areas/derived-low", params={"at": day}, headers=grid1).status_code in (200, 422)
    assert client.get("/api/v1/risk-areas?active_at=0001-01-01", headers=grid1).status_code == 422
    assert client.post("/api/v1/risk-areas", headers=centre, json={
        "region_name": "南京市玄武区", "level": "high", "start_at": "0001-01-01"}).status_code == 422
    assert client.patch(f"/api/v1/risk-areas/{other['id']}", headers=centre,
                        json={"end_at": "9999-12-31"}).status_code == 422
    # the low-risk rest of the county, derived
    low = client.get("/api/v1/risk-areas/derived-low", params={"at": "2022-04-18"}, headers=grid1).json()
    assert low == [{"county_code": "320106", "county_name": "江苏省南京市鼓楼区", "level": "low",
                    "since": "2022-04-10T00:00:00+08:00", "area_ids": [area["id"], other["id"]]}]
    # leads: the 小区 → high; the county → derived low; 鼓楼区 alone → an issue on origin
    with clock.frozen(NOW):
        items = _post(client, centre, {"channel": "bigdata", "items": [
            {"name": "张三", "phone": "13812345678", "origin": "南京市鼓楼区幸福小区", "arrival_at": "2022-04-17 20:00"},
            {"name": "李四", "phone": "13812345679", "origin": "南京鼓楼区", "arrival_at": "2022-04-17 20:00"},
            {"name": "王五", "phone": "13812345670", "origin": "鼓楼区", "arrival_at": "2022-04-17 20:00"},
        ]}).json()["items"]
    rules_ = [client.get(f"/api/v1/leads/{i['lead_id']}", headers=centre).json()["rule"] for i in items]
    assert rules_ == ["risk_areas.high", "risk_areas.low_derived", "categories.other"]
    assert items[2]["issues"][0].startswith("origin: 鼓楼区 names several counties")
