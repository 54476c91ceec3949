"""`fangkong bench load`: the API under a district's concurrent writers, optionally with crashes.

Builds a scratch database (SQLite under a temporary directory, or the empty PostgreSQL database given as
`database=URL`), starts `fangkong serve` on a loopback port, and posts `calls` calls (leads, scans,
samples, results; 1–5 items each, every call with its own Idempotency-Key) with `clients` concurrent
clients. `kills=N` SIGKILLs the server N times at seeded random moments and restarts it; the clients
retry what was not acknowledged. Figures: requests sent and HTTP attempts, acknowledged, retried,
refused, calls per second, and whether the audit chain verifies at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, scratch_database


@benchmark("load", quick={"calls": 20, "clients": 4, "persons": 50})
def bench_load(*, calls: int = 400, clients: int = 20, kills: int = 0, seed: int = 1, persons: int = 300,
               database: str | None = None, keep: int = 0) -> BenchResult:
    """Concurrent API writers (leads, scans, samples, results) against `fangkong serve`, with kills=N crashes."""
    from sqlalchemy.orm import Session

    from fangkong.drill.load import mixed_calls, prepare_site
    from fangkong.kernel import loadgen
    from fangkong.kernel.audit import service as audit
    from fangkong.settings import get_settings

    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-load-"))
    result = BenchResult("load")
    try:
        engine = scratch_database(database, tmp)
        with Session(engine) as session:
            site = prepare_site(session, persons=persons, waiting_tubes=max(10, calls), seed=seed)
            session.commit()
        env = {**os.environ, "FANGKONG_DATABASE_URL": get_settings().resolved_database_url,
               "FANGKONG_DATA_DIR": str(tmp)}
        server = loadgen.Server(env, log=tmp / "serve.log")
        server.start()
        try:
            load = loadgen.Load(server.base_url, site.token, mixed_calls(site, calls=calls, seed=seed),
                                clients=clients)
            t0 = time.perf_counter()
            done = loadgen.run_with_progress(load, title="load", seed=seed,
                                             faults=[("SIGKILL + restart", server.crash_and_restart)] * kills)
            elapsed = time.perf_counter() - t0
        finally:
            server.stop()
        figures: dict[str, Any] = {"backend": engine.dialect.name, "clients": clients, **done.figures()}
        figures["elapsed_s"] = round(elapsed, 2)
        figures["calls_per_s"] = round(len(done.outcomes) / elapsed, 1) if elapsed else None
        with Session(engine) as session:
            verified = audit.verify(session)
        figures["audit_verified"] = verified.ok
        figures["audit_events"] = verified.checked
        result.figures = figures
        result.notes = [f"faults: {', '.join(done.faults)}" if done.faults else "no faults",
                        "the crash tests check every acknowledged call row by row (tests/kernel/test_crash_load.py)"]
        engine.dispose()
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return result
# registers `fangkong bench clearance` and `fangkong bench drill`
from fangkong.drill import bench_clearance, bench_sim  # noqa: E402, F401
