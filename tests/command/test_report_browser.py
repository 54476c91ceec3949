"""In a real browser: the day after, the screen's daily report of the frozen day downloaded as XLSX and
PDF; its 数据 sheet equals `GET /api/v1/command/indicators` row for row, and the PDF states the cut-off
and shows the API's figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pypdf
import pytest
from browser_support import BROWSER_TIMEOUT_MS
from command_factories import CUTOFF, DAY, H, build_tree, leads_of_the_day
from sqlalchemy.orm import Session

from fangkong.command import service
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> None:
        tree = build_tree(session)
        leads_of_the_day(session, tree)
        auth_service.create_user(session, SYSTEM_ACTOR, username="chief", role="command", unit_code=tree.root.code,
                                 password=PASSWORD)
        with clock.frozen(CUTOFF + 2 * H):
            service.take_snapshot(session, SYSTEM_ACTOR, day=DAY)

    return live_site(build)


@pytest.mark.browser
def test_daily_report_equals_the_api(served: Any, chromium: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with clock.frozen(CUTOFF + 3 * H):
        page = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                    accept_downloads=True).new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        page.goto(served.base + "/login")
        page.fill("#username", "chief")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(served.base + "/command/screen")
        expect(page.locator("#command-screen")).to_have_attribute("data-loaded", "1")
        files = {}
        for fmt in ("xlsx", "pdf"):
            with page.expect_download() as info:
                page.click(f"[data-testid=report-{fmt}]")
            files[fmt] = tmp_path / f"daily.{fmt}"
            info.value.save_as(files[fmt])
        api = page.request.get(served.base + f"/api/v1/command/indicators?day={DAY.isoformat()}")
        assert api.ok, api.text()
        body = api.json()

    assert body["frozen"] and body["version"] == 1
    wb = openpyxl.load_workbook(files["xlsx"])
    sheet = [[c.value for c in r] for r in wb["数据"].iter_rows()]
    assert sheet[0] == service.COLUMNS
    assert sheet[1:] == [[None if r[c] in ("", None) else r[c] for c in service.COLUMNS] for r in body["rows"]]
    assert "截止时间 2022-04-19 00:00" in wb["线索核查"]["A2"].value
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(files["pdf"])).pages)
    root = {r["indicator"]: r for r in body["rows"] if r["level"] == "city"}
    assert root["leads.cleared_same_day"]["value"] == 0.4  # 2 of the 5 leads of the day, by hand
    assert "截止时间 2022-04-19 00:00" in text and "未截止" not in text and "40.00%" in text
