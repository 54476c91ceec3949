"""Zones over real HTTP: the drawing page's preview and draw, the zone page with its eligibility and the
lift, a round's coverage and the doors list, the JSON API, and jurisdiction (404 outside)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy.orm import Session, sessionmaker
from zone_factories import PASSWORD, build_city, sample, t, user

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.zones.models import Zone


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def login(client: TestClient, username: str) -> str:
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
    assert m is not None
    return m.group(1)


def test_draw_preview_detail_round_doors_and_api(client: TestClient, session: Session) -> None:
    city = build_city(session)
    user(session, "z_district", "district", city.district)
    other = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="320411", name="新北区", level="district",
                                              parent_code=None)
    user(session, "z_other", "district", other)
    session.flush()
    with clock.frozen(t(1, 10)):
        csrf = login(client, "z_district")
        page = client.get("/zones")
        assert page.status_code == 200 and 'data-testid="unit-tree"' in page.text and "花园二网格" in page.text
        preview = client.post("/zones/preview", data={"csrf_token": csrf, "addresses": "花园路8号1栋\n"},
                              headers={"X-CSRF-Token": csrf})
        assert preview.status_code == 200 and "2 个地址、2 户和 4 名登记居民" in preview.text, preview.text
        bad = client.post("/zones/preview", data={"csrf_token": csrf, "addresses": "花园路8号1栋109室"},
                          headers={"X-CSRF-Token": csrf})
        assert "花园路8号1栋101室" in bad.text and 'data-testid="preview-issues"' in bad.text
        refused = client.post("/zones", data={"csrf_token": csrf, "level": "high", "reason": "",
                                              "addresses": "花园路8号1栋"})
        assert refused.status_code == 422 and 'data-testid="draw-error"' in refused.text
        drawn = client.post("/zones", data={"csrf_token": csrf, "level": "high", "reason": "病例 C1",
                                            "addresses": "花园路8号1栋"}, follow_redirects=False)
        assert drawn.status_code == 303, drawn.text
        zone_id = int(drawn.headers["location"].rsplit("/", 1)[1])
        detail = client.get(f"/zones/{zone_id}")
        assert detail.status_code == 200 and "高风险区" in detail.text and 'data-testid="eligibility"' in detail.text
        assert [z["residents"] for z in client.get("/api/v1/zones").json()] == [4]
    with clock.frozen(t(8, 8)):
        csrf = login(client, "z_district")  # a week later: the session has expired
        started = client.post(f"/zones/{zone_id}/rounds", data={"csrf_token": csrf}, follow_redirects=False)
        assert started.status_code == 303 and started.headers["location"].startswith("/rounds/"), started.headers
        round_id = int(started.headers["location"].rsplit("/", 1)[1])
    seqs = sorted(city.people.values())
    for s in seqs[:3]:
        sample(session, city, s, t(8, 9))
    with clock.frozen(t(8, 18)):
        csrf = login(client, "z_district")
        cov = client.get(f"/rounds/{round_id}")
        assert cov.status_code == 200 and 'data-testid="missing-total">1<' in cov.text
        doors = client.get(f"/rounds/{round_id}/doors")
        assert 'data-testid="doors-count">1<' in doors.text and "花园路8号1栋" in doors.text
        api = client.get(f"/api/v1/rounds/{round_id}/coverage").json()
        assert [(c["targets"], c["sampled"], c["missing"]) for c in api] == [(4, 3, 1)]
    sample(session, city, seqs[3], t(8, 12))
    with clock.frozen(t(9, 8)):
        csrf = login(client, "z_district")
        e = client.get(f"/api/v1/zones/{zone_id}/eligibility").json()
        assert (e["eligible"], e["qualifying_round"], e["eligible_on"]) == (True, round_id, "2022-04-09")
        lifted = client.post(f"/zones/{zone_id}/lift", data={"csrf_token": csrf, "reason": ""},
                             follow_redirects=False)
        assert lifted.status_code == 303
        assert session.get(Zone, zone_id).level == "medium"
        # not eligible again yet: 409 without an override
        assert client.post(f"/api/v1/zones/{zone_id}/lift", json={}, headers={"X-CSRF-Token": csrf}).status_code == 409
        client.post("/logout", data={"csrf_token": csrf})
        login(client, "z_other")
        assert client.get(f"/zones/{zone_id}").status_code == 404
        assert client.get("/api/v1/zones").json() == []
        assert client.get(f"/api/v1/rounds/{round_id}/coverage").status_code == 404


def test_a_target_is_excluded_from_the_doors_page_with_its_reason_and_evidence(client: TestClient,
                                                                               session: Session) -> None:
    from sqlalchemy import select

    from fangkong.kernel.audit.models import AuditEvent
    from fangkong.zones import service as zones_service

    city = build_city(session)
    user(session, "x_street", "street", city.district)
    user(session, "x_grid", "grid", city.grid1)
    with clock.frozen(t(1, 10)):
        z = zones_service.draw_zone(session, SYSTEM_ACTOR, level="high", reason="病例", addresses=["花园路8号1栋"]).zone
        rnd = zones_service.start_round(session, SYSTEM_ACTOR, zone_id=z.id)
        away = next(p for p, s in city.people.items() if s == 1)
        session.flush()
        csrf = login(client, "x_grid")  # a grid worker knocks but does not exclude
        doors = client.get(f"/rounds/{rnd.id}/doors")
        assert 'data-testid="doors-count">4<' in doors.text and f'data-testid="exclude-{away}"' not in doors.text
        assert client.post(f"/rounds/{rnd.id}/exclude", data={"csrf_token": csrf, "person_id": away,
                                                              "reason": "hospitalised"}).status_code == 403
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(client, "x_street")
        assert f'data-testid="exclude-{away}"' in client.get(f"/rounds/{rnd.id}/doors").text
        no_evidence = client.post(f"/rounds/{rnd.id}/exclude", data={"csrf_token": csrf, "person_id": away,
                                                                     "reason": "away", "note": " "})
        assert no_evidence.status_code == 422 and 'data-testid="exclude-error"' in no_evidence.text
        done = client.post(f"/rounds/{rnd.id}/exclude", data={"csrf_token": csrf, "person_id": away, "reason": "away",
                                                              "note": "4月12日起在南京, 见车票"}, follow_redirects=False)
        assert done.status_code == 303
        doors = client.get(f"/rounds/{rnd.id}/doors")
        assert 'data-testid="doors-count">3<' in doors.text and "见车票" in doors.text and "外出" in doors.text, doors.text
        api = client.get(f"/api/v1/rounds/{rnd.id}/coverage").json()
        assert [(c["targets"], c["excluded"], c["missing"]) for c in api] == [(4, 1, 3)]
        # the same through the API: hospitalised needs no evidence; away without it is a 422 on `note`
        second = next(p for p, s in city.people.items() if s == 2)
        bad = client.post(f"/api/v1/rounds/{rnd.id}/exclusions", json={"person_id": second, "reason": "away"},
                          headers={"X-CSRF-Token": csrf})
        assert bad.status_code == 422 and "note" in bad.text
        ok = client.post(f"/api/v1/rounds/{rnd.id}/exclusions", json={"person_id": second, "reason": "hospitalised"},
                         headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and ok.json()["excluded"] == "hospitalised"
        assert client.get(f"/api/v1/rounds/{rnd.id}/coverage").json()[0]["missing"] == 2
    entries = session.execute(select(AuditEvent).where(AuditEvent.action == "round.excluded")
                              .order_by(AuditEvent.id)).scalars().all()
    assert [(e.actor_name, e.detail["reason"]) for e in entries] == [("x_street", "away"), ("x_street", "hospitalised")]


def test_a_household_headcount_declared_on_the_round_page_and_the_api(client: TestClient, session: Session) -> None:
    """申报人数: the round page's form and `POST /api/v1/declared-headcounts` (round.manage); the gap shows
    in the coverage (page and API) as `declared_extra`; an address outside the area is a 422 on the page."""
    from fangkong.zones import service as zones_service

    city = build_city(session)
    user(session, "h_community", "community", city.community)
    user(session, "h_grid", "grid", city.grid1)
    rnd = zones_service.start_round(session, SYSTEM_ACTOR, unit_code=city.community.code, at=t(2, 7))
    session.commit()
    with clock.frozen(t(2, 8)):
        csrf = login(client, "h_grid")  # a grid worker reads the round, does not declare
        page = client.get(f"/rounds/{rnd.id}")
        assert 'data-testid="headcount-form"' not in page.text
        assert client.post("/api/v1/declared-headcounts", json={"address": "花园路9号1栋101室", "headcount": 3},
                           headers={"X-CSRF-Token": csrf}).status_code == 403
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(client, "h_community")
        r = client.post(f"/rounds/{rnd.id}/headcounts", data={"csrf_token": csrf, "address": "花园路8号1栋101室",
                                                               "headcount": "5", "note": "租户"},
                        follow_redirects=False)
        assert r.status_code == 303
        ok = client.post("/api/v1/declared-headcounts", json={"address": "花园路9号1栋101室", "headcount": 3},
                         headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and ok.json() == {"address_id": ok.json()["address_id"], "headcount": 3,
                                                       "registered": 0, "extra": 3}
        bad = client.post(f"/rounds/{rnd.id}/headcounts", data={"csrf_token": csrf, "address": "花园路77号",
                                                                 "headcount": "2"})
        assert bad.status_code == 422 and 'data-testid="headcount-error"' in bad.text
        page = client.get(f"/rounds/{rnd.id}")
        assert 'data-testid="declared-extra-total">6<' in page.text and "租户" not in page.text
        api = {c["unit_code"]: c["declared_extra"] for c in client.get(f"/api/v1/rounds/{rnd.id}/coverage").json()}
        assert api == {city.grid1.code: 3, city.grid2.code: 3}
