"""A district officer presses 导出 on the task inbox in a real browser (Debian chromium via Playwright)
and gets the people's XLSX: Chinese headers, the task with its unit's name, masked, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from browser_support import BROWSER_TIMEOUT_MS
from sqlalchemy import select
from web_world import PASSWORD, add_user, build_world

from fangkong.kernel.audit.models import AuditEvent

pytestmark = pytest.mark.browser


def _world_with_chief(session: Any) -> Any:
    world = build_world(session)
    add_user(session, "chief", "district", world.district)
    return world


def test_export_button_downloads_the_task_list(live_site: Any, chromium: Any, artifacts: Path, tmp_path: Path):
    from playwright.sync_api import expect

    served = live_site(_world_with_chief)
    w = served.data
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(served.base + "/login")
    page.fill("#username", "chief")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")
    page.goto(served.base + "/tasks?tab=open")
    button = page.locator("[data-testid=export-tasks]")
    expect(button).to_have_text("导出")
    expect(button).to_be_visible()
    page.screenshot(path=str(artifacts / "tasks-export-button.png"), full_page=True)
    with page.expect_download(timeout=30000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename.startswith("任务清单-") and download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "tasks.xlsx"
    download.save_as(str(path))
    ws = openpyxl.load_workbook(path).worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    header = rows[0]
    assert header[:4] == ["任务编号", "任务类型", "任务类型名称", "任务"]
    task = dict(zip(header, rows[1], strict=True))
    assert (task["任务编号"], task["任务"], task["责任单位"]) == (w.task_id, "核查返常人员信息", "花园社区第一网格")
    assert (task["状态"], task["状态名称"], task["姓名"]) == ("open", "待办", "王小明")
    with served.factory() as session:
        ev = session.execute(select(AuditEvent).where(AuditEvent.action == "data.exported")).scalars().all()
    assert [(e.actor_name, e.detail["kind"], e.detail["filter"]) for e in ev] == [("chief", "tasks", {"tab": "open"})]
    context.close()
