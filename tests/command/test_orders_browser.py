"""In a real browser (指令上下贯通): the command centre issues an order to two districts; one relays it to
its street, which acknowledges the sub-order; the other does not, and the escalation job on the test
clock marks it chased; the issuer sees all of it on the order's page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_support import signed_in_page
from command_factories import NOW, H, build_tree
from sqlalchemy.orm import Session

from fangkong.command.jobs import order_escalation
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

PASSWORD = "correct-horse-9"


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> None:
        tree = build_tree(session)
        for name, role, unit in (("chief", "command", tree.root), ("dist1", "district", tree.d1),
                                 ("street1", "street", tree.s1), ("dist2", "district", tree.d2)):
            auth_service.create_user(session, SYSTEM_ACTOR, username=name, role=role, unit_code=unit.code,
                                     password=PASSWORD)

    return live_site(build)


def _as(chromium: Any, base: str, username: str) -> Any:
    return signed_in_page(chromium, base, username, PASSWORD)


@pytest.mark.browser
def test_order_relayed_acknowledged_escalated(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    with clock.frozen(NOW):
        chief = _as(chromium, served.base, "chief")
        chief.goto(served.base + "/orders")
        form = chief.locator("[data-testid=issue-form]")
        form.locator("input[name=title]").fill("全员核酸动员")
        form.locator("input[name=to]").fill("D1,D2")
        form.locator("button[type=submit]").click()
        expect(chief.locator("[data-testid=order-title]")).to_contain_text("全员核酸动员")
        order_url = chief.url
        expect(chief.locator("[data-target=D1] [data-testid=status]")).to_have_text("待签收")

    with clock.frozen(NOW + H):
        d1 = _as(chromium, served.base, "dist1")
        d1.goto(order_url)
        d1.check("[data-testid=relay-form] input[value=S1]")
        d1.click("[data-testid=relay-form] button[type=submit]")
        expect(d1.locator("[data-target=S1] [data-testid=status]")).to_have_text("待签收")
        sub_url = d1.url
        assert sub_url != order_url

    with clock.frozen(NOW + H + 0.5 * H):
        s1 = _as(chromium, served.base, "street1")
        s1.goto(sub_url)
        s1.click("[data-testid=ack]")
        expect(s1.locator("[data-target=S1] [data-testid=status]")).to_have_text("已签收")

    # 3 h after issue: D2 never acknowledged (2 h): the job escalates it
    with clock.frozen(NOW + 3 * H), served.factory() as session:
        assert order_escalation(session) == {"escalated": 1, "overdue": 0}
        session.commit()

    with clock.frozen(NOW + 3 * H):
        chief = _as(chromium, served.base, "chief")  # signed in again: the test clock moved past the idle limit
        chief.goto(order_url)
        expect(chief.locator("[data-testid=targets] > table > tbody > [data-target=D1] > [data-testid=status]")
               ).to_have_text("已签收")  # relaying acknowledges
        expect(chief.locator("[data-target=S1] [data-testid=status]")).to_have_text("已签收")
        expect(chief.locator("[data-target=D2] [data-testid=status]")).to_have_text("超时未签收(已督促)")
        chief.screenshot(path=str(artifacts / "command-order.png"), full_page=True)
        d2 = _as(chromium, served.base, "dist2")
        d2.goto(order_url)
        expect(d2.locator("[data-testid=my-target]")).to_contain_text("超时未签收(已督促)")
