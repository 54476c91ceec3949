"""The community worker's home on a phone (390×844): signed in, they land on their own work — today's
tasks, the leads to verify, their grids — and a count opens the real list behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from command_factories import CUTOFF, H
from sqlalchemy.orm import Session
from test_home import community_tree

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> None:
        community_tree(session)
        auth_service.create_user(session, SYSTEM_ACTOR, username="comm1", role="community", unit_code="C1",
                                 password=PASSWORD)

    return live_site(build)


@pytest.mark.browser
def test_community_home_on_a_phone(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    with clock.frozen(CUTOFF + H):
        ctx = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
        page = ctx.new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(served.base + "/login")
        page.fill("#username", "comm1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(served.base + "/")
        work = page.locator("[data-testid=my-work]")
        expect(work).to_contain_text("丙社区")
        expect(work).to_contain_text("今日任务")
        expect(page.locator("[data-testid=work-leads-known] .num")).to_have_text("1")
        expect(page.locator("[data-testid=work-grids]")).to_contain_text("丙社区一网格")
        # fits the phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / "command-home-community-phone.png"), full_page=True)
        page.click("[data-testid=work-leads-known]")
        page.wait_for_url(served.base + "/leads?status=known")
        expect(page.locator("[data-testid^=lead-row-]")).to_have_count(1)
        expect(page.locator("body")).to_contain_text("己")
        expect(page.locator("body")).not_to_contain_text("13800000009")  # masked
        assert errors == []
        ctx.close()
