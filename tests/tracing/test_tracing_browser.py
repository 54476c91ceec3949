"""The investigation page in a real browser (Debian chromium driven by Playwright, desktop size): an
epidemiologist opens the case, confirms a co-location contact, sees it listed with its lead status,
and the transmission-chain graph renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS, click_menu
from sqlalchemy import select
from sqlalchemy.orm import Session
from tracing_factories import NOW, build_world, epidemiologist, grant, positive_result, standard_scans

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.tracing import service
from fangkong.tracing.models import Contact

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):  # the served app runs in this process: it reads the same clock
        yield


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, int]:
        w = build_world(session)
        standard_scans(session, w)
        positive_result(session, w)
        grant(session, "epidemiologist")
        auth_service.create_user(session, SYSTEM_ACTOR, username="epi1", role="epidemiologist",
                                 unit_code=w.district.code, password=PASSWORD)
        epi = epidemiologist(w.district)
        [(cand, _p)] = service.pending_candidates(session, epi)
        case = service.confirm_candidate(session, epi, candidate_id=cand.id, classification="asymptomatic")
        service.confirm_contacts(session, epi, case_id=case.id, items=[
            service.ContactItem(kind="household", person_id=w.household)])
        return {"case": case.id, "covisitor": w.covisitor}

    return live_site(build)


def test_epidemiologist_confirms_a_colocation_contact(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(served.base + "/login")
    page.fill("#username", "epi1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    click_menu(page, text="病例")
    case_id, covisitor = served.data["case"], served.data["covisitor"]
    page.click(f"[data-testid=case-list] >> text=#{case_id}")
    expect(page.locator("[data-testid=case-title]")).to_contain_text("王病例")
    expect(page.locator(f"[data-testid=hit-{covisitor}]")).to_contain_text("赵伴随")
    page.click(f"[data-testid=confirm-colocation-{covisitor}]")
    expect(page.locator("[data-testid=confirm-notice]")).to_have_text("接触者已确认。")
    row = page.locator(f"[data-testid=contact-{covisitor}]")
    expect(row).to_contain_text("赵伴随")
    expect(row).to_contain_text("时空伴随")
    expect(row.locator("[data-testid=lead-status]")).to_have_text("即知")
    # the chain graph: ECharts drew the case and both contacts on a canvas
    graph = page.locator("#chain-graph")
    expect(graph).to_have_attribute("data-rendered", "3")
    assert graph.locator("canvas").count() == 1
    # the screenshot is for people to look at; it shows the layout as far as it has settled (no fixed wait)
    graph.scroll_into_view_if_needed()
    graph.screenshot(path=str(artifacts / "tracing-chain-graph.png"))
    page.screenshot(path=str(artifacts / "tracing-case-page.png"), full_page=True)
    assert errors == []

    with served.factory() as session:
        contact = session.execute(select(Contact).where(Contact.person_id == covisitor)).scalar_one()
    assert (contact.kind, contact.channel, contact.category) == ("colocation", "colocation", "colocation")
    assert contact.lead_id is not None
