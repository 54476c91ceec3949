"""Backup and restore (备份与恢复), as an operator runs them: a lost server comes back from its backup.

A small demo city is backed up with `fangkong backup`; a fresh data directory (a new machine) is
restored with `fangkong restore`; every table's rows, the audit chain and its head, and the encrypted
ID and phone numbers (readable with the restored key) must be the same. On PostgreSQL the restore goes
into a new database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cli_runner import CliRun, run_cli
from sqlalchemy import text

from fangkong.kernel import db
from fangkong.kernel.backup import service as backup_service

PASSPHRASE = "correct horse battery staple"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


def _env(data: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
    env.update(FANGKONG_DATA_DIR=str(data), LANG="en_US.UTF-8")
    if url:
        env["FANGKONG_DATABASE_URL"] = url
    return env


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> CliRun:
    return run_cli(*args, env=env, input=stdin)


def _pg_database(name: str) -> str:
    base = os.environ["FANGKONG_TEST_DATABASE_URL"]
    admin = db.make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(name: str) -> None:
    admin = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _people(url: str, key_dir: Path) -> list[tuple[int, str | None]]:
    """Every person's phone, decrypted with the key of `key_dir` (in a child process: keys are cached)."""
    code = ("import json,sys; from sqlalchemy import select; from fangkong.kernel import db; "
            "from fangkong.kernel.people.models import Person; from fangkong.kernel.people import crypto; "
            "e=db.make_engine(sys.argv[1]); c=e.connect(); "
            "rows=c.execute(select(Person.id, Person.phone_enc).order_by(Person.id)).all(); "
            "print(json.dumps([[i, crypto.decrypt(p) if p else None] for i,p in rows]))")
    env = _env(key_dir, None)
    done = subprocess.run([sys.executable, "-c", code, url], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return [tuple(r) for r in json.loads(done.stdout)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lost_server_is_restored_from_its_backup(tmp_path, backend):
    created: list[str] = []
    if backend == "sqlite":
        src_url, dst_url = f"sqlite:///{tmp_path / 'a' / 'fangkong.db'}", f"sqlite:///{tmp_path / 'c' / 'fangkong.db'}"
    else:
        created = [f"fk_src_{uuid.uuid4().hex[:8]}", f"fk_dst_{uuid.uuid4().hex[:8]}"]
        src_url, dst_url = _pg_database(created[0]), _pg_database(created[1])
    try:
        old = _env(tmp_path / "a", src_url)
        assert _run(old, "init").returncode == 0
        demo = _run(old, "demo", "--persons", "400", "--leads", "40")
        assert demo.returncode == 0, demo.stderr
        backed = _run(old, "backup", "--out", str(tmp_path / "b"), "--passphrase-stdin", "--json",
                      stdin=PASSPHRASE + "\n")
        assert backed.returncode == 0, backed.stderr
        report = json.loads(backed.stdout)
        backup_dir, key_file = Path(report["directory"]), Path(report["key_file"])
        assert key_file.parent != backup_dir  # the key is kept apart from the data
        assert oct(backup_dir.stat().st_mode & 0o777) == "0o700"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        sealed = key_file.read_text()
        key_b64 = (tmp_path / "a" / "secret.key").read_text().strip()
        assert key_b64 not in sealed and key_b64 not in "".join(
            p.read_text(errors="ignore") for p in backup_dir.iterdir() if p.suffix == ".json")

        new = _env(tmp_path / "c", dst_url)  # a new machine: nothing but the backup and the key
        wrong = _run(new, "restore", str(backup_dir), "--key", str(key_file), "--passphrase-stdin",
                     stdin="not the passphrase\n")
        assert wrong.returncode == 1 and "passphrase" in wrong.stderr
        restored = _run(new, "restore", str(backup_dir), "--key", str(key_file), "--passphrase-stdin", "--json",
                        stdin=PASSPHRASE + "\n")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        answer = json.loads(restored.stdout)
        assert answer["ok"] and answer["mismatches"] == [] and answer["audit_events"] > 0

        src, dst = db.make_engine(src_url), db.make_engine(dst_url)
        try:
            assert backup_service.row_counts(dst) == backup_service.row_counts(src)
            assert backup_service.audit_head(dst) == backup_service.audit_head(src)
        finally:
            src.dispose()
            dst.dispose()
        assert _run(new, "audit", "verify").returncode == 0
        people = _people(dst_url, tmp_path / "c")
        assert people == _people(src_url, tmp_path / "a") and any(phone for _, phone in people)
        again = _run(new, "restore", str(backup_dir), "--key", str(key_file), "--passphrase-stdin",
                     stdin=PASSPHRASE + "\n")
        assert again.returncode == 1 and "not empty" in again.stderr  # never over data by accident
    finally:
        for name in created:
            _drop_pg_database(name)


def test_a_short_passphrase_is_refused_before_anything_is_written(tmp_path):
    env = _env(tmp_path / "a", None)
    assert _run(env, "init").returncode == 0
    short = _run(env, "backup", "--out", str(tmp_path / "b"), "--passphrase-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    assert not (tmp_path / "b").exists()
