"""One status of a person: the person page, a case's contact list, the lead, the citizen's own page and
the venue scan (page, staff check, API) all show the control status control's service gives — a person in
centralised quarantine is never "not yet controlled" on one page and under control on another, and a
scan by them warns the entrance instead of a green tick."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from control_factories import NOW, bearer, build_world, login, logout, make_id, person, phone, user
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.control import service as control_service
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.tracing import service as tracing_service
from fangkong.venues.models import Scan
from fangkong.venues.service import codes as codes_service

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def _row(html: str, testid: str) -> str:
    """The `<tr data-testid=…>` row of a table."""
    m = re.search(rf'<tr data-testid="{re.escape(testid)}".*?</tr>', html, re.S)
    assert m is not None, f"no row {testid}"
    return m.group(0)


def test_centralised_quarantine_shows_the_same_everywhere(client: TestClient, session: Session) -> None:
    w = build_world(session)
    patient = person(session, w, 1, "王病例")
    quarantined = person(session, w, 2, "王家属")
    free = person(session, w, 3, "李路人")
    # two days ago another case's lead put 王家属 into centralised quarantine at the hotel
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=quarantined, category="close_contact",
                                  rule="categories.close_contact", place_kind="site", place_id=w.site.id,
                                  started_at=NOW - 2 * DAY)
    epi = user(session, "c_epi", "epidemiologist", w.district)
    user(session, "c_staff", "community", w.community)
    user(session, "c_venue", "enterprise", w.district)
    case = tracing_service.create_case(session, epi, classification="confirmed", detection_channel="tracing",
                                       person_id=patient, sampled_at=NOW - DAY, onset_at=NOW - 2 * DAY)
    # this case names 王家属 too: a new lead, not verified — the lead's own clock says "not controlled"
    reports = tracing_service.confirm_contacts(session, epi, case_id=case.id, items=[
        tracing_service.ContactItem(kind="named", name="王家属", phone=phone(2)),
        tracing_service.ContactItem(kind="named", name="李路人", phone=phone(3))])
    assert [r.status for r in reports] == ["accepted", "accepted"]
    lead = session.get(Lead, reports[0].lead_id)
    assert lead.person_id == quarantined and lead.controlled_at is None
    token = codes_service.issue_code(session, SYSTEM_ACTOR, place_id=w.venue.id).token
    session.flush()

    status = control_service.status_of(session, [quarantined, free], at=NOW)
    assert status[quarantined].kind == "centralised_quarantine" and status[quarantined].site_name == "湖塘隔离酒店"
    assert status[free].kind == "none" and not status[free].under_control

    csrf = login(client, "c_epi")
    # the person page's control section
    section = client.get(f"/persons/{quarantined}/control", headers={"HX-Request": "true"})
    assert section.status_code == 200
    assert 'data-kind="centralised_quarantine"' in section.text and "湖塘隔离酒店" in section.text
    assert f'"/persons/{quarantined}/control"' in client.get(f"/persons/{quarantined}").text
    # the case's contact list: under control, not "not yet"
    page = client.get(f"/cases/{case.id}")
    row = _row(page.text, f"contact-{quarantined}")
    assert 'data-kind="centralised_quarantine"' in row and "集中隔离医学观察" in row
    assert "尚未" not in row and "Not yet" not in row
    assert 'data-kind="none"' in _row(page.text, f"contact-{free}")
    api = client.get(f"/api/v1/cases/{case.id}").json()
    by_person = {c["person_id"]: c for c in api["contacts"]}
    assert by_person[quarantined]["status"] == "close_controlled"
    assert by_person[quarantined]["control"]["kind"] == "centralised_quarantine"
    assert by_person[free]["status"] == "uncontrolled" and by_person[free]["control"]["kind"] == "none"
    chain = client.get(f"/api/v1/cases/{case.id}/chain").json()
    assert {n.get("contact_id"): n["category"] for n in chain["nodes"] if n["kind"] == "contact"} == {
        reports[0].contact_id: "close_controlled", reports[1].contact_id: "uncontrolled"}
    # the lead page
    lead_page = client.get(f"/leads/{lead.id}")
    m = re.search(r'data-testid="lead-control".*?</section>', lead_page.text, re.S)
    assert m is not None and 'data-kind="centralised_quarantine"' in m.group(0)
    # the API
    pc = client.get(f"/api/v1/persons/{quarantined}/control").json()
    assert pc["status"]["kind"] == "centralised_quarantine" and pc["status"]["level"] == "stop"
    assert pc["status"]["site_name"] == "湖塘隔离酒店"
    logout(client, csrf)

    # the citizen's own page
    mine = client.post("/my-test", data={"id_number": make_id(2), "phone": phone(2)})
    assert mine.status_code == 200 and 'data-kind="centralised_quarantine"' in mine.text

    # the venue: the citizen's scan page warns (red), not a green tick; a free person gets the tick
    scan = client.post(f"/v/{token}", data={"phone": phone(2), "request_id": "q-1"})
    assert scan.status_code == 200 and 'data-level="stop"' in scan.text and "✓" not in scan.text
    assert "请勿进入" in scan.text
    ok = client.post(f"/v/{token}", data={"phone": phone(3), "request_id": "f-1"})
    assert ok.status_code == 200 and "data-level" not in ok.text and "✓" in ok.text
    # the staff entry check names the measure and the community
    csrf = login(client, "c_staff")
    staff = client.post(f"/v/{token}/staff", data={"csrf_token": csrf, "phone": phone(2), "temperature": "36.5",
                                                   "mask_ok": "yes"})
    assert staff.status_code == 200
    warning = re.search(r'data-testid="staff-warning".*?</div>', staff.text, re.S)
    assert warning is not None and 'data-level="stop"' in warning.group(0)
    assert "集中隔离医学观察" in warning.group(0) and "请勿放行" in warning.group(0) and "花园社区 花园一网格" in warning.group(0)
    logout(client, csrf)
    # the scan API carries the status of each scanned person
    body = {"items": [{"venue_ref": "CV1", "phone": phone(2), "scanned_at": "2022-04-18 08:30", "request_id": "a1"},
                      {"venue_ref": "CV1", "phone": phone(3), "scanned_at": "2022-04-18 08:31", "request_id": "a2"}]}
    r = client.post("/api/v1/scans", json=body, headers=bearer(session, "c_venue"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items[0]["control"]["level"] == "stop" and items[0]["control"]["kind"] == "centralised_quarantine"
    assert items[1]["control"]["level"] is None and items[1]["control"]["under_control"] is False
    assert session.execute(select(Scan).where(Scan.person_id == quarantined)).scalars().all()  # still recorded


def test_the_status_follows_the_phases_and_the_end(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 5, "赵密接")
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="close_contact",
                                      rule="categories.close_contact", place_kind="site", place_id=w.site.id,
                                      started_at=NOW)
    _central, home = m.phases
    at_site = control_service.status_of(session, [pid], at=NOW + DAY)[pid]
    assert (at_site.kind, at_site.place_kind, at_site.site_id, at_site.level) == (
        "centralised_quarantine", "site", w.site.id, "stop")
    home_at = dt.datetime.fromisoformat(home["start_at"]) + dt.timedelta(hours=1)
    at_home = control_service.status_of(session, [pid], at=home_at)[pid]
    assert (at_home.kind, at_home.place_kind, at_home.site_id, at_home.level) == (
        "home_health_monitoring", "home", None, "check")
    assert control_service.status_of(session, [pid], at=m.planned_end_at)[pid].kind == "none"
    assert control_service.status_of(session, [pid], at=NOW - dt.timedelta(minutes=1))[pid].kind == "none"
    control_service.end_measure(session, SYSTEM_ACTOR, measure_id=m.id, reason="test", at=NOW + 2 * DAY)
    assert control_service.status_of(session, [pid], at=NOW + 3 * DAY)[pid].kind == "none"
    # the past stays as it was (a scan imported later is judged at its own time)
    [before, after] = control_service.statuses_at(session, [(pid, NOW + DAY), (pid, NOW + 3 * DAY)])
    assert before.kind == "centralised_quarantine" and after.kind == "none"


def test_the_strongest_measure_in_force_wins(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 6, "孙某")
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="colocation",
                                  rule="categories.colocation", started_at=NOW)
    assert control_service.status_of(session, [pid], at=NOW + dt.timedelta(hours=1))[pid].kind == \
        "self_health_monitoring"
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                  rule="categories.secondary_contact", started_at=NOW + dt.timedelta(hours=2))
    s = control_service.status_of(session, [pid], at=NOW + dt.timedelta(hours=3))[pid]
    assert s.kind == "home_quarantine" and len(s.also) == 1


def test_no_module_outside_control_imports_controls_tables() -> None:
    import ast
    from pathlib import Path

    import fangkong

    src = Path(fangkong.__file__).resolve().parent
    offenders = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if rel.parts[0] in ("control", "migrations") or rel.name == "registry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{rel}: {n}" for n in names if n.startswith("fangkong.control.models")]
    assert not offenders, offenders


def test_a_held_measure_keeps_its_last_phase_past_the_planned_end(session: Session) -> None:
    w = build_world(session)
    pid = person(session, w, 7, "吴次密")
    m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                      rule="categories.secondary_contact", started_at=NOW)
    end = m.planned_end_at
    control_service.hold_measure(session, SYSTEM_ACTOR, measure_id=m.id, reason="close contact not yet negative")
    held = control_service.status_of(session, [pid], at=end + DAY)[pid]
    assert held.kind == "home_quarantine" and held.planned_end_at is None
