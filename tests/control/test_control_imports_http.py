"""Control's file imports over real HTTP (other systems and site staff): quarantine sites, rooms and
measures already running through `POST /api/v1/quarantine-sites/import|rooms/import|measures/import`
(the per-row report in the answer) and through the pages' import jobs (progress view, report) — the
same services as `fangkong import sites|rooms|measures`: an error row names its row and field, a
second upload of the same file is all duplicates, and the permission is the command's."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from control_factories import bearer, build_world, login, make_id, user
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.jurisdictions import service as jurisdictions_service

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 20, 9, 0, tzinfo=TZ)
SITES = ("隔离点编号,名称,地址,属地编码,状态,联系人\n"
         "QA,湖塘宾馆,花园路1号,C01,启用,王站长\n"
         "QC,坏状态,,C01,不知道,\n")
ROOMS = ("site_ref,building,floor,room,beds,status\n"
         "QA,1,3,301,1,可用\n"
         "QZ,1,3,302,1,\n")
MEASURES = ("编号,姓名,身份证号,手机号,类别,开始时间,末次暴露时间,隔离点,房间,户,密接身份证号,住址\n"
            f"X-1,王接管,{make_id(61)},,密接,2022-04-18 10:00,2022-04-16 20:00,QA,1-301,H1,,\n"
            f"X-2,钱未知,{make_id(64)},,不知道,2022-04-19 12:00,,,,,,\n")


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _city(session: Session) -> None:
    """The city's command: rows whose address places nobody belong to the root unit (intake's rule),
    so whoever imports measures for them must see the root."""
    user(session, "city1", "command", jurisdictions_service.root_unit(session))


def _upload(client: TestClient, url: str, text: str, headers: dict[str, str], **data: str) -> Any:
    return client.post(url, headers=headers, data=data, files={"file": ("名单.csv", text.encode("utf-8"), "text/csv")})


def _rows(answer: Any) -> list[tuple[int, str, list[str]]]:
    assert answer.status_code == 200, answer.text
    return [(i["row"], i["status"], [s.split(":")[0] for s in i["issues"]]) for i in answer.json()["items"]]


def test_other_systems_import_sites_rooms_and_measures_by_api(client: TestClient, session: Session) -> None:
    w = build_world(session)
    _city(session)
    user(session, "comm1", "community", w.community)
    h = bearer(session, "city1")
    sites = _upload(client, "/api/v1/quarantine-sites/import", SITES, h)
    assert _rows(sites) == [(2, "accepted", []), (3, "rejected", ["status"])]
    assert sites.json()["items"][0]["extra"]["site_id"] > 0
    rooms = _upload(client, "/api/v1/rooms/import", ROOMS, h)
    assert _rows(rooms) == [(2, "accepted", []), (3, "rejected", ["site_ref"])]
    measures = _upload(client, "/api/v1/measures/import", MEASURES, h, anchor="exposure")
    assert _rows(measures) == [(2, "accepted", []), (3, "rejected", ["category"])]
    assert measures.json()["counts"] == {"accepted": 1, "rejected": 1}
    # the same files again: nothing new (idempotent as the services are)
    assert [r[1] for r in _rows(_upload(client, "/api/v1/quarantine-sites/import", SITES, h))] == ["duplicate",
                                                                                                  "rejected"]
    assert [r[1] for r in _rows(_upload(client, "/api/v1/rooms/import", ROOMS, h))] == ["duplicate", "rejected"]
    assert [r[1] for r in _rows(_upload(client, "/api/v1/measures/import", MEASURES, h))] == ["duplicate",
                                                                                             "rejected"]
    # an Idempotency-Key repeats the first answer
    keyed = {**h, "Idempotency-Key": "k-1"}
    first = _upload(client, "/api/v1/rooms/import", "site_ref,building,floor,room\nQA,1,3,305\n", keyed)
    again = _upload(client, "/api/v1/rooms/import", "site_ref,building,floor,room\nQA,1,3,305\n", keyed)
    assert first.json() == again.json() and _rows(first) == [(2, "accepted", [])]
    # bad files and bad options are 422 on the field, never a 5xx
    assert _upload(client, "/api/v1/rooms/import", "nothing,here\n1,2\n", h).json()["error"]["fields"][0][
        "field"] == "file"
    bad = client.post("/api/v1/rooms/import", headers=h, files={"file": ("x.txt", b"a", "text/plain")})
    assert bad.status_code == 422
    assert _upload(client, "/api/v1/measures/import", MEASURES, h, anchor="later").status_code == 422
    # the command's permission: a community may start measures but not manage sites
    c = bearer(session, "comm1")
    assert _upload(client, "/api/v1/quarantine-sites/import", SITES, c).status_code == 403
    assert client.post("/api/v1/rooms/import", files={"file": ("r.csv", b"x", "text/csv")}).status_code == 401
    # a token limited to `sites.import` imports sites and rooms, and nothing else
    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username="city1", operations=["sites.import"])
    session.flush()
    only = {"Authorization": f"Bearer {token}"}
    assert [r[1] for r in _rows(_upload(client, "/api/v1/rooms/import", ROOMS, only))] == ["duplicate", "rejected"]
    assert _upload(client, "/api/v1/measures/import", MEASURES, only).status_code == 403


def _job(client: TestClient, session: Session, url: str, text: str, csrf: str, **data: str) -> ImportJob:
    r = client.post(url, data={"csrf_token": csrf, **data}, files={"file": ("名单.csv", text.encode(), "text/csv")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    job_id = int(re.fullmatch(r"/imports/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    session.expire_all()
    job = session.get(ImportJob, job_id)
    assert job is not None and job.status == "done", job and job.error
    return job


def test_site_staff_import_the_same_files_from_the_pages(client: TestClient, session: Session) -> None:
    build_world(session)
    _city(session)
    session.flush()
    csrf = login(client, "city1")
    page = client.get("/quarantine-sites")
    assert 'action="/quarantine-sites/import"' in page.text and "导入隔离点或房间" in page.text
    assert 'action="/releases/import"' in client.get("/releases").text
    assert 'action="/checkins/import"' in client.get("/checkins").text
    sites = _job(client, session, "/quarantine-sites/import", SITES, csrf, what="sites")
    assert (sites.kind, sites.counts) == ("control.sites", {"accepted": 1, "rejected": 1})
    rooms = _job(client, session, "/quarantine-sites/import", ROOMS, csrf, what="rooms")
    assert (rooms.kind, rooms.counts) == ("control.rooms", {"accepted": 1, "rejected": 1})
    measures = _job(client, session, "/releases/import", MEASURES, csrf, anchor="start")
    assert measures.counts == {"accepted": 1, "rejected": 1}
    report = client.get(f"/imports/{measures.id}")
    assert report.status_code == 200 and "在管措施导入报告" in report.text and "类别" in report.text
    csv_report = client.get(f"/imports/{measures.id}/report.csv").content.decode("utf-8-sig")
    assert csv_report.splitlines()[0] == "row,status,person_id,issues,measure_id"
    assert "3,rejected,,category:" in csv_report
    # again: duplicates only
    assert _job(client, session, "/quarantine-sites/import", SITES, csrf, what="sites").counts == {
        "duplicate": 1, "rejected": 1}
    assert _job(client, session, "/releases/import", MEASURES, csrf).counts == {"duplicate": 1, "rejected": 1}
    checkins = _job(client, session, "/checkins/import",
                    f"身份证号,姓名,打卡时间,体温\n{make_id(61)},王接管,2022-04-20 08:00,36.5\n", csrf)
    assert checkins.counts == {"accepted": 1}
    # a file without a usable header is refused at once, on a page, nothing stored
    refused = client.post("/quarantine-sites/import", data={"csrf_token": csrf, "what": "rooms"},
                          files={"file": ("x.csv", b"nothing,here\n1,2\n", "text/csv")})
    assert refused.status_code == 422 and 'data-testid="import-refused"' in refused.text


def test_a_row_whose_person_falls_outside_the_importers_subtree_is_refused_on_its_address(
        client: TestClient, session: Session) -> None:
    """A district's file naming someone its address cannot place (intake puts them at the root unit):
    the row is refused naming `address`, the rest of the file is imported, never a 404 for the whole
    file; the city, which sees the root, imports the same row."""
    w = build_world(session)
    _city(session)
    user(session, "dist1", "district", w.district)
    city, district = bearer(session, "city1"), bearer(session, "dist1")
    assert _rows(_upload(client, "/api/v1/quarantine-sites/import", SITES, city))[0][1] == "accepted"
    assert _rows(_upload(client, "/api/v1/rooms/import", ROOMS, city))[0][1] == "accepted"
    answer = _upload(client, "/api/v1/measures/import", MEASURES, district)
    assert _rows(answer) == [(2, "rejected", ["address"]), (3, "rejected", ["category"])]
    # the refused row left nothing behind (no lead, no person): sent again it is refused again, not a duplicate
    assert _rows(_upload(client, "/api/v1/measures/import", MEASURES, district)) == [
        (2, "rejected", ["address"]), (3, "rejected", ["category"])]
    assert _rows(_upload(client, "/api/v1/measures/import", MEASURES, city))[0][1] == "accepted"
