"""The venue API and pages through the app: scan page, staff checks, batch upload, co-location,
coverage, poster."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from venues_factories import ID_A, NOW, PASSWORD, token_of, units, user, venue

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.venues.models import Scan, VenueFlag
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service import scans as scans_service
from fangkong.venues.service.scans import ScanItem


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def bearer(session: Session, username: str) -> dict[str, str]:
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username=username)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str) -> str:
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)


def scan_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Scan)).scalar_one()


def test_scan_page_checks_in_and_remembers_the_device(client: TestClient, session: Session) -> None:
    place = venue(session, "老王面馆")
    token = token_of(session, place)
    session.flush()
    page = client.get(f"/v/{token}")
    assert page.status_code == 200 and "老王面馆" in page.text
    assert "<script" not in page.text and 'name="phone"' in page.text  # a plain form
    rid = re.search(r'name="request_id" value="([0-9a-f]+)"', page.text).group(1)
    done = client.post(f"/v/{token}", data={"request_id": rid, "phone": "138-1234-5678", "id_number": ID_A,
                                            "remember": "1"})
    assert done.status_code == 200 and "12:00:00" in done.text and "138****5678" in done.text
    assert ID_A not in done.text and "13812345678" not in done.text
    cookie = client.cookies.get("fk_scan_id")
    assert cookie and "13812345678" not in cookie and ID_A not in cookie  # encrypted, not in clear
    # a reload of the same form is the same scan
    assert "已登记" in client.post(f"/v/{token}", data={"request_id": rid, "phone": "13812345678"}).text
    assert scan_count(session) == 1
    # the next visit: one tap, as the remembered person
    again = client.get(f"/v/{token}")
    assert "138****5678" in again.text and 'name="use_saved"' in again.text
    rid2 = re.search(r'name="request_id" value="([0-9a-f]+)"', again.text).group(1)
    assert client.post(f"/v/{token}", data={"request_id": rid2, "use_saved": "1"}).status_code == 200
    assert scan_count(session) == 2
    person_ids = set(session.execute(select(Scan.person_id)).scalars())
    assert len(person_ids) == 1
    # a tampered cookie is ignored: the form asks again
    client.cookies.set("fk_scan_id", cookie[:-4] + "AAAA", path="/v")
    assert 'name="phone"' in client.get(f"/v/{token}").text


def test_scan_page_refuses_forged_and_rotated_codes_and_stores_nothing(client: TestClient, session: Session) -> None:
    place = venue(session)
    token = token_of(session, place)
    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    r = client.get(f"/v/{forged}")
    assert r.status_code == 400 and "无效" in r.text
    assert client.post(f"/v/{forged}", data={"phone": "13812345678"}).status_code == 400
    codes_service.rotate_code(session, SYSTEM_ACTOR, place_id=place.id)
    session.flush()
    r = client.get(f"/v/{token}")
    assert r.status_code == 404 and "新的场所码" in r.text
    assert client.post(f"/v/{token}", data={"phone": "13812345678"}).status_code == 404
    assert client.get("/v/not-a-token").status_code == 400
    assert scan_count(session) == 0


def test_scan_page_reports_bad_input_next_to_the_field(client: TestClient, session: Session) -> None:
    token = token_of(session, venue(session))
    r = client.post(f"/v/{token}", data={"phone": "1381234", "id_number": ""})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text and 'value="1381234"' in r.text
    assert scan_count(session) == 0


def test_staff_record_temperature_and_mask(client: TestClient, session: Session) -> None:
    a, _ = units(session)
    token = token_of(session, venue(session, unit=a))
    user(session, "v_staff_web", "community", a)
    assert client.get(f"/v/{token}/staff", follow_redirects=False).status_code == 303  # sign in first
    csrf = login(client, "v_staff_web")
    assert "/v/" + token + "/staff" in client.get(f"/v/{token}").text
    form = client.get(f"/v/{token}/staff")
    assert form.status_code == 200
    r = client.post(f"/v/{token}/staff", data={"csrf_token": csrf, "phone": "13812345678", "temperature": "36.8",
                                               "mask_ok": "no"})
    assert r.status_code == 200 and "138****5678" in r.text
    scan = session.execute(select(Scan)).scalar_one()
    assert (scan.temperature, scan.mask_ok, scan.source) == (36.8, False, "staff")
    assert client.post(f"/v/{token}/staff", data={"phone": "13812345678"}).status_code == 403  # no CSRF token


def test_batch_api_is_idempotent(client: TestClient, session: Session) -> None:
    a, _ = units(session)
    place = venue(session, ref="API-1", unit=a)
    user(session, "v_api", "enterprise", a)
    headers = bearer(session, "v_api")
    body = {"items": [
        {"venue_ref": "API-1", "phone": "13812345678", "scanned_at": "2022-04-18 09:00", "request_id": "u1"},
        {"venue_code": token_of(session, place), "id_number": ID_A, "scanned_at": "2022-04-18T09:05:00+08:00",
         "request_id": "u2"},
        {"venue_ref": "NOPE", "phone": "13812345678", "scanned_at": "2022-04-18 09:00", "request_id": "u3"},
    ]}
    session.flush()
    r = client.post("/api/v1/scans", json=body, headers=headers)
    assert r.status_code == 200, r.text
    first = r.json()
    assert [i["status"] for i in first["items"]] == ["accepted", "accepted", "rejected"]
    assert first["counts"] == {"accepted": 2, "rejected": 1}
    assert first["items"][2]["issues"] == ["venue: unknown venue ref NOPE"]
    again = client.post("/api/v1/scans", json=body, headers=headers).json()
    assert [i["status"] for i in again["items"]] == ["duplicate", "duplicate", "rejected"]
    assert [i["person_id"] for i in again["items"]] == [i["person_id"] for i in first["items"]]
    keyed = client.post("/api/v1/scans", json=body, headers={**headers, "Idempotency-Key": "batch-7"}).json()
    assert client.post("/api/v1/scans", json={"items": []}, headers={**headers, "Idempotency-Key": "batch-7"}
                       ).json() == keyed
    assert scan_count(session) == 2
    assert client.post("/api/v1/scans", json=body).status_code == 401
    user(session, "v_api_viewer", "viewer", a)
    assert client.post("/api/v1/scans", json=body, headers=bearer(session, "v_api_viewer")).status_code == 403
    assert client.post("/api/v1/scans", json={"items": "x"}, headers=headers).status_code == 422


def test_colocation_api(client: TestClient, session: Session, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    from fangkong.settings import reset_settings_cache

    reset_settings_cache()
    try:
        a, _ = units(session)
        place = venue(session, ref="CO-1", unit=a)
        scans_service.record_scans(session, SYSTEM_ACTOR, source="api", items=[
            ScanItem(1, place_id=place.id, phone="13812345678", scanned_at="2022-04-18 09:00"),
            ScanItem(2, place_id=place.id, phone="13900000001", scanned_at="2022-04-18 09:30"),
            ScanItem(3, place_id=place.id, phone="13900000002", scanned_at="2022-04-18 09:31")])
        user(session, "v_epi_web", "epidemiologist", a)
        headers = bearer(session, "v_epi_web")
        user(session, "v_epi_city", "epidemiologist", jurisdictions_service.root_unit(session))
        city = bearer(session, "v_epi_city")
        r = client.get("/api/v1/colocation", params={"phone": "13812345678", "since": "2022-04-18",
                                                     "until": "2022-04-18 23:59"}, headers=headers)
        assert r.status_code == 404  # the subject was registered at the root, outside district A
        r = client.get("/api/v1/colocation", params={"phone": "13812345678", "since": "2022-04-18",
                                                     "until": "2022-04-18 23:59"}, headers=city)
        assert r.status_code == 200, r.text
        body = r.json()
        # by default, overlapping stays: a mall visit lasts 120 min (the pack's dwell time), so both count
        assert (body["mode"], body["window_min"], body["count"]) == ("overlap", None, 2)
        r = client.get("/api/v1/colocation", params={"phone": "13812345678", "since": "2022-04-18",
                                                     "until": "2022-04-18 23:59", "window_min": 30}, headers=city)
        body = r.json()
        assert (body["mode"], body["window_min"], body["count"]) == ("window", 30, 1)
        assert body["pairs"][0] == {"person_id": body["pairs"][0]["person_id"], "venue_ref": "CO-1",
                                    "venue_name": "万达广场", "subject_scanned_at": "2022-04-18T09:00:00+08:00",
                                    "covisitor_scanned_at": "2022-04-18T09:30:00+08:00", "gap_min": 30.0}
        wide = client.get("/api/v1/colocation", params={"phone": "13812345678", "since": "2022-04-18",
                                                        "until": "2022-04-19", "window_min": 31, "limit": 1},
                          headers=city).json()
        assert wide["count"] == 2 and len(wide["pairs"]) == 1 and wide["next_cursor"] == "1"
        bad = client.get("/api/v1/colocation", params={"since": "2022-04-18", "until": "x", "phone": "1"},
                         headers=headers)
        assert bad.status_code == 422
    finally:
        reset_settings_cache()


def test_coverage_page_flags_and_poster(client: TestClient, session: Session) -> None:
    a, _ = units(session)
    busy = venue(session, "热闹商场", ref="C-1", unit=a, capacity=10)
    quiet = venue(session, "冷清面馆", ref="C-2", unit=a, capacity=100)
    venue(session, "空场所", ref="C-3", unit=a, capacity=50)
    scans_service.record_scans(session, SYSTEM_ACTOR, source="api", items=[
        ScanItem(i, place_id=p.id, phone=f"1390000000{i}", scanned_at="2022-04-18 09:00")
        for i, p in enumerate([busy, busy, busy, quiet], 1)])
    user(session, "v_street", "street", a)
    csrf = login(client, "v_street")
    page = client.get("/venues")
    assert page.status_code == 200 and "空场所" in page.text and "热闹商场" not in page.text
    low = client.get("/venues", params={"tab": "low"}).text
    assert "冷清面馆" in low and "热闹商场" not in low
    r = client.post(f"/venues/{quiet.id}/flag", data={"csrf_token": csrf, "reason": "门口未张贴场所码"},
                    follow_redirects=False)
    assert r.status_code == 303
    flagged = client.get("/venues", params={"tab": "flagged"}).text
    assert "门口未张贴场所码" in flagged and "冷清面馆" in flagged
    assert session.execute(select(VenueFlag.flagged_by)).scalar_one() == "v_street"
    poster = client.get(f"/venues/{busy.id}/poster")
    assert poster.status_code == 200 and "<svg" in poster.text and "热闹商场" in poster.text
    assert "@page" in poster.text and "扫描上方二维码" in poster.text
    token = codes_service.active_code(session, busy.id).token
    assert f"/v/{token}" in poster.text
    api = client.get("/api/v1/venues/coverage", params={"day": "2022-04-18"}, headers=bearer(session, "v_street"))
    assert api.status_code == 200
    assert api.json()["totals"] == {"venues": 3, "without_scans": 1, "under_scanning": 1, "flagged": 1, "scans": 4}


def test_code_api_rotates(client: TestClient, session: Session) -> None:
    a, b = units(session)
    place = venue(session, unit=a)
    other = venue(session, "乙区场所", unit=b)
    user(session, "v_mgr", "district", a)
    headers = bearer(session, "v_mgr")
    first = client.get(f"/api/v1/venues/{place.id}/code", headers=headers).json()
    assert first["key_version"] == 1 and first["url"].endswith("/v/" + first["token"])
    rotated = client.post(f"/api/v1/venues/{place.id}/code/rotate", headers=headers).json()
    assert rotated["key_version"] == 2
    assert client.get(f"/v/{first['token']}").status_code == 404
    assert client.get(f"/v/{rotated['token']}").status_code == 200
    assert client.get(f"/api/v1/venues/{other.id}/code", headers=headers).status_code == 404
    flag = client.post(f"/api/v1/venues/{place.id}/flags", json={"reason": "未查验"}, headers=headers)
    assert flag.status_code == 201
    cleared = client.post(f"/api/v1/venues/flags/{flag.json()['id']}/clear", headers=headers).json()
    assert cleared["cleared_at"]
    assert dt.datetime.fromisoformat(cleared["flagged_at"]) == NOW
