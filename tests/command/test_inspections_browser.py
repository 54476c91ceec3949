"""In a real browser (督查整改闭环): a finding at a venue rectified by the grid with a photo, verified by the
inspector (a second person), published by the command centre, and shown rectified on the public list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import signed_in_page
from command_factories import NOW, H, actor, build_tree
from sqlalchemy.orm import Session

from fangkong.command.service import inspections
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.places import service as places_service

PASSWORD = "correct-horse-9"


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> int:
        tree = build_tree(session)
        places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name="万达广场", ref="V-1", unit_id=tree.g1.id,
                                    capacity=100, category="mall", address_text="幸福路1号")
        for name, role, unit in (("inspector1", "inspector", tree.root), ("grid1", "grid", tree.g1),
                                 ("chief", "command", tree.root)):
            auth_service.create_user(session, SYSTEM_ACTOR, username=name, role=role, unit_code=unit.code,
                                     password=PASSWORD)
        with clock.frozen(NOW):
            finding, _rect = inspections.record_finding(session, actor(tree.root, "inspector", "inspector1"),
                                                        kind="unannounced", venue_ref="V-1", item="scan_not_enforced",
                                                        severity="high", note="入口无人查码")
        return finding.id

    return live_site(build)


def _as(chromium: Any, base: str, username: str) -> Any:
    return signed_in_page(chromium, base, username, PASSWORD)


@pytest.mark.browser
def test_finding_rectified_verified_published(served: Any, chromium: Any, artifacts: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    fid = served.data
    photo = tmp_path / "整改照片.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 photo of the scan post")
    with clock.frozen(NOW + 2 * H):
        grid = _as(chromium, served.base, "grid1")
        grid.goto(served.base + "/command/findings")
        grid.click(f"[data-finding='{fid}'] a")
        expect(grid.locator("[data-testid=rect-status]")).to_have_text("整改中")
        grid.fill("[data-testid=close-form] textarea[name=note]", "已安排专人在入口查验场所码")
        grid.set_input_files("[data-testid=close-form] input[name=evidence]", str(photo))
        grid.click("[data-testid=close-form] button[type=submit]")
        expect(grid.locator("[data-testid=rect-status]")).to_have_text("待复核")
        expect(grid.locator("[data-testid=evidence]")).to_contain_text("整改照片.jpg")
        assert grid.locator("[data-testid=verify-form]").count() == 0  # a grid worker does not verify

    with clock.frozen(NOW + 3 * H):
        insp = _as(chromium, served.base, "inspector1")
        insp.goto(f"{served.base}/command/findings/{fid}")
        insp.click("[data-testid=verify-form] button[value='1']")
        expect(insp.locator("[data-testid=rect-status]")).to_have_text("已整改")
        expect(insp.locator("[data-testid=verified]")).to_contain_text("inspector1")

    with clock.frozen(NOW + 4 * H):
        chief = _as(chromium, served.base, "chief")
        chief.goto(f"{served.base}/command/findings/{fid}")
        chief.click("[data-testid=publish]")
        expect(chief.locator("[data-testid=published]")).to_be_visible()
        public = chromium.new_context(locale="zh-CN").new_page()  # no sign-in
        public.goto(served.base + "/public/exposure")
        row = public.locator(f"[data-exposure='{fid}']")
        expect(row).to_contain_text("万达广场")
        expect(row).to_contain_text("未落实扫码查验")
        expect(row).to_contain_text("已整改 (2022-04-18)")
        public.screenshot(path=str(artifacts / "command-exposure.png"), full_page=True)
