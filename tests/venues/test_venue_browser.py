"""The scan page in a real browser at phone size with JavaScript switched off (Debian chromium driven
by Playwright): check in, be remembered, check in again with one tap; a forged code is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from sqlalchemy import select
from sqlalchemy.orm import Session
from venues_factories import ID_A

from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.places import service as places_service
from fangkong.venues.models import Scan
from fangkong.venues.service import codes as codes_service

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    """A fresh test-mode database with one venue and its code, served on a free port."""

    def build(session: Session) -> str:
        place = places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name="老街菜市场",
                                            category="market", capacity=3000)
        return codes_service.issue_code(session, SYSTEM_ACTOR, place_id=place.id).token

    return live_site(build)


def test_scan_page_works_without_javascript_on_a_phone(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    browser = chromium
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                is_mobile=True, has_touch=True, locale="zh-CN", java_script_enabled=False)
    page = phone.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    # light enough for a phone on a slow network: a small page and nothing else to fetch but its CSS
    # (how fast it loads is a benchmark's question, not a test's)
    answer = page.goto(served.base + "/v/" + served.data)
    assert answer is not None and answer.ok and len(answer.body()) < 20_000
    expect(page.locator("[data-testid=venue-name]")).to_have_text("老街菜市场")
    page.screenshot(path=str(artifacts / "scan-form-phone.png"), full_page=True)
    page.fill("#phone", "13812345678")
    page.fill("#id_number", ID_A)
    page.click("[data-testid=check-in]")
    expect(page.locator("[data-testid=scan-done] h1")).to_have_text("登记成功")
    expect(page.locator("[data-testid=scan-time]")).to_have_text(
        __import__("re").compile(r"^\d{2}:\d{2}:\d{2}$"))
    assert "138****5678" in page.content() and ID_A not in page.content()
    page.screenshot(path=str(artifacts / "scan-done-phone.png"), full_page=True)

    # the next visit: remembered, one tap
    page.goto(served.base + "/v/" + served.data)
    expect(page.locator("[data-testid=saved-phone]")).to_have_text("138****5678")
    page.click("[data-testid=check-in]")
    expect(page.locator("[data-testid=scan-done]")).to_be_visible()

    # a forged code: a clear refusal
    page.goto(served.base + "/v/" + served.data[:-2] + "zz")
    expect(page.locator("[data-testid=scan-refused] h1")).to_have_text("场所码无效")
    page.screenshot(path=str(artifacts / "scan-refused-phone.png"), full_page=True)

    # the layout fits a phone without sideways scrolling (measured with scripts on)
    measure = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    m = measure.new_page()
    m.goto(served.base + "/v/" + served.data)
    assert m.evaluate("document.documentElement.scrollWidth") <= 360
    assert m.evaluate("document.scripts.length") == 0

    with served.factory() as session:
        scans = session.execute(select(Scan.person_id, Scan.source)).all()
    assert len(scans) == 2 and {s.source for s in scans} == {"page"} and len({s.person_id for s in scans}) == 1
