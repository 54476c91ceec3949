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

from sqlalchemy import text
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
def initialised_database(backend: str, tmp_path: Path, monkeypatch: Any, name: str
                         ) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """`own_database`, made the configured one (FANGKONG_DATABASE_URL, data dir `tmp_path`), migrated and
    seeded by `initialise`; yields its URL and a session factory. Settings and keys are reset around it."""
    from db_template import initialise_sqlite

    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    with own_database(backend, tmp_path, name) as url:
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
