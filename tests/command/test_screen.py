"""The big screen: its panels over the API (scoped, 404 for an unknown panel), and in a real browser:
screen → a district drilled into → the leads behind the overdue number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from command_factories import CUTOFF, DAY, NOW, H, build_tree, leads_of_the_day
from fastapi.testclient import TestClient
from signin import user_headers
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.command.service import orders
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_panels_api(client: TestClient, session: Session) -> None:
    tree = build_tree(session)
    leads_of_the_day(session, tree)
    with clock.frozen(NOW):
        orders.issue_order(session, SYSTEM_ACTOR, title="全员核酸", to=["D1", "D2"])
    chief = user_headers(session, "chief", "command", tree.root.code)
    d2 = user_headers(session, "district2", "district", "D2")
    session.commit()
    with clock.frozen(CUTOFF + H):
        r = client.get("/api/v1/command/panels/kpis", params={"day": DAY.isoformat()}, headers=chief)
        assert r.status_code == 200, r.text
        kpis = {k["indicator"]: k for k in r.json()["items"]}
        assert (kpis["leads.received"]["value"], kpis["leads.received"]["yesterday"], kpis["leads.received"]["delta"]
                ) == (5, 1, 4)
        assert (kpis["leads.cleared_same_day"]["shown"], kpis["leads.cleared_same_day"]["status"]) == ("40.00%", "red")
        assert (kpis["signals.open"]["shown"], kpis["signals.open"]["value"]) == ("0", 0)  # enabled: a true zero
        assert kpis["leads.overdue"]["list"] == f"/leads?overdue=1&unit={tree.root.code}"
        r = client.get("/api/v1/command/panels/rankings", params={"day": DAY.isoformat()}, headers=chief)
        # worst first: D1 (40 %) before D2 (no leads: no value)
        assert [u["unit_code"] for u in r.json()["units"]] == ["D1", "D2"]
        r = client.get("/api/v1/command/panels/trends", params={"day": DAY.isoformat()}, headers=chief)
        series = {s["indicator"]: s["values"] for s in r.json()["series"]}
        assert len(r.json()["days"]) == 14 and series["leads.received"][-2:] == [1, 5]
        # the clock funnel, by hand: 5 received on D; verified on D: L1 after 1 h, L2 after 3 h (L3 after C)
        r = client.get("/api/v1/command/panels/funnel", params={"day": DAY.isoformat()}, headers=chief)
        steps = {s["step"]: s for s in r.json()["steps"]}
        assert steps["received"]["count"] == 5
        assert (steps["managed"]["count"], steps["managed"]["p50_h"], steps["managed"]["p90_h"]) == (2, 2.0, 2.8)
        assert (steps["controlled"]["count"], steps["controlled"]["p90_h"]) == (0, None)
        r = client.get("/api/v1/command/panels/cases", params={"day": DAY.isoformat()}, headers=chief)
        # no case: the count is 0, the share detected under control has no denominator ("—", none)
        assert (r.json()["new"]["value"], r.json()["items"]) == (0, [])
        assert (r.json()["detected_in_control"]["shown"], r.json()["detected_in_control"]["status"]) == ("—", "none")
        r = client.get("/api/v1/command/panels/orders", headers=d2)
        assert [(o["unit_code"], o["status"]) for o in r.json()["items"]] == [("D2", "issued")]
        assert client.get("/api/v1/command/panels/nope", headers=chief).status_code == 404
        assert client.get("/api/v1/command/panels/kpis", params={"unit": "D1"}, headers=d2).status_code == 404
        page = client.get("/command/screen", headers=chief)
        assert page.status_code == 200 and "指挥大屏" in page.text




@pytest.fixture
def served(live_site: Any, tmp_path: Path) -> Any:
    from test_geometry import outlines

    from fangkong.command.service import geometry

    def build(session: Session) -> None:
        tree = build_tree(session)
        leads_of_the_day(session, tree)
        geometry.import_geometry(session, SYSTEM_ACTOR, outlines(tmp_path / "city.geojson"))  # D1, D2
        auth_service.create_user(session, SYSTEM_ACTOR, username="chief", role="command", unit_code=tree.root.code,
                                 password=PASSWORD)

    return live_site(build)


@pytest.mark.browser
def test_screen_drill_down_to_the_list(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    with clock.frozen(CUTOFF - H):  # 23:00 on D: the served app reads the same clock
        ctx = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        page = ctx.new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(served.base + "/login")
        page.fill("#username", "chief")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(served.base + "/command/screen")
        expect(page.locator("#command-screen")).to_have_attribute("data-loaded", "1")
        expect(page.locator("[data-indicator='leads.received'] .kpi-value")).to_have_text("5")
        expect(page.locator("[data-indicator='signals.open'] .kpi-value")).to_have_text("0")
        assert page.locator("#panel-map canvas").count() == 1
        expect(page.locator("#command-screen")).to_have_attribute("data-map", "outlines")  # registerMap        assert page.locator("#panel-funnel canvas").count() == 1
        expect(page.locator("#panel-cases-count")).to_have_text("0")
        page.screenshot(path=str(artifacts / "command-screen.png"), full_page=True)
        # drill down: the worst unit first, then its street
        page.click("#panel-rankings a[data-unit='D1']")
        expect(page.locator("[data-testid=screen-crumbs]")).to_contain_text("甲区")
        expect(page.locator("#command-screen")).to_have_attribute("data-loaded", "1")
        expect(page.locator("#command-screen")).to_have_attribute("data-map", "tiles")  # no outlines below D1
        page.click("#panel-rankings a[data-unit='S1']")
        expect(page.locator("[data-testid=screen-crumbs]")).to_contain_text("甲街道")
        expect(page.locator("#command-screen")).to_have_attribute("data-loaded", "1")
        expect(page.locator("[data-indicator='leads.overdue'] .kpi-value")).to_have_text("1")
        # down to the grid: G1 holds the overdue lead, G2 none
        page.click("#panel-rankings a[data-unit='G1']")
        expect(page.locator("[data-testid=screen-crumbs]")).to_contain_text("一网格")
        expect(page.locator("#command-screen")).to_have_attribute("data-loaded", "1")
        overdue = page.locator("[data-indicator='leads.overdue']")
        expect(overdue.locator(".kpi-value")).to_have_text("1")
        expect(overdue).to_have_class(re.compile("status-amber"))  # 1–2 overdue: amber by default
        # the red number (2 of G1's 4 leads cleared) opens the scoped list behind it: G1's leads of the day
        cleared = page.locator("[data-indicator='leads.cleared_same_day']")
        expect(cleared.locator(".kpi-value")).to_have_text("50.00%")
        expect(cleared).to_have_class(re.compile("status-red"))
        cleared.click()
        expect(page).to_have_url(served.base + "/leads?day=2022-04-18&unit=G1")
        expect(page.locator("[data-testid^=lead-row-]")).to_have_count(4)  # 戊 of G2 is not among them
        page.go_back()
        expect(page.locator("#command-screen")).to_have_attribute("data-loaded", "1")
        # the overdue number opens G1's overdue leads, the phone masked
        overdue.click()
        expect(page).to_have_url(served.base + "/leads?overdue=1&unit=G1")
        expect(page.locator("body")).to_contain_text("前一天")
        expect(page.locator("body")).not_to_contain_text("13700000000")
        assert errors == []
