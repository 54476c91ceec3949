"""The grid worker's path in a real browser (Debian chromium driven by Playwright).

A uvicorn server in a background thread on a free port serves a fresh SQLite file database; the
browser signs in, opens the inbox, follows the task to its person, unmasks the ID number; then the
audit log must hold the view and the unmask. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS, click_menu
from sqlalchemy import select
from web_world import ID_A, PASSWORD, build_world

from fangkong.kernel.audit.models import AuditEvent

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    """A fresh test-mode database with the small web world, served on a free port."""
    return live_site(build_world)


def test_grid_worker_unmasks_an_id_number_from_the_inbox(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    w = served.data
    browser = chromium
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)

    page.goto(served.base + "/login")
    expect(page.locator("h1")).to_have_text("登录")
    page.screenshot(path=str(artifacts / "login.png"))
    page.fill("#username", w.worker_username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")
    expect(page.locator(".who-name")).to_have_text("李网格")

    click_menu(page, text="任务")
    page.wait_for_url("**/tasks")
    card = page.locator(f"[data-testid=task-{w.task_id}]")
    expect(card).to_contain_text("核查返常人员信息")
    expect(card).to_contain_text("花园社区第一网格")
    page.screenshot(path=str(artifacts / "inbox.png"), full_page=True)

    page.click(f"[data-testid=task-person-{w.task_id}]")
    page.wait_for_url(f"**/persons/{w.person_a_id}")
    masked = ID_A[:6] + "********" + ID_A[-4:]
    expect(page.locator("#field-id_number")).to_contain_text(masked)
    assert ID_A not in page.content()
    page.screenshot(path=str(artifacts / "person-before-unmask.png"), full_page=True)

    page.click("[data-testid=unmask-id_number]")
    expect(page.locator("[data-testid=full-id_number]")).to_have_text(ID_A)
    page.screenshot(path=str(artifacts / "person-after-unmask.png"), full_page=True)

    # the inbox on a phone: readable without sideways scrolling
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True, locale="zh-CN",
                                storage_state=context.storage_state())
    small = phone.new_page()
    small.set_default_timeout(BROWSER_TIMEOUT_MS)
    small.goto(served.base + "/tasks")
    expect(small.locator(f"[data-testid=task-{w.task_id}]")).to_be_visible()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    small.screenshot(path=str(artifacts / "inbox-phone.png"), full_page=True)

    with served.factory() as session:
        events = session.execute(select(AuditEvent).where(
            AuditEvent.object_type == "person", AuditEvent.object_id == str(w.person_a_id),
            AuditEvent.action.in_(["person.view", "person.unmask"]))).scalars().all()
    by_worker = [(e.action, e.detail.get("field")) for e in events if e.actor_name == w.worker_username]
    assert ("person.view", None) in by_worker
    assert ("person.unmask", "id_number") in by_worker
