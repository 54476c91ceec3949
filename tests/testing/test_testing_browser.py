"""A sampler fills a 10-in-1 tube on a phone-sized screen (Debian chromium driven by Playwright).

A uvicorn server in a background thread on a free port serves a fresh SQLite file database (the same
pattern as tests/web/test_browser.py); the sampler signs in on a 390×844 touch screen, starts a pooled
tube, enters ten persons by ID or phone, is refused the same person twice with a clear message, sees
the tube close at ten, and the page never scrolls sideways. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from sqlalchemy import select
from sqlalchemy.orm import Session
from testing_factories import Tree, build_tree, make_id, person, phone

from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.testing.models import Tube, TubeSample

PASSWORD = "correct-horse-9"

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    """A fresh test-mode database with a sampler and ten registered persons, served on a free port."""

    def build(session: Session) -> Tree:
        tree = build_tree(session)
        auth_service.create_user(session, SYSTEM_ACTOR, username="sampler_a", role="sampler",
                                 unit_code=tree.grid_a.code, password=PASSWORD, display_name="采样员甲")
        for i in range(1, 11):
            person(session, i, tree.grid_a)
        return tree

    return live_site(build)


def test_sampler_fills_a_ten_in_one_tube_on_a_phone(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    browser = chromium
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                    is_mobile=True, has_touch=True, locale="zh-CN")
    page = phone_ctx.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(served.base + "/login?next=/sampling")
    page.fill("#username", "sampler_a")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sampling")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.select_option("#point", str(served.data.point.id))
    page.fill("[data-testid=tube-barcode]", "hs-2022-0001")
    expect(page.locator("[data-testid=pool-size]")).to_have_value("10")  # the policy's default
    page.screenshot(path=str(artifacts / "sampling-start-phone.png"), full_page=True)
    page.click("[data-testid=open-tube]")
    page.wait_for_url("**/sampling/tubes/HS-2022-0001")
    expect(page.locator("[data-testid=tube-count]")).to_contain_text("0 / 10")

    for i in range(1, 11):
        page.fill("[data-testid=person-input]", make_id(i) if i % 3 else phone(i))
        page.click("[data-testid=add-person]")
        if i == 4:
            # the same person again: refused, clearly
            expect(page.locator("[data-testid=sample-added]")).to_contain_text("4")
            page.fill("[data-testid=person-input]", make_id(4))
            page.click("[data-testid=add-person]")
            expect(page.locator("[data-testid=sample-error]")).to_contain_text("已在试管 HS-2022-0001 中")
            page.screenshot(path=str(artifacts / "sampling-duplicate-phone.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("[data-testid=tube-closed]")).to_contain_text("10")
    expect(page.locator("[data-testid=tube-count]")).to_contain_text("10 / 10")
    expect(page.locator("[data-testid=tube-persons] li")).to_have_count(10)
    assert page.locator("[data-testid=person-input]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "sampling-closed-phone.png"), full_page=True)
    page.click("[data-testid=next-tube]")
    page.wait_for_url("**/sampling?point=*")

    with served.factory() as session:
        tube = session.execute(select(Tube).where(Tube.barcode == "HS-2022-0001")).scalar_one()
        n = len(session.execute(select(TubeSample).where(TubeSample.tube_id == tube.id)).scalars().all())
        assert (tube.status, tube.pool_size, n, tube.sampling_point_id) == ("closed", 10, 10, served.data.point.id)
