"""A grid worker takes a lead from import to controlled in a real browser (Debian chromium, Playwright).

A lead file is imported through intake's service into a fresh SQLite file database served by uvicorn;
the grid worker signs in, sees the verification task in the inbox, opens the lead, records the four
checks with outcome found_home and sees the lead controlled with its measure and test days; the
clearance page then shows the day cleared. Screenshots (desktop and a 390 px phone) go to
test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS, click_menu
from intake_factories import Tree, make_id
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.intake.models import Lead
from fangkong.intake.service.ingest import import_leads_file
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"
ADDR = "幸福路12号3幢2单元301室"

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any, tmp_path: Path) -> Any:
    """A fresh test-mode database with a jurisdiction, a grid worker and one imported lead, on uvicorn."""
    lead_file = tmp_path / "推送名单.csv"
    lead_file.write_text("省大数据推送名单\n姓名,身份证号,手机号,来源地,现住址,类别,编号\n"
                         f"张三,{make_id()},138 1234 5678,上海市浦东新区,{ADDR},次密接,SH-0001\n", encoding="utf-8-sig")

    def build(session: Session) -> tuple[int, int]:
        tree = Tree(session)
        auth_service.create_user(session, SYSTEM_ACTOR, username="grid1", role="grid", unit_code=tree.grid1.code,
                                 password=PASSWORD, display_name="李网格")
        result = import_leads_file(session, SYSTEM_ACTOR, lead_file, channel="bigdata")
        assert [r.status for r in result.rows] == ["accepted"], result.rows
        lead = session.get(Lead, result.rows[0].extra["lead_id"])
        assert lead is not None and lead.verification_task_id is not None
        return lead.id, lead.verification_task_id

    return live_site(build)


def _fits_phone(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


def test_grid_worker_takes_a_lead_from_import_to_controlled(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    lead_id, task_id = served.data
    browser = chromium
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)

    page.goto(served.base + "/login")
    page.fill("#username", "grid1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")

    # the inbox holds the verification task (四个查清) for the worker's grid
    click_menu(page, text="任务")
    page.wait_for_url("**/tasks")
    card = page.locator(f"[data-testid=task-{task_id}]")
    expect(card).to_contain_text("核查重点人员 张三")
    expect(card).to_contain_text("幸福一网格")
    page.screenshot(path=str(artifacts / "intake-inbox.png"), full_page=True)

    # the lead list, then the lead
    click_menu(page, text="线索")
    page.wait_for_url("**/leads")
    row = page.locator(f"[data-testid=lead-row-{lead_id}]")
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("138****5678")
    page.screenshot(path=str(artifacts / "intake-leads.png"), full_page=True)
    row.locator(f"a[href='/leads/{lead_id}']").click()
    page.wait_for_url(f"**/leads/{lead_id}")
    expect(page.locator("[data-testid=decision]")).to_contain_text("居家隔离")
    expect(page.locator("[data-testid=lead-status]")).to_have_text("待核查")
    assert "138 1234 5678" not in page.content()  # the raw payload is shown masked
    page.screenshot(path=str(artifacts / "intake-lead-before.png"), full_page=True)

    # the four checks and the outcome
    page.fill("[data-testid=check-headcount]", "3")
    page.check("[data-testid=check-identity-yes]")
    page.fill("[data-testid=check-location]", "幸福路12号3幢2单元301室 家中")
    page.fill("[data-testid=check-control]", "已转运前居家等待,门磁已安装")
    page.check("[data-testid=outcome-found_home]")
    expect(page.locator(".cond-site")).to_be_hidden()
    page.check("[data-testid=outcome-found_site]")
    expect(page.locator(".cond-site")).to_be_visible()  # the site picker appears only for a site
    page.check("[data-testid=outcome-found_home]")
    page.click("[data-testid=verify-submit]")
    page.wait_for_url(f"**/leads/{lead_id}?verified=1*")
    expect(page.locator("[data-testid=lead-status]")).to_have_text("已管控")
    expect(page.locator("[data-testid=next-step]")).to_contain_text("管控措施已启动")
    expect(page.locator("[data-testid=measure]")).to_contain_text("居家隔离")
    expect(page.locator("[data-testid=test-days]")).to_have_text("第 1, 4, 7 天")
    page.screenshot(path=str(artifacts / "intake-lead-controlled.png"), full_page=True)

    # the day is cleared
    click_menu(page, text="日产日清")
    page.wait_for_url("**/leads/clearance")
    expect(page.locator("[data-testid=n-received]")).to_have_text("1")
    expect(page.locator("[data-testid=n-cleared]")).to_have_text("1")
    expect(page.locator("[data-testid=clearance-verdict]")).to_contain_text("已日清")
    page.screenshot(path=str(artifacts / "intake-clearance.png"), full_page=True)

    # the same pages on a phone: readable without sideways scrolling
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True, locale="zh-CN",
                                storage_state=context.storage_state())
    small = phone.new_page()
    small.set_default_timeout(BROWSER_TIMEOUT_MS)
    for path, shot in ((f"/leads/{lead_id}", "intake-lead-phone.png"), ("/leads", "intake-leads-phone.png"),
                       ("/leads/clearance", "intake-clearance-phone.png"), ("/leads/new", "intake-form-phone.png"),
                       ("/risk-areas", "intake-risk-areas-phone.png")):
        small.goto(served.base + path)
        _fits_phone(small)
        small.screenshot(path=str(artifacts / shot), full_page=True)
    public = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                 is_mobile=True, has_touch=True, locale="zh-CN").new_page()
    public.goto(served.base + "/report")
    _fits_phone(public)
    public.screenshot(path=str(artifacts / "intake-self-report-phone.png"), full_page=True)

    with served.factory() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None and (lead.status, lead.outcome_code) == ("controlled", "found_home")
        assert lead.managed_at is not None and lead.controlled_at is not None
        measure = session.execute(select(Measure).where(Measure.lead_id == lead_id)).scalar_one()
        assert (measure.category, measure.place_kind) == ("secondary_contact", "home")
