"""The grid worker's path in a real browser (Debian chromium driven by Playwright).

A uvicorn server in a background thread on a free port serves a fresh SQLite file database; the
browser signs in, opens the inbox, follows the task to its person, unmasks the ID number; then the
audit log must hold the view and the unmask. Screenshots go to test-artifacts/ (git-ignored).
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
from web_world import ID_A, PASSWORD, World, build_world

from fangkong.app import create_app
from fangkong.kernel import db
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.people import crypto
from fangkong.settings import reset_settings_cache

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
    world: World


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A fresh test-mode database with a small world, served by uvicorn on a free port."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    reset_settings_cache()
    crypto.reset_keys()
    engine = db.make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        initialise(engine, session, mode="test")
        world = build_world(session)
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
        yield Served(f"http://127.0.0.1:{port}", factory, world)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        monkeypatch.undo()
        reset_settings_cache()
        crypto.reset_keys()


def test_grid_worker_unmasks_an_id_number_from_the_inbox(served: Served) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium "
                    "fonts-wqy-microhei); the browser test never downloads a browser")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    w = served.world
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(5000)

            page.goto(served.base + "/login")
            expect(page.locator("h1")).to_have_text("登录")
            page.screenshot(path=str(ARTIFACTS / "login.png"))
            page.fill("#username", w.worker_username)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(served.base + "/")
            expect(page.locator(".who-name")).to_have_text("李网格")

            page.click("nav.main-nav >> text=任务")
            page.wait_for_url("**/tasks")
            card = page.locator(f"[data-testid=task-{w.task_id}]")
            expect(card).to_contain_text("核查返常人员信息")
            expect(card).to_contain_text("花园社区第一网格")
            page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)

            page.click(f"[data-testid=task-person-{w.task_id}]")
            page.wait_for_url(f"**/persons/{w.person_a_id}")
            masked = ID_A[:6] + "********" + ID_A[-4:]
            expect(page.locator("#field-id_number")).to_contain_text(masked)
            assert ID_A not in page.content()
            page.screenshot(path=str(ARTIFACTS / "person-before-unmask.png"), full_page=True)

            page.click("[data-testid=unmask-id_number]")
            expect(page.locator("[data-testid=full-id_number]")).to_have_text(ID_A)
            page.screenshot(path=str(ARTIFACTS / "person-after-unmask.png"), full_page=True)

            # the inbox on a phone: readable without sideways scrolling
            phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="zh-CN",
                                        storage_state=context.storage_state())
            small = phone.new_page()
            small.set_default_timeout(5000)
            small.goto(served.base + "/tasks")
            expect(small.locator(f"[data-testid=task-{w.task_id}]")).to_be_visible()
            assert small.evaluate("document.documentElement.scrollWidth") <= 390
            small.screenshot(path=str(ARTIFACTS / "inbox-phone.png"), full_page=True)
        finally:
            browser.close()

    with served.factory() as session:
        events = session.execute(select(AuditEvent).where(
            AuditEvent.object_type == "person", AuditEvent.object_id == str(w.person_a_id),
            AuditEvent.action.in_(["person.view", "person.unmask"]))).scalars().all()
    by_worker = [(e.action, e.detail.get("field")) for e in events if e.actor_name == w.worker_username]
    assert ("person.view", None) in by_worker
    assert ("person.unmask", "id_number") in by_worker
