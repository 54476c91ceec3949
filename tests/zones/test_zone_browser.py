"""The main walk in a real browser (Debian chromium via Playwright): the command centre draws a
high-risk zone from the unit tree with a preview, starts a round from the zone page, watches its
coverage, and a grid worker's phone lists the doors still to knock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from sqlalchemy.orm import Session
from zone_factories import PASSWORD, build_city, user

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        city = build_city(session)
        user(session, "b_district", "district", city.district)
        user(session, "b_grid", "grid", city.grid1)
        return {"grid1": city.grid1.code}

    return live_site(build)


def _login(ctx: Any, base: str, username: str) -> Any:
    p = ctx.new_page()
    p.set_default_timeout(BROWSER_TIMEOUT_MS)
    p.goto(base + "/login")
    p.fill("#username", username)
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url(base + "/")
    return p


def test_draw_a_zone_start_a_round_and_knock_on_doors(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    office = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    p = _login(office, served.base, "b_district")
    p.goto(served.base + "/zones")
    p.select_option("[data-testid=unit-tree]", [served.data["grid1"]])
    p.click("[data-testid=preview-button]")
    expect(p.locator("[data-testid=preview-counts]")).to_contain_text("2 个地址、2 户和 4 名登记居民")
    p.fill("input[name=reason]", "病例 C1 住所")
    p.click("[data-testid=draw-button]")
    expect(p.locator("[data-testid=zone-level]")).to_have_text("高风险区")
    expect(p.locator("[data-testid=eligibility]")).to_be_visible()
    p.screenshot(path=str(artifacts / "zone-detail.png"), full_page=True)
    p.click("[data-testid=start-round]")
    expect(p.locator("[data-testid=missing-total]")).to_have_text("4")
    p.screenshot(path=str(artifacts / "round-coverage.png"), full_page=True)
    round_url = p.url

    phone = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    g = _login(phone, served.base, "b_grid")
    g.goto(round_url + "/doors")
    expect(g.locator("[data-testid=doors-count]")).to_have_text("4")
    expect(g.locator("[data-testid=doors] li")).to_have_count(2)
    g.screenshot(path=str(artifacts / "doors-phone.png"), full_page=True)
