"""The testing API and pages through the app (TestClient on the test's transaction)."""

from __future__ import annotations

import re

import pytest
from signin import sign_in
from sqlalchemy import select
from testing_factories import NOW, make_id, person, phone

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.models import RolePermission
from fangkong.testing import service
from fangkong.testing.models import Tube

PASSWORD = "correct-horse-9"
#: who should hold the new permissions (the report to the lead lists the same)
GRANTS = {
    "sampler": ["testing.sample"],
    "lab": ["testing.result"],
    "community": ["testing.view", "testing.enrol", "testing.sample"],
    "street": ["testing.view", "testing.enrol"],
    "enterprise": ["testing.enrol"],
}


@pytest.fixture
def grants(session):
    for role, perms in GRANTS.items():
        for perm in perms:
            if session.get(RolePermission, (role, perm)) is None:
                session.add(RolePermission(role_code=role, permission=perm))
    session.flush()


def _user(session, username, role, unit):
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit.code,
                             password=PASSWORD)
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def _login(client, username):
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
    assert m
    return m.group(1)


def test_lab_posts_results_with_a_per_item_report(client, session, tree, grants, at_now):
    lab = _user(session, "lab1", "lab", tree.district)
    service.ingest_samples(session, SYSTEM_ACTOR, items=[service.SampleItem(2, {
        "tube_barcode": "A-1", "pool_size": "1", "id_number": make_id(1), "collected_at": "2022-04-18 07:00"})])
    session.flush()
    body = {"items": [
        {"tube_barcode": "A-1", "result": "阴性", "ct": None, "lab": "常州检测", "reported_at": "2022-04-18 08:00"},
        {"tube_barcode": "NOPE", "result": "阴性", "lab": "常州检测"},
        {"tube_barcode": "A-1", "result": "阳性", "ct": 31.5, "lab": "常州检测", "reported_at": "2022-04-18 08:30"},
    ]}
    r = client.post("/api/v1/results", json=body, headers=lab)
    assert r.status_code == 200, r.text
    data = r.json()
    assert [i["status"] for i in data["items"]] == ["accepted", "rejected", "conflict"]
    assert data["counts"] == {"accepted": 1, "conflict": 1, "rejected": 1}
    assert data["items"][1]["issues"] == ["tube_barcode: unknown tube NOPE"]
    # one result at the top level, repeated: a duplicate
    r = client.post("/api/v1/results", json={"tube_barcode": "A-1", "result": "neg", "lab": "常州检测"}, headers=lab)
    assert r.status_code == 200 and r.json()["items"][0]["status"] == "duplicate"
    # the lab cannot read compliance; a sampler cannot post results
    assert client.get("/api/v1/compliance", headers=lab).status_code == 403
    sampler = _user(session, "sampler1", "sampler", tree.grid_a)
    assert client.post("/api/v1/results", json=body, headers=sampler).status_code == 403
    assert client.post("/api/v1/results", json={"items": []}, headers=lab).status_code == 422
    assert client.post("/api/v1/results", json=body).status_code == 401


def test_tubes_over_the_api_and_scope(client, session, tree, grants, at_now):
    sampler = _user(session, "sampler2", "sampler", tree.grid_a)
    r = client.post("/api/v1/tubes", json={"tube_barcode": "B-1", "pool_size": 2}, headers=sampler)
    assert r.status_code == 200, r.text
    assert r.json()["pool_size"] == 2
    r = client.post("/api/v1/tubes/B-1/samples", json={"person": make_id(5)}, headers=sampler)
    assert r.json()["samples"] == 1
    r = client.post("/api/v1/tubes/B-1/samples", json={"person": make_id(5)}, headers=sampler)
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["message"].startswith("this person is already in tube B-1")
    r = client.post("/api/v1/tubes/B-1/samples", json={"person": phone(6)}, headers=sampler)
    assert r.json()["status"] == "closed" and r.json()["samples"] == 2
    assert client.post("/api/v1/tubes/B-1/samples", json={"person": phone(7)}, headers=sampler).status_code == 422
    # a community worker of another street does not see the tube
    other = _user(session, "other1", "community", tree.other_street)
    assert client.get("/api/v1/tubes/B-1", headers=other).status_code == 404


def test_roster_headcount_coverage_and_compliance_api(client, session, tree, grants, at_now):
    street = _user(session, "street1", "street", tree.street)
    r = client.post("/api/v1/groups/courier_delivery_rider/members", headers=street, json={
        "employer": tree.employer.code,
        "items": [{"name": "甲", "id_number": make_id(1)}, {"name": "乙", "phone": phone(2)}, {"name": "丙"}]})
    assert r.status_code == 200, r.text
    assert [i["status"] for i in r.json()["items"]] == ["accepted", "accepted", "rejected"]
    r = client.put(f"/api/v1/employers/{tree.employer.id}/headcounts/courier_delivery_rider", headers=street,
                   json={"declared": 5})
    assert r.status_code == 200 and r.json()["declared"] == 5
    cov = client.get("/api/v1/coverage", headers=street).json()
    assert cov["totals"] == {"declared": 5, "enrolled": 2, "missing": 3}
    assert cov["gaps"][0]["employer_code"] == tree.employer.code
    page = client.get("/api/v1/compliance?limit=1", headers=street).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    nxt = client.get(f"/api/v1/compliance?limit=1&cursor={page['next_cursor']}", headers=street).json()
    assert nxt["items"][0]["member_id"] != page["items"][0]["member_id"] and nxt["next_cursor"] is None
    assert page["items"][0]["next_due_at"] == "2022-04-21T09:00:00+08:00"
    assert client.get("/api/v1/compliance?status=bogus", headers=street).status_code == 422
    assert client.put("/api/v1/employers/999999/headcounts/courier_delivery_rider", headers=street,
                      json={"declared": 1}).status_code == 404
    assert client.get("/api/v1/compliance/summary", headers=street).status_code == 200
    assert client.get("/api/v1/turnaround", headers=street).json()["target_hours"] == 24.0


def test_sampler_pages_fill_a_tube(client, session, tree, grants, at_now):
    _user(session, "sampler3", "sampler", tree.grid_a)
    csrf = _login(client, "sampler3")
    page = client.get("/sampling")
    assert page.status_code == 200 and 'data-testid="tube-barcode"' in page.text
    r = client.post("/sampling/tubes", data={"barcode": "c-9", "mode": "pooled", "pool_size": "2",
                                             "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sampling/tubes/C-9"
    r = client.post("/sampling/tubes/C-9/samples", data={"person": make_id(8), "csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/sampling/tubes/C-9/samples", data={"person": make_id(8), "csrf_token": csrf})
    assert r.status_code == 422 and "此人已在试管 C-9 中" in r.text
    r = client.post("/sampling/tubes/C-9/samples", data={"person": phone(9), "csrf_token": csrf})
    assert r.status_code == 200 and 'data-testid="tube-closed"' in r.text
    tube = session.execute(select(Tube).where(Tube.barcode == "C-9")).scalar_one()
    assert tube.status == "closed"


def test_citizen_page_needs_matching_id_and_phone(client, session, tree, grants, at_now):
    pid = person(session, 77, tree.grid_a)
    service.enrol(session, SYSTEM_ACTOR, person_id=pid, group_code="truck_driver")
    service.set_hours(session, SYSTEM_ACTOR, place_id=tree.point.id, opens="08:00", closes="20:00")
    session.flush()
    assert client.get("/my-test").status_code == 200
    r = client.post("/my-test", data={"id_number": make_id(77), "phone": phone(77)})
    assert r.status_code == 200, r.text
    due = clock.to_local(NOW).replace(day=20).strftime("%Y-%m-%d %H:%M")  # every 2 days from enrolment
    assert due in r.text and "花园社区采样点" in r.text
    r = client.post("/my-test", data={"id_number": make_id(77), "phone": phone(78)})
    assert r.status_code == 404 and 'data-testid="citizen-none"' in r.text


def test_compliance_coverage_and_turnaround_pages(client, session, tree, grants, at_now):
    pid = person(session, 81, tree.grid_a, name="周八一")
    service.enrol(session, SYSTEM_ACTOR, person_id=pid, group_code="truck_driver", employer_id=tree.employer.id)
    _user(session, "comm1", "community", tree.community)
    session.flush()
    _login(client, "comm1")
    r = client.get("/compliance")
    assert r.status_code == 200 and "周八一" in r.text
    assert client.get("/coverage").status_code == 200
    assert client.get("/turnaround").status_code == 200
    # a community may export its own lists (data.export); a grid worker may not
    assert client.get("/compliance/export.xlsx").status_code == 200
    _user(session, "grid1", "grid", tree.community)
    session.flush()
    _login(client, "grid1")
    assert client.get("/compliance/export.xlsx").status_code == 403
