"""A big import commits in bounded chunks (分批提交), on SQLite as on PostgreSQL:

- writers from other connections are never starved: while a lead file is imported in one thread,
  scans recorded from others all succeed, and some of them are stored *between* the import's first
  and last chunk (the audit chain orders them), which cannot happen while one transaction holds the
  file — on SQLite the write lock, on PostgreSQL the audit chain's lock;
- a `fangkong import` killed with SIGKILL after some chunks leaves whole chunks only, and importing the
  same file again stores every row exactly once (the stored ones come back as duplicates).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from own_database import own_database
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.intake.models import Lead
from fangkong.intake.service.ingest import import_leads_file
from fangkong.kernel import db
from fangkong.kernel.audit import service as audit
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.people import crypto
from fangkong.kernel.places import service as places_service
from fangkong.kernel.tabular import allow_chunk_commits
from fangkong.settings import reset_settings_cache
from fangkong.venues.models import Scan
from fangkong.venues.service.scans import ScanItem, record_scans

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])
FANGKONG = Path(sys.executable).with_name("fangkong")
NOW = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
CHUNK = 100


@dataclass
class Fresh:
    url: str
    factory: sessionmaker[Session]
    env: dict[str, str]
    tmp: Path


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fresh]:
    """An initialised database of its own (a SQLite file, or a PostgreSQL schema), chunks of 100 rows
    and a pause after each chunk long enough that SQLite's polling writers always see the gap."""
    own = ExitStack()
    url = own.enter_context(own_database(request.param, tmp_path, "chunks"))
    settings = {"FANGKONG_DATA_DIR": str(tmp_path), "FANGKONG_DATABASE_URL": url,
                "FANGKONG_IMPORT_CHUNK_ROWS": str(CHUNK), "FANGKONG_IMPORT_CHUNK_PAUSE_MS": "150"}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    reset_settings_cache()
    crypto.reset_keys()
    engine = db.make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        initialise(engine, session, mode="test")
        session.commit()
    yield Fresh(url, factory, {**os.environ, **settings, "LANG": "en_US.UTF-8"}, tmp_path)
    engine.dispose()
    own.close()
    monkeypatch.undo()
    reset_settings_cache()
    crypto.reset_keys()


def _leads_file(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source_ref", "姓名", "手机号", "来源地"])
        for i in range(n):
            w.writerow([f"CHUNK-{i:05d}", f"分批{i % 97}", f"139{i:08d}", "上海市"])
    return path


def test_writers_get_in_between_the_chunks_of_a_big_import(fresh: Fresh) -> None:
    n = 1200
    path = _leads_file(fresh.tmp / "leads.csv", n)
    with fresh.factory() as session:
        venue = places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name="分批测试超市",
                                            category="supermarket", ref="V-CHUNK")
        venue_id = venue.id
        session.commit()
    done = threading.Event()
    errors: list[str] = []
    acknowledged: list[str] = []
    outcome: dict[str, object] = {}

    def importer() -> None:
        try:
            with fresh.factory() as session:
                allow_chunk_commits(session)
                outcome["counts"] = import_leads_file(session, SYSTEM_ACTOR, path, channel="bigdata").counts
                session.commit()
        except Exception as exc:  # the assertion below names it
            errors.append(f"import: {exc!r}")
        finally:
            done.set()

    def writer(w: int) -> None:
        k = 0
        while not done.is_set() or k < 2:
            rid = f"w{w}-{k}-{uuid.uuid4().hex[:8]}"
            try:
                with fresh.factory() as session:
                    rows = record_scans(session, SYSTEM_ACTOR, source="api", items=[ScanItem(
                        k, place_id=venue_id, phone=f"137{w:02d}{k:06d}",
                        scanned_at=(NOW - dt.timedelta(minutes=k)).strftime("%Y-%m-%d %H:%M"), request_id=rid)])
                    session.commit()
                if rows[0].status != "accepted":
                    errors.append(f"writer {w}: {rows[0]}")
                else:
                    acknowledged.append(rid)
            except Exception as exc:  # "database is locked" was the failure before chunks
                errors.append(f"writer {w}: {exc!r}")
            k += 1

    threads = [threading.Thread(target=importer)] + [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert outcome["counts"] == {"accepted": n}
    with fresh.factory() as session:
        stored = session.execute(select(Scan.request_id).where(Scan.request_id.in_(acknowledged))).scalars().all()
        assert sorted(stored) == sorted(acknowledged)  # every acknowledged write, exactly once
        assert session.execute(select(func.count()).select_from(Lead)).scalar_one() == n
        chunks = session.execute(select(AuditEvent.id).where(AuditEvent.action == "intake.leads_received")
                                 .order_by(AuditEvent.id)).scalars().all()
        assert len(chunks) == n // CHUNK  # one audited, committed step per chunk
        between = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "venues.scans_recorded", AuditEvent.id > chunks[0],
            AuditEvent.id < chunks[-1])).scalar_one()
        assert between > 0  # writers were let in while the import ran
        assert audit.verify(session).ok


def _stored_refs(fresh: Fresh) -> dict[str, int]:
    with fresh.factory() as session:
        return dict(session.execute(select(Lead.source_ref, func.count()).group_by(Lead.source_ref)).all())


def test_an_import_killed_mid_way_stores_every_row_once_when_run_again(fresh: Fresh) -> None:
    n = 1500
    path = _leads_file(fresh.tmp / "leads.csv", n)
    cmd = [str(FANGKONG), "import", "leads", str(path), "--channel", "bigdata"]
    proc = subprocess.Popen(cmd, env=fresh.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _attempt in range(12_000):  # until the first chunk is committed (polls, never judges time)
            if proc.poll() is not None or _stored_refs(fresh):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    partial = _stored_refs(fresh)
    assert 0 < len(partial) < n  # killed mid-way, after at least one chunk
    assert len(partial) % CHUNK == 0  # whole chunks only, nothing half-written
    assert set(partial.values()) == {1}

    report = fresh.tmp / "report.csv"
    again = subprocess.run([*cmd, "--report", str(report)], env=fresh.env, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr
    stored = _stored_refs(fresh)
    assert len(stored) == n and set(stored.values()) == {1}  # every row exactly once
    with report.open(encoding="utf-8-sig", newline="") as fh:
        statuses = [line["status"] for line in csv.DictReader(fh)]
    assert statuses.count("duplicate") == len(partial)
    assert statuses.count("accepted") == n - len(partial)
    with fresh.factory() as session:
        assert audit.verify(session).ok
