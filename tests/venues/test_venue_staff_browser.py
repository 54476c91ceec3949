"""Venue staff in a real browser (Debian chromium driven by Playwright), on a phone: sign in, follow the
menu's 入场查验 to their venue and record a visitor; then open the venue's code and follow its
工作人员:入场查验 link. The entry check used to answer 404 (the form was offered at venues outside the
staff's area and refused when sent; nothing in the menu led to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import click_menu
from sqlalchemy import select
from sqlalchemy.orm import Session
from venues_factories import PASSWORD

from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.places import service as places_service
from fangkong.venues.models import Scan
from fangkong.venues.service import codes as codes_service

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        s = SYSTEM_ACTOR
        district = jurisdictions_service.create_unit(session, s, code="SB1", name="甲区", level="district",
                                                     parent_code=None)
        grid = jurisdictions_service.create_unit(session, s, code="SB101", name="甲区第1网格", level="grid",
                                                 parent_code=district.code)
        other = jurisdictions_service.create_unit(session, s, code="SB102", name="甲区第2网格", level="grid",
                                                  parent_code=district.code)
        mine = places_service.create_place(session, s, kind="venue", name="老街面馆", category="restaurant",
                                           unit_id=grid.id)
        theirs = places_service.create_place(session, s, kind="venue", name="隔壁网吧", category="internet_cafe",
                                             unit_id=other.id)
        auth_service.create_user(session, s, username="venue_staff", role="enterprise", unit_code=grid.code,
                                 password=PASSWORD, display_name="面馆店员")
        return {"mine": mine.id, "theirs": theirs.id,
                "token": codes_service.issue_code(session, s, place_id=mine.id).token}

    return live_site(build)


def test_venue_staff_record_entry_checks_from_the_menu_and_the_code(served: Any, chromium: Any,
                                                                     artifacts: Path) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60000)
    page.goto(served.base + "/login")
    page.fill("#username", "venue_staff")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")

    click_menu(page, text="入场查验")
    page.wait_for_url("**/entry-check")
    expect(page.locator("main")).to_contain_text("老街面馆")
    expect(page.locator("main")).not_to_contain_text("隔壁网吧")
    page.click(f"[data-testid=check-at-{served.data['mine']}]")
    expect(page.locator("[data-testid=venue-name]")).to_have_text("老街面馆")
    page.fill("#phone", "13812345678")
    page.fill("#temperature", "36.6")
    page.check("input[name=mask_ok][value=yes]")
    page.click("main button[type=submit]")
    expect(page.locator("[data-testid=staff-done]")).to_contain_text("138****5678")
    page.screenshot(path=str(artifacts / "entry-check-phone.png"), full_page=True)

    # the venue's code, opened by the signed-in staff member: the staff link leads to a form that records
    page.goto(served.base + "/v/" + served.data["token"])
    page.click("text=工作人员:入场查验")
    expect(page.locator("[data-testid=venue-name]")).to_have_text("老街面馆")
    page.fill("#phone", "13912345678")
    page.fill("#temperature", "37.6")
    page.check("input[name=mask_ok][value=no]")
    page.click("main button[type=submit]")
    expect(page.locator("[data-testid=staff-done]")).to_contain_text("139****5678")

    with served.factory() as session:
        rows = session.execute(select(Scan.place_id, Scan.temperature, Scan.mask_ok, Scan.source)
                               .order_by(Scan.id)).all()
    assert [tuple(r) for r in rows] == [(served.data["mine"], 36.6, True, "staff"),
                                        (served.data["mine"], 37.6, False, "staff")]
