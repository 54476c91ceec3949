"""Releasing over real HTTP (`POST /api/v1/measures/{id}/release`, `POST /api/v1/releases`): by rule with
its notice number; refused with 409 and a stable `reason` naming the missing test days or day N; an
override only by a doctor (`case.manage`) with a reason; a cohort all or nothing; 404 outside the
caller's jurisdiction; 422 for a bad body. And the releases page answers with the notices' PDF."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from control_factories import bearer, build_world, login, make_id, person, user
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.control import service as control_service
from fangkong.control.models import Measure
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.people.models import Person

TZ = dt.timezone(dt.timedelta(hours=8))
D0 = dt.date(2022, 4, 18)


def t(day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def sampled(session: Session, w: Any, seq: int, day: int) -> None:
    from fangkong.testing import service as testing_service

    barcode = f"R{seq}-{day}"
    with clock.frozen(t(day, 11)):
        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1, sampling_point_id=w.point.id)
        testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq), collected_at=t(day, 11))
    with clock.frozen(t(day, 19)):
        [row] = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
            "tube_barcode": barcode, "result": "阴性", "lab": "常州检测",
            "reported_at": t(day, 19).strftime("%Y-%m-%d %H:%M")})])
    assert row.status == "accepted", row.issues


def _home(session: Session, w: Any, seq: int, name: str, days: tuple[int, ...]) -> int:
    """A secondary contact (home quarantine 7 days, tests on days 1, 4, 7) with negatives on `days`."""
    pid = person(session, w, seq, name)
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                      rule="categories.secondary_contact", started_at=t(0, 10), exposure_at=t(0, 8))
    for d in days:
        sampled(session, w, seq, d)
    return m.id


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    with clock.frozen(t(0, 10)):
        w = build_world(session)
        ok = _home(session, w, 51, "赵可解", (1, 4, 7))
        short = _home(session, w, 52, "钱缺检", (1,))
        user(session, "rel_grid", "grid", w.grid)
        user(session, "rel_doc", "district", w.district)  # case.manage: a doctor's override
        user(session, "rel_other", "district", w.other)
        session.commit()
        return {"w": w, "ok": ok, "short": short, "grid": bearer(session, "rel_grid"),
                "doc": bearer(session, "rel_doc"), "other": bearer(session, "rel_other")}


def test_release_by_rule_gives_the_notice_number(client: TestClient, session: Session, world: dict[str, Any]) -> None:
    with clock.frozen(t(7, 21)):
        r = client.post(f"/api/v1/measures/{world['ok']}/release", json={}, headers=world["grid"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["override"], body["released_at"]) == ("released", False, "2022-04-25T21:00:00+08:00")
    assert body["notice_no"].startswith("JC2022-")
    with clock.frozen(t(7, 21)):
        again = client.post(f"/api/v1/measures/{world['ok']}/release", json={}, headers=world["grid"])
    assert (again.status_code, again.json()["error"]["reason"]) == (409, "measure.not_in_force")


def test_refusals_name_the_missing_days_or_day_n(client: TestClient, session: Session, world: dict[str, Any]) -> None:
    with clock.frozen(t(7, 21)):
        r = client.post(f"/api/v1/measures/{world['short']}/release", json={}, headers=world["grid"])
    assert r.status_code == 409
    err = r.json()["error"]
    assert (err["code"], err["reason"], err["params"]["days"]) == ("conflict", "measure.tests_missing", "4, 7")
    with clock.frozen(t(5, 21)):
        early = client.post(f"/api/v1/measures/{world['ok']}/release", json={"notice": False}, headers=world["grid"])
    assert (early.status_code, early.json()["error"]["reason"]) == (409, "measure.before_day_n")
    with clock.frozen(t(7, 21)):
        # a grid worker may release by rule, not override it; a doctor may, with a reason
        assert client.post(f"/api/v1/measures/{world['short']}/release", json={"override_reason": "医生签批"},
                           headers=world["grid"]).status_code == 403
        doc = client.post(f"/api/v1/measures/{world['short']}/release", json={"override_reason": "会诊同意"},
                          headers=world["doc"])
    assert doc.status_code == 200, doc.text
    assert doc.json()["override"] is True


def test_a_cohort_is_all_or_nothing(client: TestClient, session: Session, world: dict[str, Any]) -> None:
    ids = [world["ok"], world["short"]]
    with clock.frozen(t(7, 21)):
        r = client.post("/api/v1/releases", json={"measure_ids": ids}, headers=world["grid"])
        assert (r.status_code, r.json()["error"]["reason"]) == (409, "measure.tests_missing")
        session.expire_all()
        assert session.get(Measure, world["ok"]).status == "active"  # nothing was released
        assert client.post("/api/v1/releases", json={"measure_ids": [world["ok"]]},
                           headers=world["other"]).status_code == 404  # outside the caller's district
        for bad in ({"measure_ids": []}, {"measure_ids": [0]}, {"measure_ids": ids, "x": 1}):
            assert client.post("/api/v1/releases", json=bad, headers=world["grid"]).status_code == 422
        ok = client.post("/api/v1/releases", json={"measure_ids": [world["ok"]], "notice": False},
                         headers=world["grid"])
    assert ok.status_code == 200 and [(x["measure_id"], x["notice_no"]) for x in ok.json()] == [(world["ok"], "")]


def test_the_releases_page_prints_the_notices(client: TestClient, session: Session, world: dict[str, Any]) -> None:
    from pypdf import PdfReader

    with clock.frozen(t(7, 21)):
        csrf = login(client, "rel_grid")
        page = client.get("/releases")
        assert page.status_code == 200 and "赵可解" in page.text
        # due now: the one with every test day done; the other is listed only as reaching day N
        assert f'data-testid="step-{world["ok"]}"' in page.text
        assert f'data-testid="step-{world["short"]}"' not in page.text
        assert f'data-testid="upcoming-{world["short"]}"' in page.text
        r = client.post("/releases", data={"csrf_token": csrf, "measure_id": [str(world["ok"])]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "赵可解" in text


def test_another_system_releases_with_a_token_limited_to_releasing(client: TestClient, session: Session,
                                                                    world: dict[str, Any]) -> None:
    """A quarantine site's own system holds a token of a district user (`fangkong token create NAME --only
    releases.apply`): it releases one person or a cohort — an override too, the user being a doctor — and
    can call nothing else."""
    from fangkong.kernel.auth import service as auth_service

    _row, token = auth_service.create_token(session, SYSTEM_ACTOR, username="rel_doc", label="隔离点系统",
                                            operations=["releases.apply"])
    session.commit()
    machine = {"Authorization": f"Bearer {token}"}
    with clock.frozen(t(7, 21)):
        one = client.post(f"/api/v1/measures/{world['ok']}/release", json={"notice": False}, headers=machine)
        assert one.status_code == 200, one.text
        assert one.json()["status"] == "released"
        cohort = client.post("/api/v1/releases", json={"measure_ids": [world["short"]],
                                                        "override_reason": "会诊同意", "notice": False}, headers=machine)
        assert cohort.status_code == 200, cohort.text
        assert cohort.json()[0]["override"] is True
        other = client.get("/api/v1/quarantine-sites", headers=machine)
        assert (other.status_code, other.json()["error"]["code"]) == (403, "token_scope")
        assert client.post("/api/v1/checkins", json={"items": []}, headers=machine).status_code == 403


def test_the_due_steps_and_the_measures_as_of_a_moment_through_the_api(client: TestClient, session: Session,
                                                                       world: dict[str, Any]) -> None:
    """`GET /api/v1/releases/due` lists what `control release --due` lists (nothing applied);
    `GET /api/v1/measures?at=` pages the export's columns as of the moment."""
    with clock.frozen(t(7, 21)):
        due = client.get("/api/v1/releases/due", headers=world["grid"])
        assert due.status_code == 200, due.text
        person_id = session.get(Measure, world["ok"]).person_id  # type: ignore[union-attr]
        name = session.get(Person, person_id).name  # type: ignore[union-attr]
        assert name and due.json() == [{"person_id": person_id, "name": name, "measure_id": world["ok"],
                                        "action": "release"}]
        earlier = client.get("/api/v1/releases/due", params={"as_of": "2022年4月23日 21:00"}, headers=world["grid"])
        assert earlier.status_code == 200 and earlier.json() == []  # day 5: before day N
        assert client.get("/api/v1/releases/due", params={"as_of": "not a time"},
                          headers=world["grid"]).status_code == 422
        page = client.get("/api/v1/measures", params={"limit": 1}, headers=world["grid"])
        assert page.status_code == 200, page.text
        body = page.json()
        [item] = body["items"]
        assert set(item) == {"person_id", "name", "measure_id", "category", "phase", "status", "anchor_on", "planned_end_on",
                             "stepdown_on", "releasable_on", "released_at", "site", "room", "missed_tests",
                             "checkins_missed", "fevers"}
        assert (item["measure_id"], item["status"], item["category"]) == (world["ok"], "releasable", "secondary_contact")
        assert item["name"] == name  # the person's name beside the id
        rest = client.get("/api/v1/measures", params={"limit": 5, "cursor": body["next_cursor"]}, headers=world["grid"])
        [short] = rest.json()["items"]
        assert (short["measure_id"], short["missed_tests"], rest.json()["next_cursor"]) == (world["short"], "4", None)  # day 7: not past its grace yet
        outside = client.get("/api/v1/measures", headers=world["other"])
        assert outside.status_code == 200 and outside.json()["items"] == []
