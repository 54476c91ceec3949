"""A database of a test's own, for tests whose commits must be real (servers, several engines,
subprocesses): a SQLite file under the test's directory, or a fresh schema of the PostgreSQL test
database, dropped afterwards. The suite's shared database rolls each test back and cannot serve them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

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
