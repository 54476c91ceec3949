"""Batch scan ingestion over real HTTP with concurrent senders (issue #18), on SQLite and PostgreSQL.

Four clients post batches at once to a uvicorn server, and every scan is also sent by a second client
at the same time (a venue system retrying on another connection): every request is answered 2xx (no
"database is locked" on SQLite, no unique-constraint error or deadlock on PostgreSQL), each scan is
stored exactly once, and exactly one answer calls it `accepted` — every other one `duplicate`, naming
the same person. The same batch under one `Idempotency-Key` from four connections at once gets one
answer, four times.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from served_city import served_city
from sqlalchemy import func, select

from fangkong.venues.models import Scan, ScanUpload

#: within the retention window of the real clock (the served database has no fixed clock)
NOW = dt.datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
CLIENTS = 4
BATCHES = 6
PER_BATCH = 25
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A fresh database of the backend (real commits), a small city, an API token, the app on uvicorn."""
    with served_city(request.param, tmp_path, monkeypatch, name="scans", persons=100, seed=7) as site:
        yield site


def _batch(site: dict, tag: str, b: int) -> list[dict[str, str]]:
    return [{"venue_ref": site["venues"][(b * PER_BATCH + i) % len(site["venues"])],
             "phone": f"137{(b * PER_BATCH + i) % 40:08d}",  # 40 visitors: persons shared across batches
             "scanned_at": (NOW - dt.timedelta(seconds=b * PER_BATCH + i)).isoformat(),
             "request_id": f"{tag}-{b}-{i}"} for i in range(PER_BATCH)]


def _send(site: dict, bodies: list[list[dict[str, str]]], answers: list, errors: list,
          key: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {site['token']}", **({"Idempotency-Key": key} if key else {})}
    with httpx.Client(base_url=site["base"], headers=headers, timeout=120) as client:
        for items in bodies:
            try:
                r = client.post("/api/v1/scans", json={"items": items})
            except httpx.HTTPError as exc:  # a dropped connection is a failure too
                errors.append(repr(exc))
                continue
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:300]}")
                continue
            answers.append(r.json())


def test_concurrent_senders_of_the_same_scans_store_each_once(served) -> None:
    tag = uuid.uuid4().hex[:8]
    batches = [_batch(served, tag, b) for b in range(CLIENTS * BATCHES)]
    answers: list[dict] = []
    errors: list[str] = []
    # client c sends its own batches and, at the same time, those of client c+1 (in reverse order)
    plans = [[batches[c * BATCHES + j] for j in range(BATCHES)]
             + [batches[((c + 1) % CLIENTS) * BATCHES + j] for j in reversed(range(BATCHES))]
             for c in range(CLIENTS)]
    threads = [threading.Thread(target=_send, args=(served, plan, answers, errors)) for plan in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(answers) == 2 * CLIENTS * BATCHES
    outcome: dict[str, Counter] = defaultdict(Counter)
    person: dict[str, set] = defaultdict(set)
    for answer in answers:
        for item in answer["items"]:
            outcome[item["request_id"]][item["status"]] += 1
            person[item["request_id"]].add(item["person_id"])
            assert not item["issues"], item
    sent = {it["request_id"] for b in batches for it in b}
    assert set(outcome) == sent
    assert all(c == Counter({"accepted": 1, "duplicate": 1}) for c in outcome.values()), \
        [c for c in outcome.values() if c != Counter({"accepted": 1, "duplicate": 1})][:3]
    assert all(len(p) == 1 and None not in p for p in person.values())  # both answers name one person
    with served["factory"]() as session:
        stored = session.execute(select(Scan.request_id, Scan.person_id)
                                 .where(Scan.request_id.like(f"{tag}-%"))).all()
    assert sorted(r for r, _p in stored) == sorted(sent)  # each exactly once
    assert {r: {p} for r, p in stored} == dict(person)


def test_one_idempotency_key_from_four_connections_at_once_gets_one_answer(served) -> None:
    tag = uuid.uuid4().hex[:8]
    items = _batch(served, tag, 0)
    answers: list[dict] = []
    errors: list[str] = []
    threads = [threading.Thread(target=_send, args=(served, [items], answers, errors, f"key-{tag}"))
               for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(answers) == CLIENTS and all(a == answers[0] for a in answers)
    assert answers[0]["counts"] == {"accepted": PER_BATCH}
    with served["factory"]() as session:
        assert session.execute(select(func.count()).select_from(Scan)
                               .where(Scan.request_id.like(f"{tag}-%"))).scalar_one() == PER_BATCH
        assert session.execute(select(func.count()).select_from(ScanUpload)
                               .where(ScanUpload.idempotency_key == f"key-{tag}")).scalar_one() == 1
    # and later, the same key again: the stored first answer
    again: list[dict] = []
    _send(served, [items], again, errors, f"key-{tag}")
    assert not errors and again == [answers[0]]
