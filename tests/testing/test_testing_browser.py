"""A sampler fills a 10-in-1 tube on a phone-sized screen (Debian chromium driven by Playwright).

A uvicorn server in a background thread on a free port serves a fresh SQLite file database (the same
pattern as tests/web/test_browser.py); the sampler signs in on a 390×844 touch screen, starts a pooled
tube, enters ten persons by ID or phone, is refused the same person twice with a clear message, sees
the tube close at ten, and the page never scrolls sideways. Screenshots go to test-artifacts/.
"""

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
from testing_factories import Tree, build_tree, make_id, person, phone

from fangkong.app import create_app
from fangkong.kernel import db
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.models import RolePermission
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.people import crypto
from fangkong.settings import reset_settings_cache
from fangkong.testing.models import Tube, TubeSample

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct-horse-9"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    factory: sessionmaker[Session]
    tree: Tree


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A fresh test-mode database with a sampler and ten registered persons, served on a free port."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    reset_settings_cache()
    crypto.reset_keys()
    engine = db.make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        initialise(engine, session, mode="test")
        tree = build_tree(session)
        for perm in ("testing.sample", "place.view"):
            if session.get(RolePermission, ("sampler", perm)) is None:
                session.add(RolePermission(role_code="sampler", permission=perm))
        auth_service.create_user(session, SYSTEM_ACTOR, username="sampler_a", role="sampler",
                                 unit_code=tree.grid_a.code, password=PASSWORD, display_name="采样员甲")
        for i in range(1, 11):
            person(session, i, tree.grid_a)
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
        yield Served(f"http://127.0.0.1:{port}", factory, tree)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        monkeypatch.undo()
        reset_settings_cache()
        crypto.reset_keys()


def test_sampler_fills_a_ten_in_one_tube_on_a_phone(served: Served) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium "
                    "fonts-wqy-microhei); the browser test never downloads a browser")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                            is_mobile=True, has_touch=True, locale="zh-CN")
            page = phone_ctx.new_page()
            page.set_default_timeout(5000)
            page.goto(served.base + "/login?next=/sampling")
            page.fill("#username", "sampler_a")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/sampling")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.select_option("#point", str(served.tree.point.id))
            page.fill("[data-testid=tube-barcode]", "hs-2022-0001")
            expect(page.locator("[data-testid=pool-size]")).to_have_value("10")  # the policy's default
            page.screenshot(path=str(ARTIFACTS / "sampling-start-phone.png"), full_page=True)
            page.click("[data-testid=open-tube]")
            page.wait_for_url("**/sampling/tubes/HS-2022-0001")
            expect(page.locator("[data-testid=tube-count]")).to_contain_text("0 / 10")

            for i in range(1, 11):
                page.fill("[data-testid=person-input]", make_id(i) if i % 3 else phone(i))
                page.click("[data-testid=add-person]")
                if i == 4:
                    # the same person again: refused, clearly
                    expect(page.locator("[data-testid=sample-added]")).to_contain_text("4")
                    page.fill("[data-testid=person-input]", make_id(4))
                    page.click("[data-testid=add-person]")
                    expect(page.locator("[data-testid=sample-error]")).to_contain_text("已在试管 HS-2022-0001 中")
                    page.screenshot(path=str(ARTIFACTS / "sampling-duplicate-phone.png"), full_page=True)
                    assert page.evaluate("document.documentElement.scrollWidth") <= 390
            expect(page.locator("[data-testid=tube-closed]")).to_contain_text("10")
            expect(page.locator("[data-testid=tube-count]")).to_contain_text("10 / 10")
            expect(page.locator("[data-testid=tube-persons] li")).to_have_count(10)
            assert page.locator("[data-testid=person-input]").count() == 0
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "sampling-closed-phone.png"), full_page=True)
            page.click("[data-testid=next-tube]")
            page.wait_for_url("**/sampling?point=*")
        finally:
            browser.close()

    with served.factory() as session:
        tube = session.execute(select(Tube).where(Tube.barcode == "HS-2022-0001")).scalar_one()
        n = len(session.execute(select(TubeSample).where(TubeSample.tube_id == tube.id)).scalars().all())
        assert (tube.status, tube.pool_size, n, tube.sampling_point_id) == ("closed", 10, 10, served.tree.point.id)
