"""A quarantine site in a real browser (Debian chromium via Playwright): the district's site staff open
the site page, see the rooms by building and floor with their state in Chinese, assign the proposed room
to a close contact awaiting one (a transport task goes out), mark the arrival, and the capacity
dashboard draws its charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from control_factories import PASSWORD, build_world, person
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.sites.service import sites as sites_service
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit

pytestmark = pytest.mark.browser


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        w = build_world(session)
        site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT", unit_id=w.district.id)
        rooms = [sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building="A", floor=f,
                                        number=n) for f, n in ((3, "301"), (3, "302"), (4, "401"))]
        pid = person(session, w, 31, "周密接")
        m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="close_contact",
                                          rule="categories.close_contact", started_at=clock.now(), planned=True)
        auth_service.create_user(session, SYSTEM_ACTOR, username="b_district", role="district",
                                 unit_code=session.get(Unit, w.district.id).code, password=PASSWORD)
        return {"site_id": site.place_id, "measure_id": m.id, "rooms": [r.id for r in rooms]}

    return live_site(build)


def test_site_staff_assign_the_proposed_room_and_mark_the_arrival(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    p = ctx.new_page()
    p.set_default_timeout(BROWSER_TIMEOUT_MS)
    p.goto(served.base + "/login")
    p.fill("#username", "b_district")
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url(served.base + "/")
    p.goto(f"{served.base}/quarantine-sites/{served.data['site_id']}")
    expect(p.locator("h3").first).to_contain_text("A 栋 3 层")
    expect(p.locator("[data-testid=room-A-301]")).to_have_attribute("data-state", "free")
    waiting = p.locator("[data-testid=waiting]")
    expect(waiting).to_contain_text("周密接")
    expect(waiting).to_contain_text("建议房间")
    waiting.locator("input[name=vehicle]").fill("苏D12345")
    p.click(f"[data-testid=assign-{served.data['measure_id']}]")
    room = p.locator("[data-testid=room-A-301]")
    expect(room).to_have_attribute("data-state", "occupied")
    expect(room).to_contain_text("周密接")
    expect(room).to_contain_text("转运途中")
    p.screenshot(path=str(artifacts / "site-assigned.png"), full_page=True)
    p.click(f"[data-testid=arrive-{served.data['measure_id']}]")
    expect(p.locator("[data-testid=room-A-301]")).not_to_contain_text("转运途中")
    expect(p.locator("[data-testid=waiting]")).to_have_count(0)
    p.goto(f"{served.base}/quarantine-capacity")
    expect(p.locator("body")).to_have_attribute("data-charts", "ready")
    expect(p.locator("#chart-sites canvas")).to_have_count(1)
    p.screenshot(path=str(artifacts / "capacity-dashboard.png"), full_page=True)
