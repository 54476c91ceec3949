"""The tracing API and pages through the app: 401/403/404/422, a case from a positive result, contacts
confirmed with a per-item report, the chain JSON, links; the investigation page as an epidemiologist."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy.orm import Session, sessionmaker
from tracing_factories import NOW, build_world, grant, phone, positive_result, standard_scans

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.testing.models import CaseCandidate

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


def test_api_end_to_end_and_errors(client: TestClient, session: Session) -> None:
    w = build_world(session)
    standard_scans(session, w)
    positive_result(session, w)
    grant(session, "epidemiologist")
    grant(session, "viewer", frozenset({"case.view"}))
    epi = _user(session, "epi1", "epidemiologist", w.district.code)
    other = _user(session, "epi2", "epidemiologist", w.other_district.code)
    viewer = _user(session, "view1", "viewer", w.district.code)
    grid = _user(session, "grid1", "grid", w.grid.code)  # no case permissions at all
    cand = session.query(CaseCandidate).one()

    assert client.get("/api/v1/cases").status_code == 401
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/contacts",
            "/api/v1/cases/{case_id}/chain", "/api/v1/cases/{case_id}/links"} <= set(paths)
    assert client.get("/api/v1/cases", headers=grid).status_code == 403
    assert client.post("/api/v1/cases", headers=viewer, json={"classification": "asymptomatic",
                                                              "candidate_id": cand.id}).status_code == 403
    bad = client.post("/api/v1/cases", headers=epi, json={"classification": "sick", "detection_channel": "pool",
                                                           "person_id": w.subject, "sampled_at": "yesterday"})
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} == {"sampled_at"}
    bad = client.post("/api/v1/cases", headers=epi, json={"classification": "sick", "detection_channel": "pool",
                                                           "person_id": w.subject, "sampled_at": "2022-04-18 08:00"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "classification"

    r = client.post("/api/v1/cases", headers=epi, json={"classification": "asymptomatic", "candidate_id": cand.id})
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["person_id"], case["source"], case["status"]) == (w.subject, "candidate", "open")
    assert case["sampled_at"] == "2022-04-18T04:00:00+08:00" and case["window_start"] == "2022-04-14T04:00:00+08:00"
    assert case["core_due_at"] == "2022-04-18T16:00:00+08:00" and case["phone_masked"] == "137****0001"
    again = client.post("/api/v1/cases", headers=epi, json={"classification": "asymptomatic", "candidate_id": cand.id})
    assert again.json()["id"] == case["id"]
    cid = case["id"]

    assert client.get(f"/api/v1/cases/{cid}", headers=other).status_code == 404
    assert client.get("/api/v1/cases/999999", headers=epi).status_code == 404
    assert client.get("/api/v1/cases", headers=other).json()["items"] == []
    assert [c["id"] for c in client.get("/api/v1/cases", headers=viewer).json()["items"]] == [cid]
    assert client.post(f"/api/v1/cases/{cid}/contacts", headers=viewer,
                       json={"items": [{"kind": "named", "name": "x", "phone": phone(50)}]}).status_code == 403
    assert client.post(f"/api/v1/cases/{cid}/contacts", headers=other,
                       json={"items": [{"kind": "named", "name": "x", "phone": phone(50)}]}).status_code == 404
    assert client.post(f"/api/v1/cases/{cid}/contacts", headers=epi, json={"items": []}).status_code == 422
    assert client.post(f"/api/v1/cases/{cid}/contacts", headers=epi,
                       json={"items": [{"kind": "named", "last_contact_at": "soon"}]}).status_code == 422

    body = {"items": [{"kind": "colocation", "person_id": w.covisitor},
                      {"kind": "household", "person_id": w.household, "relation": "配偶"},
                      {"kind": "named", "name": "孙朋友", "phone": phone(77), "last_contact_at": "2022-04-17 19:00"},
                      {"kind": "workplace", "person_id": w.late_visitor}]}
    r = client.post(f"/api/v1/cases/{cid}/contacts", headers=epi, json=body)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["counts"] == {"accepted": 3, "duplicate": 0, "rejected": 1}
    assert [(i["status"], i["channel"], i["category"]) for i in rep["items"][:3]] == [
        ("accepted", "colocation", "colocation"), ("accepted", "tracing", "close_contact"),
        ("accepted", "tracing", "close_contact")]
    assert rep["items"][3]["issues"] == ["person_id: not a workplace contact of this case"]
    r2 = client.post(f"/api/v1/cases/{cid}/contacts", headers=epi, json=body).json()
    assert r2["counts"] == {"accepted": 0, "duplicate": 3, "rejected": 1}

    detail = client.get(f"/api/v1/cases/{cid}", headers=viewer).json()
    contacts = {c["person_id"]: c for c in detail["contacts"]}
    assert contacts[w.household]["measure"] == "centralised_quarantine"
    assert contacts[w.household]["lead_status"] in ("known", "locating")
    assert contacts[w.covisitor]["venue_name"] == "花园菜市场" and contacts[w.covisitor]["overlap_min"] == 10.0
    assert all(c["status"] == "uncontrolled" and c["lead_id"] for c in contacts.values())

    # a second case by hand, linked; the chain as nodes and edges
    r = client.post("/api/v1/cases", headers=epi, json={
        "classification": "confirmed", "detection_channel": "tracing", "source": "clinic", "name": "李同事",
        "phone": phone(3), "sampled_at": "2022-04-18 10:00", "onset_at": "2022-04-17"})
    assert r.status_code == 201, r.text
    cid2 = r.json()["id"]
    assert client.post(f"/api/v1/cases/{cid2}/links", headers=viewer, json={"source_case_id": cid}).status_code == 403
    assert client.post(f"/api/v1/cases/{cid2}/links", headers=epi, json={}).status_code == 422
    assert client.post(f"/api/v1/cases/{cid2}/links", headers=epi, json={"source_case_id": cid2}).status_code == 422
    link = client.post(f"/api/v1/cases/{cid2}/links", headers=epi, json={"source_case_id": cid})
    assert link.status_code == 201 and link.json()["target_case_id"] == cid2
    chain = client.get(f"/api/v1/cases/{cid}/chain", headers=viewer).json()
    assert chain["cluster"] == [cid, cid2]
    assert {n["id"] for n in chain["nodes"]} >= {f"case-{cid}", f"case-{cid2}"}
    assert {"source": f"case-{cid}", "target": f"case-{cid2}", "kind": "infected"} in chain["edges"]
    assert client.get(f"/api/v1/cases/{cid}/chain", headers=other).status_code == 404
    assert client.get(f"/api/v1/cases/{cid2}", headers=epi).json()["sources"] == [cid]

    m = client.post(f"/api/v1/cases/{cid}/milestones", headers=epi, json={"step": "report"})
    assert m.status_code == 200 and m.json()["status"] == "reported" and m.json()["core_done_at"]
    assert client.post(f"/api/v1/cases/{cid}/milestones", headers=epi, json={"step": "x"}).status_code == 422
    page = client.get("/api/v1/cases?limit=1", headers=epi).json()
    assert len(page["items"]) == 1 and page["next_cursor"] == str(cid2)
    assert [c["id"] for c in client.get(f"/api/v1/cases?limit=1&cursor={cid2}", headers=epi).json()["items"]] == [cid]
    assert client.get("/api/v1/cases?cursor=abc", headers=epi).status_code == 422
    assert client.get("/api/v1/cases?status=zzz", headers=epi).status_code == 422


def _login(client: TestClient, username: str) -> str:
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)


def test_pages_confirm_a_candidate_and_a_contact(client: TestClient, session: Session) -> None:
    w = build_world(session)
    standard_scans(session, w)
    positive_result(session, w)
    grant(session, "epidemiologist")
    _user(session, "epi1", "epidemiologist", w.district.code)
    assert client.get("/cases", follow_redirects=False).status_code in (302, 303, 307)
    csrf = _login(client, "epi1")
    page = client.get("/cases")
    assert page.status_code == 200 and "王病例" in page.text
    cand = session.query(CaseCandidate).one()
    r = client.post(f"/cases/candidates/{cand.id}/confirm", data={"classification": "asymptomatic",
                                                                  "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    case_url = r.headers["location"]
    page = client.get(case_url)
    assert page.status_code == 200
    for text in ("花园菜市场", "王家属", "李同事", "赵伴随", "137****0004"):
        assert text in page.text, text
    assert make_id_absent(page.text)
    cid = int(case_url.rsplit("/", 1)[1])
    r = client.post(f"/cases/{cid}/contacts", data={"kind": "colocation", "person_id": str(w.covisitor),
                                                    "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert f'data-testid="contact-{w.covisitor}"' in page.text and 'data-testid="lead-status"' in page.text
    # a form without the CSRF token is refused
    assert client.post(f"/cases/{cid}/contacts", data={"kind": "named", "name": "x"}).status_code == 403
    bad = client.post(f"/cases/{cid}/contacts", data={"kind": "named", "csrf_token": csrf})
    assert bad.status_code == 422
    # the close contact's page offers secondary contacts
    r = client.post(f"/cases/{cid}/contacts", data={"kind": "household", "person_id": str(w.household),
                                                    "csrf_token": csrf}, follow_redirects=False)
    from fangkong.tracing.models import Contact

    hh = session.query(Contact).filter_by(person_id=w.household).one()
    page = client.get(f"/cases/{cid}/contacts/{hh.id}")
    assert page.status_code == 200 and "王家属" in page.text
    assert "王病例" not in page.text  # the case is in the household's household, but never its own contact
    r = client.post(f"/cases/{cid}/contacts/{hh.id}/secondary", data={"name": "王同事", "phone": phone(88),
                                                                      "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "王同事" in client.get(f"/cases/{cid}/contacts/{hh.id}").text
    section = client.get(f"/persons/{w.subject}/cases")
    assert section.status_code == 200 and f'href="/cases/{cid}"' in section.text
    long_name = client.post("/cases", data={"classification": "confirmed", "detection_channel": "sentinel",
                                            "name": "名" * 80, "phone": phone(60), "csrf_token": csrf})
    assert long_name.status_code == 422
    assert client.post(f"/cases/candidates/{cand.id}/confirm", data={"classification": "x", "onset_at": "never",
                                                                     "csrf_token": csrf}).status_code == 422
    r = client.post(f"/cases/{cid}/places", data={"name": "老王面馆", "visited_from": "2022-04-16 12:00",
                                                  "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "老王面馆" in client.get(f"/cases/{cid}").text


def make_id_absent(html: str) -> bool:
    """No full ID or phone number of the world's people on the page."""
    from tracing_factories import make_id

    return all(make_id(i) not in html and phone(i) not in html for i in range(1, 6))
