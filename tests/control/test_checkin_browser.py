"""Check-ins in a real browser (Debian chromium via Playwright, phone viewport): site staff type a
temperature per row and press Enter — the row shows it and the cursor is on the next row; a typing slip
(365) stays in its row with the reason. The person checks in from the signed SMS link, no sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from control_factories import PASSWORD, build_world, person
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.service import checkins
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "locale": "zh-CN"}


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        w = build_world(session)
        measures = []
        for seq, name in ((31, "周集中"), (32, "吴集中"), (33, "郑集中")):
            pid = person(session, w, seq, name)
            measures.append(control_service.start_measure(
                session, SYSTEM_ACTOR, person_id=pid, category="high_risk_area", rule="categories.high_risk_area",
                place_kind="site", place_id=w.site.id, started_at=clock.now()))
        auth_service.create_user(session, SYSTEM_ACTOR, username="b_staff", role="community",
                                 unit_code=session.get(Unit, w.community.id).code, password=PASSWORD)
        return {"site_id": w.site.id, "ids": [(m.id, m.person_id) for m in measures],
                "link": checkins.link_of(measures[0])}

    return live_site(build)


def test_staff_enter_rows_and_the_person_checks_in_from_the_sms_link(served: Any, chromium: Any,
                                                                     artifacts: Path) -> None:
    from playwright.sync_api import expect

    ctx = chromium.new_context(**PHONE)
    p = ctx.new_page()
    p.set_default_timeout(BROWSER_TIMEOUT_MS)
    p.goto(served.base + "/login")
    p.fill("#username", "b_staff")
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url(served.base + "/")
    p.goto(f"{served.base}/checkins?site_id={served.data['site_id']}")
    rows = p.locator("[data-testid=checkin-grid] tbody tr")
    expect(rows).to_have_count(3)
    inputs = p.locator("input.checkin-input")
    expect(inputs.nth(0)).to_be_focused()
    inputs.nth(0).fill("36.5")
    inputs.nth(0).press("Enter")
    expect(rows.nth(0).locator("[data-testid=checkin-today]")).to_contain_text("36.5℃")
    expect(inputs.nth(1)).to_be_focused()
    p.keyboard.type("365")
    p.keyboard.press("Enter")
    expect(rows.nth(1).locator("[data-testid=checkin-error]")).to_contain_text("34–43")
    expect(inputs.nth(1)).to_be_focused()  # the slip keeps the cursor in its row
    p.keyboard.press("Control+A")
    p.keyboard.type("37.9 干咳")
    p.keyboard.press("Enter")
    expect(rows.nth(1).locator("[data-testid=checkin-today]")).to_contain_text("37.9℃ 干咳")
    expect(inputs.nth(2)).to_be_focused()
    p.screenshot(path=str(artifacts / "checkin-grid-phone.png"), full_page=True)

    person_ctx = chromium.new_context(**PHONE, java_script_enabled=False)
    q = person_ctx.new_page()
    q.set_default_timeout(BROWSER_TIMEOUT_MS)
    q.goto(served.base + served.data["link"])
    expect(q.locator("[data-testid=phone-name]")).to_have_text("周*中")
    q.fill("[data-testid=phone-temperature]", "3.65")
    q.click("[data-testid=phone-submit]")
    expect(q.locator("[data-testid=phone-error]")).to_contain_text("34–43")
    q.fill("[data-testid=phone-temperature]", "36.8")
    q.click("[data-testid=phone-submit]")
    expect(q.locator("[data-testid=phone-done]")).to_be_visible()
    expect(q.locator("[data-testid=phone-today]")).to_contain_text("36.8℃")
    q.screenshot(path=str(artifacts / "checkin-phone.png"), full_page=True)
    ctx.close()
    person_ctx.close()
