"""The scan page in a real browser at phone size with JavaScript switched off (Debian chromium driven
by Playwright): check in, be remembered, check in again with one tap; a forged code is refused."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from venues_factories import ID_A

from fangkong.app import create_app
from fangkong.kernel import db
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.people import crypto
from fangkong.kernel.places import service as places_service
from fangkong.settings import reset_settings_cache
from fangkong.venues.models import Scan
from fangkong.venues.service import codes as codes_service

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    factory: sessionmaker[Session]
    token: str


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'venues-browser.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    reset_settings_cache()
    crypto.reset_keys()
    engine = db.make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        initialise(engine, session, mode="test")
        place = places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name="老街菜市场",
                                            category="market", capacity=3000)
        token = codes_service.issue_code(session, SYSTEM_ACTOR, place_id=place.id).token
        session.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(session_factory=factory), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", factory, token)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        monkeypatch.undo()
        reset_settings_cache()
        crypto.reset_keys()


def test_scan_page_works_without_javascript_on_a_phone(served: Served) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium "
                    "fonts-wqy-microhei); the browser test never downloads a browser")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="zh-CN", java_script_enabled=False)
            page = phone.new_page()
            page.set_default_timeout(5000)
            t0 = time.perf_counter()
            page.goto(served.base + "/v/" + served.token)
            assert time.perf_counter() - t0 < 1.0
            expect(page.locator("[data-testid=venue-name]")).to_have_text("老街菜市场")
            page.screenshot(path=str(ARTIFACTS / "scan-form-phone.png"), full_page=True)
            page.fill("#phone", "13812345678")
            page.fill("#id_number", ID_A)
            page.click("[data-testid=check-in]")
            expect(page.locator("[data-testid=scan-done] h1")).to_have_text("登记成功")
            expect(page.locator("[data-testid=scan-time]")).to_have_text(
                __import__("re").compile(r"^\d{2}:\d{2}:\d{2}$"))
            assert "138****5678" in page.content() and ID_A not in page.content()
            page.screenshot(path=str(ARTIFACTS / "scan-done-phone.png"), full_page=True)

            # the next visit: remembered, one tap
            page.goto(served.base + "/v/" + served.token)
            expect(page.locator("[data-testid=saved-phone]")).to_have_text("138****5678")
            page.click("[data-testid=check-in]")
            expect(page.locator("[data-testid=scan-done]")).to_be_visible()

            # a forged code: a clear refusal
            page.goto(served.base + "/v/" + served.token[:-2] + "zz")
            expect(page.locator("[data-testid=scan-refused] h1")).to_have_text("场所码无效")
            page.screenshot(path=str(ARTIFACTS / "scan-refused-phone.png"), full_page=True)

            # the layout fits a phone without sideways scrolling (measured with scripts on)
            measure = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
            m = measure.new_page()
            m.goto(served.base + "/v/" + served.token)
            assert m.evaluate("document.documentElement.scrollWidth") <= 360
            assert m.evaluate("document.scripts.length") == 0
        finally:
            browser.close()

    with served.factory() as session:
        scans = session.execute(select(Scan.person_id, Scan.source)).all()
    assert len(scans) == 2 and {s.source for s in scans} == {"page"} and len({s.person_id for s in scans}) == 1
