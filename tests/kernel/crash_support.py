"""Shared by the crash tests: a fresh database per backend for a served process, the CLI's audit check,
and cutting a server's PostgreSQL connections (the stand-in for a database restart)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from fangkong.kernel import db

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@dataclass
class CrashDb:
    backend: str
    #: the URL the served process and CLI subprocesses use (on PostgreSQL tagged with `app_name`)
    url: str
    #: the URL the test reads with (not tagged: cutting the server's connections leaves it alone)
    check_url: str
    app_name: str
    tmp: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "FANGKONG_DATA_DIR": str(self.tmp), "FANGKONG_DATABASE_URL": self.url,
                "LANG": "en_US.UTF-8"}


@contextmanager
def crash_database(backend: str, tmp: Path) -> Iterator[CrashDb]:
    """A fresh SQLite file, or a fresh schema in the test PostgreSQL database (dropped afterwards)."""
    app_name = f"fk_crash_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'fangkong.db'}"
        yield CrashDb(backend, url, url, app_name, tmp)
        return
    base = os.environ["FANGKONG_TEST_DATABASE_URL"]
    schema = f"crash_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        check = f"{base}?options=-csearch_path%3D{schema}"
        yield CrashDb(backend, f"{check}&application_name={app_name}", check, app_name, tmp)
    finally:
        terminate_backends(app_name)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def terminate_backends(app_name: str) -> int:
    """`pg_terminate_backend` every connection a served process (or CLI) holds: what its pool sees when
    PostgreSQL restarts. The shared PostgreSQL service itself is never restarted by a test."""
    admin = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"])
    try:
        with admin.begin() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"), {"name": app_name}).all())
    finally:
        admin.dispose()


def fangkong(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the `fangkong` CLI of this checkout (the test's PYTHONPATH) in a subprocess."""
    return subprocess.run([sys.executable, "-m", "fangkong", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


