"""Nothing acknowledged is lost (确认即不丢): the real server is SIGKILLed under load and restarted.

`fangkong serve` runs as a child process on a loopback port over a fresh database (a SQLite file, or a
fresh schema of the test PostgreSQL database). `kernel.loadgen` posts leads, scans, samples and lab
results from concurrent clients, each call with its own Idempotency-Key; at seeded random moments of the
load the server is killed with SIGKILL (no shutdown, no rollback) and started again, and the clients
retry every call that was not acknowledged with the same key. After each kill, while the server is
down, `fangkong audit verify` must pass.

On PostgreSQL the shared database service is NOT restarted (other test runs use it); instead the
server's own connections are cut with `pg_terminate_backend` at further random moments, which is what
a database restart does to a running server's pool and to its transactions in flight.

Afterwards every call that got a 2xx is in the database exactly once and whole: its rows, their
dependent rows (a lead's person, verification task, batch and audit entry; a sample's tube; a result's
version), and its stored first answer equal to what the client received; and no request is stored
without all of its parts. The figures (requests sent, HTTP attempts, acknowledged, found) are printed.

The default variant fits the suite's budget; `-m heavy` runs the heavier one (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crash_support import BACKENDS, CrashDb, crash_database, fangkong, terminate_backends
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.drill.load import LOAD_USER, LoadSite, mixed_calls, prepare_site
from fangkong.intake.models import Lead, LeadBatch
from fangkong.kernel import db, loadgen
from fangkong.kernel.audit import service as audit
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.bootstrap import initialise
from fangkong.kernel.idempotency import IdempotentRequest
from fangkong.kernel.people import crypto
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks.models import Task
from fangkong.settings import reset_settings_cache
from fangkong.testing.models import Tube, TubeResult, TubeSample
from fangkong.venues.models import Scan, ScanUpload

#: FANGKONG_CRASH_SEED=N replays a run (the seed is printed with the figures)
SEED = int(os.environ.get("FANGKONG_CRASH_SEED", "20261207"))


@pytest.fixture(params=BACKENDS)
def crash_site(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CrashDb, LoadSite]]:
    with crash_database(request.param, tmp_path) as cdb:
        monkeypatch.setenv("FANGKONG_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("FANGKONG_DATABASE_URL", cdb.check_url)
        reset_settings_cache()
        crypto.reset_keys()
        engine = db.make_engine(cdb.check_url)
        with Session(engine) as session:
            initialise(engine, session, mode="test")
            heavy = request.node.get_closest_marker("heavy") is not None  # results for a quarter of the calls
            site = prepare_site(session, persons=80, waiting_tubes=900 if heavy else 60, seed=SEED % 1000)
            session.commit()
        engine.dispose()
        yield cdb, site
    reset_settings_cache()
    crypto.reset_keys()


def _crash_run(cdb: CrashDb, site: LoadSite, *, calls: int, clients: int, kills: int, cuts: int,
               seed: int) -> dict[str, Any]:
    verify_failures: list[str] = []

    def audit_verify() -> None:
        done = fangkong(cdb.env(), "audit", "verify")
        if done.returncode != 0:
            verify_failures.append(done.stdout + done.stderr)

    server = loadgen.Server(cdb.env(), log=cdb.tmp / "serve.log")
    faults: list[tuple[str, Any]] = [("kill", lambda: server.crash_and_restart(audit_verify))] * kills
    if cdb.backend == "postgresql":
        faults += [("cut database connections", lambda: terminate_backends(cdb.app_name))] * cuts
        random.Random(seed).shuffle(faults)
    server.start()
    try:
        load = loadgen.Load(server.base_url, site.token, mixed_calls(site, calls=calls, seed=seed), clients=clients)
        result = loadgen.crash_run(load, faults, seed=seed)
    finally:
        server.stop()
    assert not verify_failures, verify_failures[0]
    assert server.starts == kills + 1
    figures = result.figures()
    found = _check_every_acknowledged_call_once_and_whole(cdb, result)
    figures.update(found=found, seed=seed, backend=cdb.backend, fault_log=result.faults)
    print("\ncrash figures:", json.dumps(figures, ensure_ascii=False))
    # every call was answered in the end (the clients retried through every fault), and all were valid
    assert figures["unanswered"] == 0 and figures["refused"] == 0, figures
    # a lost database connection is a 503 to retry, never a 500 (which would read as a bug)
    assert "http_500" not in figures["troubles"], figures
    assert found == figures["acknowledged"] == calls, figures
    return figures


def _count(session: Session, model: type, *where: Any) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _audit(session: Session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _check_every_acknowledged_call_once_and_whole(cdb: CrashDb, result: loadgen.LoadResult) -> int:
    """Row by row; returns how many acknowledged calls were found whole, exactly once."""
    engine = db.make_engine(cdb.check_url)
    found = 0
    try:
        with sessionmaker(engine)() as s:
            assert audit.verify(s).ok
            stored_answers = {r.idempotency_key: r for r in s.execute(
                select(IdempotentRequest).where(IdempotentRequest.sender == LOAD_USER)).scalars()}
            scan_answers = {r.idempotency_key: r.response for r in s.execute(
                select(ScanUpload).where(ScanUpload.sender == LOAD_USER)).scalars()}
            for o in result.acknowledged:
                call, answer = o.call, o.answer
                n = len(call.body["items"])
                # the first answer, replayed to every retry: all items accepted, and stored as given
                assert answer["counts"] == {"accepted": n}, (call.kind, answer)
                if call.kind == "scans":
                    assert scan_answers.get(call.key) == answer
                else:
                    assert stored_answers[call.key].response == answer, call.key
                getattr(_Checks, call.kind)(s, call.body["items"], answer["items"])
                found += 1

            # no request stored in part or twice: each committed request has exactly its parts
            assert all(r.response is not None for r in stored_answers.values())
            ops = Counter(r.operation for r in stored_answers.values())
            acked = Counter(o.call.kind for o in result.acknowledged)
            assert ops == Counter({"intake.leads": acked["leads"], "testing.samples": acked["samples"],
                                   "testing.results": acked["results"]}) - Counter(), (ops, acked)
            assert len(scan_answers) == acked["scans"]
            batches = list(s.execute(select(LeadBatch).where(LeadBatch.via == "api")).scalars())
            received = {int(e.object_id): e for e in _audit(s, "intake.leads_received") if e.detail.get("via") == "api"}
            assert len(batches) == len(received) == acked["leads"]
            for b in batches:
                lead_ids = sorted(s.execute(select(Lead.id).where(Lead.batch_id == b.id)).scalars())
                assert b.accepted == len(lead_ids) and audit.expand_ids(received[b.id].detail["lead_ids"]) == lead_ids
            assert len([e for e in _audit(s, "testing.samples_imported") if e.detail.get("via") == "api"]) \
                == acked["samples"]
            assert len([e for e in _audit(s, "testing.results_received") if e.detail.get("via") == "api"]) \
                == acked["results"]
            assert len([e for e in _audit(s, "venues.scans_recorded") if e.detail.get("source") == "api"]) \
                == acked["scans"]
            # nothing beyond the acknowledged calls: the items stored are exactly the items acknowledged
            refs = [it["source_ref"] for o in result.acknowledged if o.call.kind == "leads" for it in o.call.body["items"]]
            assert _count(s, Lead, Lead.source_ref.like(f"LOAD-{_run(result)}-%")) == len(refs) == len(set(refs))
            rids = [it["request_id"] for o in result.acknowledged if o.call.kind == "scans" for it in o.call.body["items"]]
            assert _count(s, Scan, Scan.request_id.like(f"LOAD-{_run(result)}-%")) == len(rids)
    finally:
        engine.dispose()
    return found


def _run(result: loadgen.LoadResult) -> str:
    return result.outcomes[0].call.key.split("-")[1]


class _Checks:
    """Per kind: each item of an acknowledged call stored exactly once with its dependent rows."""

    @staticmethod
    def leads(s: Session, items: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        for it, a in zip(items, answers, strict=True):
            leads = list(s.execute(select(Lead).where(Lead.source_ref == it["source_ref"],
                                                      Lead.channel == "community")).scalars())
            assert len(leads) == 1, it["source_ref"]
            lead = leads[0]
            assert (lead.id, lead.person_id) == (a["lead_id"], a["person_id"])
            assert s.get(Person, lead.person_id) is not None
            task = s.get(Task, lead.verification_task_id)
            assert task is not None and (task.subject_type, task.subject_id) == ("lead", lead.id)
            assert _count(s, Task, Task.subject_type == "lead", Task.subject_id == lead.id) == 1

    @staticmethod
    def scans(s: Session, items: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        for it, a in zip(items, answers, strict=True):
            scans = list(s.execute(select(Scan).where(Scan.request_id == it["request_id"])).scalars())
            assert len(scans) == 1 and scans[0].person_id == a["person_id"], it["request_id"]
            assert s.get(Person, scans[0].person_id) is not None

    @staticmethod
    def samples(s: Session, items: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        tube = s.execute(select(Tube).where(Tube.barcode == items[0]["tube_barcode"])).scalar_one()
        persons = sorted(a["person_id"] for a in answers)
        stored = sorted(s.execute(select(TubeSample.person_id).where(TubeSample.tube_id == tube.id)).scalars())
        assert stored == persons, tube.barcode

    @staticmethod
    def results(s: Session, items: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        for it in items:
            tube = s.execute(select(Tube).where(Tube.barcode == it["tube_barcode"])).scalar_one()
            versions = list(s.execute(select(TubeResult.result).where(TubeResult.tube_id == tube.id)).scalars())
            assert versions == ["negative"] and tube.result == "negative", tube.barcode


@pytest.mark.slow
def test_nothing_acknowledged_is_lost_when_the_server_is_killed(crash_site):
    cdb, site = crash_site
    _crash_run(cdb, site, calls=90, clients=8, kills=3, cuts=2, seed=SEED)


@pytest.mark.heavy
def test_nothing_acknowledged_is_lost_under_a_heavier_crash_load(crash_site):
    cdb, site = crash_site
    _crash_run(cdb, site, calls=1200, clients=20, kills=8, cuts=5, seed=SEED + 1)
