"""The citizen's own antigen self-test page (抗原自测上报) on a 360-px phone, in a real browser (Debian
chromium driven by Playwright), with no sign-in: the form fits the phone's width, a positive with the
cassette's photo tells the resident to stay home and wait for the PCR confirmation, and is stored once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from sentinel_factories import NOW, build_city
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.people import service as people_service

pytestmark = pytest.mark.browser
ID = "110101199003077571"
PHONE = "13900139000"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, int]:
        c = build_city(session, "sb")
        person = people_service.register_person(session, SYSTEM_ACTOR, name="钱七", id_number=ID, phone=PHONE,
                                                unit_id=c.district.id)
        return {"person": person.id}

    return live_site(build)


def test_citizen_reports_a_positive_self_test_on_a_360px_phone(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    from fangkong.surveillance.models import AntigenResult

    ctx = chromium.new_context(locale="zh-CN", viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = ctx.new_page()
    phone.set_default_timeout(BROWSER_TIMEOUT_MS)
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.goto(served.base + "/self-test")
    expect(phone.locator("h1")).to_have_text("抗原自测上报")
    assert phone.locator("input[name=tested_at]").input_value()  # the test time defaults to now
    phone.fill("#id_number", ID)
    phone.fill("#phone", "13700137000")  # not the registered phone
    phone.check("input[name=result][value=positive]")
    phone.click("[data-testid=self-test-submit]")
    expect(phone.locator("[data-testid=self-test-none]")).to_contain_text("没有与该身份证号和手机号相符的记录")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.fill("#id_number", ID)
    phone.fill("#phone", PHONE)
    phone.check("input[name=result][value=positive]")
    phone.set_input_files("#photo", files=[{"name": "cassette.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    phone.click("[data-testid=self-test-submit]")
    expect(phone.locator("[data-testid=self-test-positive]")).to_contain_text("居家")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(artifacts / "self-test-360.png"), full_page=True)
    assert not errors
    with served.factory() as session:
        rows = session.execute(select(AntigenResult)).scalars().all()
        assert [(r.source_kind, r.result, r.person_id) for r in rows] == [("self", "positive", served.data["person"])]
