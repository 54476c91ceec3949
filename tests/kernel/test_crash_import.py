"""`kill -9` in the middle of a file import (导入中途强杀) holds on PostgreSQL as on SQLite.

`fangkong import leads` of a few thousand rows runs as a subprocess; once it is inside its write
transaction (SQLite: it holds the write lock; PostgreSQL: its connection has written) it is killed with
SIGKILL after a seeded random few milliseconds (KILLS times). After each kill nothing is half-written (every
stored lead has its person, its verification task, its batch with matching counts and its audit entry)
and `fangkong audit verify` passes. Re-running the same file then completes: every row is stored exactly
once, the rest reported as duplicates, and the audit chain verifies.

Written against what an operator observes, not against how an import commits (one transaction or
bounded chunks): either way a killed import may have stored a prefix, never a part of a row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from crash_support import BACKENDS, CrashDb, crash_database, fangkong
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fangkong.intake.models import Lead, LeadBatch
from fangkong.kernel import db
from fangkong.kernel.audit import service as audit
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.people import crypto
from fangkong.kernel.people.identity import id_check_digit
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks.models import Task
from fangkong.settings import reset_settings_cache

ROWS = 3000
KILLS = 1
SEED = int(os.environ.get("FANGKONG_CRASH_SEED", "20261207"))


@pytest.fixture(params=BACKENDS)
def crash_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CrashDb]:
    with crash_database(request.param, tmp_path) as cdb:
        monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("FANGKONG_DATABASE_URL", cdb.check_url)
        reset_settings_cache()
        crypto.reset_keys()
        engine = db.make_engine(cdb.check_url)
        with Session(engine) as session:
            initialise(engine, session, mode="test")
            session.commit()
        engine.dispose()
        yield cdb
    reset_settings_cache()
    crypto.reset_keys()


def _leads_file(path: Path) -> Path:
    lines = ["name,id_number,phone,origin,source_ref"]
    for i in range(ROWS):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=i % 20000)
        first = "320412" + born.strftime("%Y%m%d") + f"{(i // 20000) % 1000:03d}"
        lines.append(f"导入{i},{first + id_check_digit(first)},137{i:08d},上海市浦东新区,IMP-{i:06d}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _writing(cdb: CrashDb) -> bool:
    """Is the import inside its write transaction right now?"""
    if cdb.backend == "sqlite":
        probe = sqlite3.connect(cdb.url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked": a writer holds it
            return True
        finally:
            probe.close()
    engine = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n AND backend_xid IS NOT NULL"),
                {"n": cdb.app_name}).scalar_one())
    finally:
        engine.dispose()


def _kill_mid_import(cdb: CrashDb, leads: Path, rnd: random.Random) -> bool:
    """Start the import, wait until it writes (three looks in a row: not a short start-up transaction),
    then SIGKILL it a random few milliseconds later. True when it was still running at the kill."""
    proc = subprocess.Popen([sys.executable, "-m", "fangkong", "import", "leads", str(leads), "--channel", "community"],
                            env=cdb.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = 0
        for _ in range(6000):  # up to ~5 minutes on a loaded machine
            if proc.poll() is not None:
                return False
            seen = seen + 1 if _writing(cdb) else 0
            if seen >= 3:
                break
            time.sleep(0.05)
        time.sleep(rnd.uniform(0, 0.3))
        alive = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        return alive
    finally:
        proc.wait()


def _count(s: Session, model: type, *where: object) -> int:
    return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _check_whole(cdb: CrashDb) -> int:
    """Nothing half-written; returns how many rows of the file are stored (each exactly once)."""
    engine = db.make_engine(cdb.check_url)
    try:
        with Session(engine) as s:
            assert audit.verify(s).ok
            refs = list(s.execute(select(Lead.source_ref).where(Lead.source_ref.like("IMP-%"))).scalars())
            assert len(refs) == len(set(refs))
            orphans = s.execute(select(func.count()).select_from(Lead).outerjoin(Person, Person.id == Lead.person_id)
                                .outerjoin(Task, Task.id == Lead.verification_task_id)
                                .where(Lead.source_ref.like("IMP-%"), (Person.id.is_(None)) | (Task.id.is_(None))))
            assert orphans.scalar_one() == 0
            audited: dict[int, set[int]] = {}  # batch → leads its audit entries name (one, or one per chunk)
            for e in s.execute(select(AuditEvent).where(AuditEvent.action == "intake.leads_received")).scalars():
                audited.setdefault(int(e.object_id), set()).update(audit.expand_ids(e.detail["lead_ids"]))
            for b in s.execute(select(LeadBatch).where(LeadBatch.via == "file")).scalars():
                ids = set(s.execute(select(Lead.id).where(Lead.batch_id == b.id)).scalars())
                assert b.accepted == len(ids) and audited.get(b.id, set()) == ids, b.id
            assert _count(s, Task, Task.subject_type == "lead") == len(refs)
            return len(refs)
    finally:
        engine.dispose()


def test_kill_9_in_the_middle_of_an_import_leaves_nothing_half_written(crash_db, tmp_path):
    leads = _leads_file(tmp_path / "leads.csv")
    rnd = random.Random(SEED)
    killed_mid, stored_at_kill = 0, []
    for _ in range(KILLS):
        killed_mid += _kill_mid_import(crash_db, leads, rnd)
        stored_at_kill.append(_check_whole(crash_db))
        verified = fangkong(crash_db.env(), "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert killed_mid >= 1, "the import always finished before the kill"
    done = fangkong(crash_db.env(), "import", "leads", str(leads), "--channel", "community", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    counts = {k: summary.get(k, 0) for k in ("accepted", "duplicate", "rejected")}
    assert counts.get("accepted", 0) + counts.get("duplicate", 0) == ROWS and not counts.get("rejected"), counts
    assert counts.get("duplicate", 0) == stored_at_kill[-1]  # what the kills left is reported, not stored again
    assert _check_whole(crash_db) == ROWS
    verified = fangkong(crash_db.env(), "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    print(f"\nimport crash figures: backend={crash_db.backend} rows={ROWS} kills={KILLS} "
          f"killed_mid_import={killed_mid} stored_after_each_kill={stored_at_kill} rerun={counts}")
