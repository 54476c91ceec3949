"""Upgrading a venue co-visitor to a close contact through the app: the API (403 without the
epidemiologist's permission, 404 outside the jurisdiction, the new close-contact lead) and the case
page's button; a secondary contact outside the exposure window is a 422 naming `last_contact_at`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tracing_factories import NOW, build_world, grant, phone, positive_result, standard_scans

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.tracing import service
from fangkong.tracing.models import Contact

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _user(session: Session, username: str, role: str, unit_code: str) -> dict[str, str]:
    auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit_code,
                             password=PASSWORD)
    session.flush()
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def _case_with_contacts(client: TestClient, session: Session) -> tuple[int, object, dict[str, str]]:
    w = build_world(session)
    standard_scans(session, w)
    positive_result(session, w)
    grant(session, "epidemiologist")
    epi = _user(session, "epi_u", "epidemiologist", w.district.code)
    [(cand, _p)] = service.pending_candidates(session, SYSTEM_ACTOR)
    r = client.post("/api/v1/cases", headers=epi, json={"classification": "asymptomatic", "candidate_id": cand.id})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = client.post(f"/api/v1/cases/{cid}/contacts", headers=epi, json={"items": [
        {"kind": "colocation", "person_id": w.covisitor}, {"kind": "household", "person_id": w.household}]})
    assert r.json()["counts"]["accepted"] == 2, r.text
    return cid, w, epi


def test_upgrade_through_the_api(client: TestClient, session: Session) -> None:
    cid, w, epi = _case_with_contacts(client, session)
    district = _user(session, "dist_u", "district", w.district.code)
    other = _user(session, "epi_o", "epidemiologist", w.other_district.code)
    co = session.execute(select(Contact).where(Contact.person_id == w.covisitor)).scalar_one()
    hh = session.execute(select(Contact).where(Contact.person_id == w.household)).scalar_one()
    detail = client.get(f"/api/v1/cases/{cid}", headers=epi).json()
    assert {c["person_id"]: c["tier"] for c in detail["contacts"]}[w.covisitor] == "colocation"

    url = f"/api/v1/cases/{cid}/contacts/{co.id}/upgrade"
    assert client.post(url, json={}).status_code == 401
    assert client.post(url, headers=district, json={}).status_code == 403  # confirming is not judging
    assert client.post(url, headers=other, json={}).status_code == 404
    assert client.post(f"/api/v1/cases/{cid}/contacts/{hh.id}/upgrade", headers=epi, json={}).status_code == 409
    assert client.post(url, headers=epi, json={"reason": "x" * 201}).status_code == 422
    r = client.post(url, headers=epi, json={"reason": "同桌就餐"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["tier"], body["kind"], body["channel"], body["category"], body["measure"]) == (
        "close", "colocation", "tracing", "close_contact", "centralised_quarantine")
    assert client.post(url, headers=epi, json={}).json()["lead_id"] == body["lead_id"]


def _login(client: TestClient, username: str) -> str:
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)


def test_upgrade_button_on_the_case_page_and_the_exposure_window(client: TestClient, session: Session) -> None:
    cid, w, _epi = _case_with_contacts(client, session)
    co = session.execute(select(Contact).where(Contact.person_id == w.covisitor)).scalar_one()
    hh = session.execute(select(Contact).where(Contact.person_id == w.household)).scalar_one()
    _user(session, "dist_p", "district", w.district.code)
    csrf = _login(client, "dist_p")
    page = client.get(f"/cases/{cid}")
    assert page.status_code == 200 and f'data-testid="upgrade-{co.id}"' not in page.text  # not theirs to judge
    client.post("/logout", data={"csrf_token": csrf})
    csrf = _login(client, "epi_u")
    page = client.get(f"/cases/{cid}")
    assert f'data-testid="upgrade-{co.id}"' in page.text and f'data-testid="upgrade-{hh.id}"' not in page.text
    assert "场所同时段人员" in page.text and "升级为密接" in page.text
    # the button leads to the contact's page: the upgrade is confirmed there, with the reason
    contact_page = client.get(f"/cases/{cid}/contacts/{co.id}")
    assert 'data-testid="upgrade-form"' in contact_page.text and "确定将此场所同时段人员升级为密接" in contact_page.text
    assert 'data-testid="upgrade-form"' not in client.get(f"/cases/{cid}/contacts/{hh.id}").text
    r = client.post(f"/cases/{cid}/contacts/{co.id}/upgrade", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert 'data-testid="upgrade-notice"' in page.text and f'data-testid="upgrade-{co.id}"' not in page.text
    session.refresh(co)
    assert co.tier == "close"
    # a secondary contact met before the exposure window opened: refused, naming the field, in Chinese
    r = client.post(f"/cases/{cid}/contacts/{hh.id}/secondary", data={
        "name": "王同事", "phone": phone(88), "last_contact_at": "2022-04-01 10:00", "csrf_token": csrf},
        follow_redirects=False, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and "不在该密接的暴露时段内" in r.text, r.text[:500]
    r = client.post(f"/cases/{cid}/contacts/{hh.id}/secondary", data={
        "name": "王同事", "phone": phone(88), "last_contact_at": "2022-04-17 19:00", "csrf_token": csrf},
        follow_redirects=False)
    assert r.status_code == 303
    api = client.post(f"/api/v1/cases/{cid}/contacts", json={"items": [{
        "kind": "secondary", "via_contact_id": hh.id, "name": "早先的人", "phone": phone(87),
        "last_contact_at": "2022-04-01 10:00"}]}, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200, api.text
    item = api.json()["items"][0]
    assert item["status"] == "rejected" and item["issues"][0].startswith("last_contact_at: 2022-04-01 10:00 is outside")
