"""A database of a test's own, for tests whose commits must be real (servers, several engines,
subprocesses): a SQLite file under the test's directory, or a fresh schema of the PostgreSQL test
database, dropped afterwards. The suite's shared database rolls each test back and cannot serve them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.orm import Session, sessionmaker

from fangkong.kernel import db


@contextmanager
def own_database(backend: str, tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new, empty database of `backend` ("sqlite" or "postgresql"); `name` prefixes it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    schema = f"{name}_{uuid.uuid4().hex[:8]}"
    base = os.environ["FANGKONG_TEST_DATABASE_URL"]
    admin = db.make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _postgres_copy(name: str) -> Iterator[str]:
    """The URL of a new PostgreSQL database, a copy (`CREATE DATABASE … TEMPLATE`) of one this process
    migrated and seeded once under the current settings (`postgres_template`); dropped afterwards."""
    from db_template import postgres_template

    template = postgres_template()
    base = make_url(os.environ["FANGKONG_TEST_DATABASE_URL"])
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{template}"'))
        try:
            yield base.set(database=database).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def initialised_database(backend: str, tmp_path: Path, monkeypatch: Any, name: str
                         ) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """`own_database`, made the configured one (FANGKONG_DATABASE_URL, data dir `tmp_path`), migrated and
    seeded by `initialise`; yields its URL and a session factory. Settings and keys are reset around it.

    Neither backend replays the migrations each time: a SQLite file is a copy of a migrated one, a
    PostgreSQL database a copy of a migrated database (both made once per process, `db_template`);
    `initialise` then runs on the copy as on any existing database."""
    from db_template import initialise_sqlite

    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    made = own_database(backend, tmp_path, name) if backend == "sqlite" else _postgres_copy(name)
    with made as url:
        monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
        reset_settings_cache()
        crypto.reset_keys()
        engine = db.make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        try:
            with factory() as session:
                initialise_sqlite(engine, session, mode="test")  # SQLite: a copy of a migrated file
                session.commit()
            yield url, factory
        finally:
            engine.dispose()
            reset_settings_cache()
            crypto.reset_keys()
