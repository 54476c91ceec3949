"""Concurrent writers (并发写入): a district's load on the embedded SQLite default as on PostgreSQL.

Twenty API clients post scan batches at once to a real uvicorn server, and a CLI import runs while they
do: every request is answered 2xx and every acknowledged scan is stored exactly once. Before writers
started as writers (`BEGIN IMMEDIATE`), SQLite answered about half of such requests with a 500
"database is locked".
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from served_city import served_city
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel.places.models import Place
from fangkong.venues.models import Scan

#: scans are taken within the retention window of the real clock (the served database has no fixed clock)
NOW = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
CLIENTS = 20
BATCHES = 8
PER_BATCH = 5
FANGKONG = Path(sys.executable).with_name("fangkong")
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A fresh database of the backend, a small city with venues, an API token, the app on uvicorn."""
    with served_city(request.param, tmp_path, monkeypatch, name="load", persons=300, seed=5) as site:
        yield site


def _post_batches(site: dict, n: int, statuses: Counter, sent: list[str], errors: list[str]) -> None:
    with httpx.Client(base_url=site["base"], headers={"Authorization": f"Bearer {site['token']}"},
                      timeout=120) as client:
        for b in range(n):
            items = [{"venue_ref": site["venues"][(n * 7 + b * PER_BATCH + i) % len(site["venues"])],
                      "phone": f"139{uuid.uuid4().int % 10**8:08d}",
                      "scanned_at": (NOW - dt.timedelta(minutes=b * PER_BATCH + i)).strftime("%Y-%m-%d %H:%M"),
                      "request_id": uuid.uuid4().hex} for i in range(PER_BATCH)]
            try:
                answer = client.post("/api/v1/scans", json={"items": items})
            except httpx.HTTPError as exc:  # a dropped connection is a failure too
                errors.append(repr(exc))
                continue
            statuses[answer.status_code] += 1
            if answer.status_code == 200:
                report = answer.json()
                if report["counts"] != {"accepted": PER_BATCH}:
                    errors.append(str(report["items"][0]))
                    continue
                sent.extend(it["request_id"] for it in items)


def test_twenty_clients_and_an_import_write_at_once_without_an_error(served):
    statuses: Counter = Counter()
    acknowledged: list[str] = []
    errors: list[str] = []
    rows = "\n".join(f"V-LOAD-{i:04d},装载测试场所{i},餐饮" for i in range(400))
    venues_file = served["tmp"] / "venues.csv"
    venues_file.write_text("场所编号,场所名称,场所类别\n" + rows + "\n", encoding="utf-8")
    threads = [threading.Thread(target=_post_batches, args=(served, BATCHES, statuses, acknowledged, errors))
               for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    # a file import through the CLI while the API writes (the writers queue; nobody fails)
    imported = subprocess.run([str(FANGKONG), "import", "venues", str(venues_file)], env=served["env"],
                              capture_output=True, text=True, timeout=300)
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert statuses == Counter({200: CLIENTS * BATCHES}), statuses
    assert imported.returncode == 0, imported.stderr
    with served["factory"]() as session:
        session: Session
        stored = session.execute(select(Scan.request_id).where(Scan.request_id.in_(acknowledged))).scalars().all()
        assert sorted(stored) == sorted(acknowledged)  # every acknowledged scan, exactly once
        assert session.execute(select(func.count()).select_from(Place)
                               .where(Place.ref.like("V-LOAD-%"))).scalar_one() == 400
