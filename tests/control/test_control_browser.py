"""The entrance in a real browser (Debian chromium via Playwright): a person under home quarantine who
scans a venue's code sees a red card instead of the green tick, and the person page's control section
shows the same status with the test days."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from control_factories import PASSWORD, build_world, person, phone
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.venues.service import codes as codes_service

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        # the served site runs on the platform's clock: the measure starts "now" there
        w = build_world(session)
        pid = person(session, w, 21, "陈居家")
        control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact",
                                      rule="categories.secondary_contact", started_at=clock.now())
        auth_service.create_user(session, SYSTEM_ACTOR, username="b_grid", role="grid",
                                 unit_code=session.get(Unit, w.grid.id).code, password=PASSWORD)
        token = codes_service.issue_code(session, SYSTEM_ACTOR, place_id=w.venue.id).token
        return {"token": token, "person_id": pid}

    return live_site(build)


def test_a_person_under_home_quarantine_gets_a_red_card_at_the_venue(served: Any, chromium: Any,
                                                                     artifacts: Path) -> None:
    from playwright.sync_api import expect

    ctx = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN",
                               java_script_enabled=False)
    page = ctx.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(served.base + "/v/" + served.data["token"])
    page.fill("#phone", phone(21))
    page.click("[data-testid=check-in]")
    card = page.locator("[data-testid=scan-done]")
    expect(card).to_have_attribute("data-level", "stop")
    expect(page.locator("[data-testid=scan-warning]")).to_contain_text("请勿进入")
    assert page.evaluate("getComputedStyle(document.querySelector('[data-testid=scan-done]')).backgroundColor") \
        == "rgb(180, 35, 24)"
    page.screenshot(path=str(artifacts / "scan-under-measure-phone.png"), full_page=True)

    office = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    p = office.new_page()
    p.set_default_timeout(BROWSER_TIMEOUT_MS)
    p.goto(served.base + "/login")
    p.fill("#username", "b_grid")
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url(served.base + "/")  # signed in (the session cookie is set) before going on
    p.goto(f"{served.base}/persons/{served.data['person_id']}")
    section = p.locator("[data-testid=person-control]")
    expect(section.locator("[data-testid=control-status]")).to_have_attribute("data-kind", "home_quarantine")
    expect(section.locator("[data-testid=due-tests] tbody tr")).to_have_count(3)
    p.screenshot(path=str(artifacts / "person-control.png"), full_page=True)
