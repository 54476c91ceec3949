"""The inspection page (查验) in a real browser on a 360 px phone: a checkpoint officer signs in, follows the
menu to 查验, records a car with two persons and a truck on an e-pass, then a third vehicle while the
phone is offline: it waits in the queue and goes once, by its client id, when the network is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import click_menu
from cp_factories import ID_A, ID_B
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import CheckpointRecord
from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        s = SYSTEM_ACTOR
        district = jurisdictions_service.create_unit(session, s, code="CB1", name="武进区", level="district",
                                                     parent_code=None)
        cp = checkpoints_service.create_checkpoint(session, s, name="武进高速出口", kind="highway_exit", ref="K1",
                                                   unit_id=district.id)
        auth_service.create_user(session, s, username="officer", role="checkpoint", unit_code=district.code,
                                 password=PASSWORD, display_name="卡口民警")
        return {"checkpoint": cp.id}

    return live_site(build)


def test_a_car_and_a_truck_on_a_phone_and_an_offline_entry(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60000)
    page.goto(served.base + "/login")
    page.fill("#username", "officer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")
    click_menu(page, href="/checkpoints/inspect")
    page.wait_for_url("**/checkpoints/inspect")

    # a car, two persons: one passes, one is sampled on the spot
    page.check("input[name=direction][value=in]")
    page.fill("#plate", "苏D12345")
    page.select_option("#vehicle_type", "car")
    page.fill("#p1_id_number", ID_A)
    page.fill("input[name=p1_name]", "张三")
    page.fill("#p2_id_number", "13812345678")  # a phone typed in the first box goes to the phone field
    page.check("input[name=p2_decision][value=test]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # one column, no sideways scrolling
    page.screenshot(path=str(artifacts / "inspect-phone.png"), full_page=True)
    page.click("[data-testid=inspect-submit]")
    expect(page.locator("[data-testid=inspect-done] [data-status=accepted]")).to_have_count(2)

    # a truck on an e-pass: the driver is followed by the trip
    page.check("input[name=direction][value=in]")
    page.fill("#plate", "沪A99999")
    page.select_option("#vehicle_type", "truck")
    page.fill("#epass_no", "320400000001")
    page.fill("#p1_id_number", ID_B)
    page.select_option("select[name=p1_role]", "driver")
    page.fill("input[name=p1_destination]", "常州市武进区")
    page.click("[data-testid=inspect-submit]")
    expect(page.locator("[data-testid=inspect-done]")).to_contain_text("行程")

    # offline: the entry waits in the queue, then goes once when the network is back
    context.set_offline(True)
    page.fill("#plate", "苏D77777")
    page.fill("#p1_id_number", "13900001111")
    page.click("[data-testid=inspect-submit]")
    expect(page.locator("[data-testid=queue-status]")).to_be_visible()
    assert page.evaluate("JSON.parse(localStorage.getItem('fk-inspect-queue')).length") == 1
    context.set_offline(False)
    expect(page.locator("[data-testid=queue-status]")).to_be_hidden()
    assert page.evaluate("JSON.parse(localStorage.getItem('fk-inspect-queue')).length") == 0

    with served.factory() as session:
        rows = session.execute(select(CheckpointRecord.plate, CheckpointRecord.vehicle_type, CheckpointRecord.role,
                                      CheckpointRecord.decision, CheckpointRecord.epass_no, CheckpointRecord.trip_id,
                                      CheckpointRecord.source).order_by(CheckpointRecord.id)).all()
    assert [(r.plate, r.vehicle_type, r.role, r.decision, r.epass_no, r.trip_id is not None, r.source)
            for r in rows] == [
        ("苏D12345", "car", None, "pass", None, False, "page"),
        ("苏D12345", "car", None, "test", None, False, "page"),
        ("沪A99999", "truck", "driver", "pass", "320400000001", True, "page"),
        ("苏D77777", None, None, "pass", None, False, "page"),
    ]
