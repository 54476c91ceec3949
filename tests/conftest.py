"""Test fixtures: a real database per backend (SQLite file; PostgreSQL when FANGKONG_TEST_DATABASE_URL
is set), migrated once with Alembic and seeded by `initialise`; each test runs in an outer
transaction that is rolled back, so tests never see each other's rows.

Every test that asks for `session` (or anything built on it) runs once per backend.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

TEST_KEY = base64.b64encode(b"k" * 32).decode()
os.environ.setdefault("FANGKONG_SECRET_KEY", TEST_KEY)
os.environ.setdefault("FANGKONG_TIMEZONE", "Asia/Shanghai")

from fangkong.kernel import clock, db  # noqa: E402
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor  # noqa: E402
from fangkong.kernel.bootstrap import initialise  # noqa: E402
from fangkong.settings import reset_settings_cache  # noqa: E402

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


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"db-{backend}")
    os.environ["FANGKONG_DATA_DIR"] = str(tmp)
    reset_settings_cache()
    engine, schema = _make_backend_engine(backend, tmp)
    db.set_engine(engine)
    with Session(engine) as session:
        initialise(engine, session, mode="test")
        session.commit()
    yield engine
    db.set_engine(None)
    engine.dispose()
    if schema:
        admin = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"])
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
