"""Issue #12's walk, in a real browser (Debian chromium via Playwright) on a fresh database: a cohort of
two close contacts goes from the decision to release with a printed notice.

The leads arrive by file (intake decides 密接 → centralised quarantine); the district's worker records
the four checks with outcome "at a quarantine site" (the measure starts), assigns each the proposed room
with a vehicle (a transport task) and marks the arrivals (the task is done); the community enters the
temperatures on the room grid; samples are taken on the test days and the lab's results come in
through testing; on day 7 the releases page steps both down to home health monitoring and on day 10
releases them, answering with one PDF whose text names both persons. The platform's clock is frozen
at each step (the served app shares it), so the days pass without waiting.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from control_factories import PASSWORD, build_world, make_id
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import Measure
from fangkong.control.sites.service import sites as sites_service
from fangkong.intake.models import Lead
from fangkong.intake.service.ingest import import_leads_file
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.tasks.models import Task

pytestmark = pytest.mark.browser

TZ = dt.timezone(dt.timedelta(hours=8))
D0 = dt.date(2022, 4, 18)
COHORT = ((41, "钱密接", "花园路8号1室"), (42, "孙密接", "花园路8号2室"))


def t(day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


@contextmanager
def at(day: int, hour: float = 9) -> Iterator[None]:
    with clock.frozen(t(day, hour)):
        yield


@pytest.fixture
def served(live_site: Any, tmp_path: Path) -> Any:
    lead_file = tmp_path / "密接名单.csv"
    lead_file.write_text("姓名,身份证号,手机号,现住址,类别,编号\n" + "".join(
        f"{name},{make_id(seq)},1370000{seq:04d},{addr},密接,W-{seq}\n" for seq, name, addr in COHORT),
        encoding="utf-8-sig")

    def build(session: Session) -> dict[str, Any]:
        with at(0):
            w = build_world(session)
            for _seq, _name, addr in COHORT:
                jurisdictions_service.add_address(session, SYSTEM_ACTOR, text=addr, grid_code=w.grid.code)
            site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT", unit_id=w.district.id)
            for n in ("301", "302", "303"):
                sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building="A", floor=3, number=n)
            result = import_leads_file(session, SYSTEM_ACTOR, lead_file, channel="bigdata")
            assert [r.status for r in result.rows] == ["accepted", "accepted"], result.rows
            for username, role, unit in (("w_district", "district", w.district), ("w_comm", "community", w.community)):
                auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, password=PASSWORD,
                                         unit_code=session.get(Unit, unit.id).code)
        return {"site_id": site.place_id, "point_id": w.point.id,
                "leads": [r.extra["lead_id"] for r in result.rows]}

    with at(0):
        return live_site(build)


def _sign_in(chromium: Any, base: str, username: str) -> Any:
    page = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                accept_downloads=True).new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def _sample_and_result(served: Any, seq: int, day: int) -> None:
    """The sampler's tube on test day `day` (11:00) and the lab's negative at 19:00, through testing."""
    from fangkong.testing import service as testing_service

    barcode = f"W{seq}-{day}"
    with served.factory() as session:
        with at(day, 11):
            testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1,
                                      sampling_point_id=served.data["point_id"])
            testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(seq),
                                       collected_at=t(day, 11))
        with at(day, 19):
            [row] = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
                "tube_barcode": barcode, "result": "阴性", "lab": "常州检测",
                "reported_at": t(day, 19).strftime("%Y-%m-%d %H:%M")})])
            assert row.status == "accepted", row.issues
        session.commit()


def test_a_cohort_walks_from_decision_to_release_with_a_printed_notice(served: Any, chromium: Any,
                                                                       artifacts: Path) -> None:
    from playwright.sync_api import expect
    from pypdf import PdfReader

    base, site_id = served.base, served.data["site_id"]
    with at(0, 10):
        office = _sign_in(chromium, base, "w_district")
        # the decision: intake decided 密接 → centralised quarantine; the four checks start the measure
        for lead_id in served.data["leads"]:
            office.goto(f"{base}/leads/{lead_id}")
            expect(office.locator("[data-testid=decision]")).to_contain_text("集中隔离")
            office.fill("[data-testid=check-headcount]", "1")
            office.check("[data-testid=check-identity-yes]")
            office.check("[data-testid=outcome-found_site]")
            office.select_option("#site_place_id", str(site_id))
            office.click("[data-testid=verify-submit]")
            office.wait_for_url(f"**/leads/{lead_id}?verified=1*")
            expect(office.locator("[data-testid=lead-status]")).to_have_text("已管控")
    with served.factory() as session:
        measures = [session.get(Lead, lid).measure_id for lid in served.data["leads"]]
        assert all(measures)

    # the room: the proposed one, with a vehicle (a transport task), then the arrival
    with at(0, 11):
        office = _sign_in(chromium, base, "w_district")  # sessions time out idle: each step signs in
        office.goto(f"{base}/quarantine-sites/{site_id}")
        for mid in measures:
            office.locator("[data-testid=waiting]").locator("input[name=vehicle]").first.fill("苏D12345")
            office.click(f"[data-testid=assign-{mid}]")
            expect(office.locator(f"[data-testid=arrive-{mid}]")).to_be_visible()
        expect(office.locator("[data-testid=room-A-301]")).to_contain_text("钱密接")
        expect(office.locator("[data-testid=room-A-302]")).to_contain_text("孙密接")
        expect(office.locator("[data-testid=room-A-301]")).to_contain_text("转运途中")
    with at(0, 13):
        office = _sign_in(chromium, base, "w_district")
        office.goto(f"{base}/quarantine-sites/{site_id}")
        for mid in measures:
            office.click(f"[data-testid=arrive-{mid}]")
        expect(office.locator("[data-testid=room-A-302]")).not_to_contain_text("转运途中")
        office.screenshot(path=str(artifacts / "walk-site.png"), full_page=True)
    with served.factory() as session:
        tasks = session.execute(select(Task).where(Task.kind == "control_transport")).scalars().all()
        assert tasks and all(tk.status == "done" for tk in tasks)

    # check-ins on the room grid (the community's staff), in the afternoon slot of day 1
    with at(1, 14):
        staff = _sign_in(chromium, base, "w_comm")
        staff.goto(f"{base}/checkins?site_id={site_id}")
        rows = staff.locator("[data-testid=checkin-grid] tbody tr")
        expect(rows).to_have_count(2)
        inputs = staff.locator("input.checkin-input")
        for i, temp in enumerate(("36.5", "36.7")):
            inputs.nth(i).fill(temp)
            inputs.nth(i).press("Enter")
            expect(rows.nth(i).locator("[data-testid=checkin-today]")).to_contain_text(f"{temp}℃")

    # the tests on their days: sampled on the day, negative the same evening
    for day in (1, 2, 3, 5, 7):
        for seq, _name, _addr in COHORT:
            _sample_and_result(served, seq, day)
    with at(7, 21):
        office = _sign_in(chromium, base, "w_district")
        office.goto(f"{base}/due-tests?on={t(7).date().isoformat()}")
        expect(office.locator("tbody tr", has_text="钱密接")).to_contain_text("已采样")
        office.goto(f"{base}/releases")
        for mid in measures:
            expect(office.locator(f"[data-testid=step-{mid}]")).to_have_attribute("data-action", "stepdown")
        office.click("[data-testid=apply-steps]")
        expect(office.locator("[data-testid=steps-empty]")).to_be_visible()
    with served.factory() as session:
        assert [session.get(Measure, mid).phase for mid in measures] == ["home_monitoring"] * 2

    for seq, _name, _addr in COHORT:
        _sample_and_result(served, seq, 10)
    with at(10, 21):
        office = _sign_in(chromium, base, "w_district")
        office.goto(f"{base}/releases")
        for mid in measures:
            expect(office.locator(f"[data-testid=step-{mid}]")).to_have_attribute("data-action", "release")
        office.screenshot(path=str(artifacts / "walk-releases.png"), full_page=True)
        with office.expect_download() as download:
            office.click("[data-testid=apply-steps]")
        pdf = Path(download.value.path()).read_bytes()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "解除隔离" in text and "钱密接" in text and "孙密接" in text
    with served.factory() as session:
        assert [session.get(Measure, mid).status for mid in measures] == ["released"] * 2
        events = control_service.events_of(session, measures)
        assert [e.action for e in events[measures[0]]] == ["started", "stepped_down", "released"]
