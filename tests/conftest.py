"""Test fixtures: a real database per backend (SQLite file; PostgreSQL when FANGKONG_TEST_DATABASE_URL
is set), migrated once with Alembic and seeded by `initialise`; each test runs in an outer
transaction that is rolled back, so tests never see each other's rows.

Every test that asks for `session` (or anything built on it) runs once per backend.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

TEST_KEY = base64.b64encode(b"k" * 32).decode()
os.environ.setdefault("FANGKONG_SECRET_KEY", TEST_KEY)
os.environ.setdefault("FANGKONG_TIMEZONE", "Asia/Shanghai")

from db_template import initialise_sqlite  # noqa: E402

from fangkong.kernel import clock, db  # noqa: E402
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor  # noqa: E402
from fangkong.kernel.bootstrap import initialise  # noqa: E402
from fangkong.settings import reset_settings_cache  # noqa: E402

# Hypothesis judges no test by the clock: its deadline and its "too slow" check are wall-clock
# assertions, and a loaded machine must make the suite slower, never red (speed is for benchmarks).
hypothesis_settings.register_profile("fangkong", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("fangkong")

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


def _make_backend_engine(backend: str, tmp: Path) -> tuple[Engine, str | None]:
    if backend == "sqlite":
        return db.make_engine(f"sqlite:///{tmp / 'test.db'}"), None
    url = os.environ["FANGKONG_TEST_DATABASE_URL"]
    # a schema of our own, so parallel runs on one database never collide
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = db.make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


@dataclass
class _Backend:
    engine: Engine
    data_dir: Path
    schema: str | None


class _Databases:
    """Each backend's test database, migrated and seeded on first use and kept to the end of the session."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.made: dict[str, _Backend] = {}

    def get(self, backend: str) -> _Backend:
        if backend not in self.made:
            tmp = self.tmp_path_factory.mktemp(f"db-{backend}")
            os.environ["FANGKONG_DATA_DIR"] = str(tmp)
            reset_settings_cache()
            engine, schema = _make_backend_engine(backend, tmp)
            db.set_engine(engine)
            with Session(engine) as session:
                initialise(engine, session, mode="test")
                session.commit()
            self.made[backend] = _Backend(engine, tmp, schema)
        return self.made[backend]

    def close(self) -> None:
        for backend in self.made.values():
            backend.engine.dispose()
            if backend.schema:
                admin = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"])
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{backend.schema}" CASCADE'))
                admin.dispose()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    """Kept apart from `engine`: pytest tears a parametrised session fixture down at each change of its
    parameter, which a worker of `pytest -n` (xdist) meets more than once (a group of tests of one module
    holds both backends' tests); only `engine`'s cheap part may run again then, never the migration."""
    databases = _Databases(tmp_path_factory)
    yield databases
    _close_shared_worlds()  # their connections hold transactions open: before the schemas are dropped
    databases.close()


@pytest.fixture
def shares_scope_world() -> None:
    """Asked for by the tests that read `scope_world.shared_world` (the authorization matrix, the scope
    tests): the world stays open from one of them to the next, and is closed before any other test."""


def _close_shared_worlds() -> None:
    import sys

    if "scope_world" in sys.modules:  # imported only by the tests that use it
        sys.modules["scope_world"].close_shared_worlds()


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "shares_scope_world" not in getattr(item, "fixturenames", ()):
        _close_shared_worlds()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, _databases: _Databases) -> Iterator[Engine]:
    backend = _databases.get(request.param)
    os.environ["FANGKONG_DATA_DIR"] = str(backend.data_dir)
    reset_settings_cache()
    db.set_engine(backend.engine)
    yield backend.engine
    db.set_engine(None)


@pytest.fixture
def connection(engine: Engine) -> Iterator:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    if trans.is_active:
        trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    """Sessions joined to the test's outer transaction: their commits become savepoint releases."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def system() -> Actor:
    return SYSTEM_ACTOR


@pytest.fixture(autouse=True)
def _test_mode_clock() -> Iterator[None]:
    clock.configure("test")
    yield


# --- a served site and a real browser, for the browser tests --------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@dataclass
class LiveSite:
    base: str
    factory: sessionmaker[Session]
    data: Any


@pytest.fixture
def live_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., LiveSite]]:
    """Start the platform on a fresh test-mode SQLite file: `live_site(build)` runs `build(session)`
    (committed), serves the app with uvicorn on a free port and returns where, with what `build` gave."""
    import socket
    import threading
    import time

    import uvicorn

    from fangkong.app import create_app
    from fangkong.kernel.people import crypto

    url = f"sqlite:///{tmp_path / 'live.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    reset_settings_cache()
    crypto.reset_keys()
    running: list[tuple[Any, Any, Engine]] = []

    def start(build: Callable[[Session], Any]) -> LiveSite:
        engine = db.make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as session:
            initialise_sqlite(engine, session, mode="test")
            data = build(session)
            session.commit()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(uvicorn.Config(create_app(session_factory=factory), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread, engine))
        deadline = time.monotonic() + 120  # generous: a loaded machine starts slowly
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return LiveSite(f"http://127.0.0.1:{port}", factory, data)

    yield start
    for server, thread, engine in running:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    monkeypatch.undo()
    reset_settings_cache()
    crypto.reset_keys()


@pytest.fixture(scope="session")
def _chromium_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium "
                    "fonts-wqy-microhei); the browser tests never download a browser")
    from browser_support import BROWSER_TIMEOUT_MS
    from playwright.sync_api import expect, sync_playwright

    # waits are for states, with time to spare on a loaded machine (tests set the same for actions)
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def chromium(_chromium_browser: Any) -> Iterator[Any]:
    """Debian chromium driven by Playwright (one browser per run; each test's contexts closed after it).
    Screenshots go to test-artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    yield _chromium_browser
    for context in list(_chromium_browser.contexts):
        context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where browser tests put their screenshots (git-ignored), to be looked at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Heavier variants (`@pytest.mark.heavy`: minutes of crashes, fuzzing or data) run only when asked
    for by name, `pytest -m heavy`, before an issue is resolved; `make test` and CI run the default
    variants, which cover the same paths with fewer examples."""
    if "heavy" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="heavier variant of a test that runs by default (same paths, more examples, "
                                   "kills or data); run before resolving an issue: pytest -m heavy")
    for item in items:
        if item.get_closest_marker("heavy") is not None:
            item.add_marker(skip)
    _slow_first(items)


def _slow_first(items: list[pytest.Item]) -> None:
    """Tests marked `slow` (tens of seconds each: the quick benchmarks, crawls, the API fuzz, crash
    loads) run first, in their collected order: `pytest -n 2` hands tests out in collection order, and
    a long test handed out last leaves the other worker idle at the end. A heavy variant (skipped in the
    default run) is not moved."""
    def first(item: pytest.Item) -> bool:
        return item.get_closest_marker("slow") is not None and item.get_closest_marker("heavy") is None

    items[:] = [i for i in items if first(i)] + [i for i in items if not first(i)]


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A SQLite database of the test's own, initialised and made the platform's engine, for commands run
    in-process (they commit, so the shared rolled-back database cannot serve them); English messages."""
    from fangkong.kernel.people import crypto

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    reset_settings_cache()
    crypto.reset_keys()
    previous = db._engine
    engine = db.make_engine(url)
    with Session(engine) as session:
        initialise_sqlite(engine, session, mode="test")
        session.commit()
    db.set_engine(engine)
    try:
        yield engine
    finally:
        db.set_engine(previous)
        engine.dispose()
        monkeypatch.undo()
        reset_settings_cache()
        crypto.reset_keys()
