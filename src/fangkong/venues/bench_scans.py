"""`fangkong bench scan-ingest`: the two scan paths users take, over HTTP, against their baselines.

A scratch database (SQLite under a temporary directory, or the empty PostgreSQL database given as
`database=URL`) with a small city, served by `fangkong serve --no-scheduler` on a loopback port. Then,
`runs` times each, in the same run on the same server:

- batch ingestion: `clients` concurrent clients post `batches` batches of `batch` scans to
  `POST /api/v1/scans` (a venue's system; every scan its own `request_id`, every batch an
  `Idempotency-Key`) — scans/s and per-request p50/p99;
- the public scan page: `page_clients` concurrent citizens post `posts` check-ins to `POST /v/{token}`
  (known and first-time visitors) — posts/s and p50/p99;
- baselines with the same clients: `GET /healthz` of the same server (FastAPI + one database round trip)
  and a FastAPI hello-world served by uvicorn the same way (`/hello`: same HTTP parser and event loop,
  same `workers`), so the ratio shows the product's own overhead on this machine at this load.

`workers=N` serves both with N processes (`fangkong serve --workers N`, as a deployment would on N
cores); the default, 1, is what `fangkong serve` runs unless told.

Figures are medians over the runs, with the load average before and after. Each path also reports
`server_cpu_ms_per_request` (the server processes' CPU from /proc over the requests served): on a
shared machine the rates follow the other programs' load, the CPU per request does not. `src=DIR` serves another
checkout's sources (e.g. `src=/work/main/src`: the same bench against the code before a change).
Answers are checked: every accepted scan is in the database exactly once, and no request failed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, scratch_database

#: the baseline app, served by `python -m uvicorn` like `fangkong serve` serves ours (same workers)
HELLO_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/hello")
def hello() -> dict:
    return {"hello": "world"}
"""


def _pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) in milliseconds."""
    if not values:
        return float("nan")
    s = sorted(values)
    return round(s[min(len(s) - 1, max(0, round(q * len(s)) - 1))] * 1000, 1)


def _drive(clients: int, requests: list[Callable[[Any], int]]) -> dict[str, Any]:
    """Run the requests with `clients` threads, each with its own keep-alive connection; latencies of
    each request and the wall time. A non-2xx answer is counted as failed."""
    import httpx

    latencies: list[float] = []
    failed: list[int] = []
    lock = threading.Lock()
    it = iter(requests)

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while True:
                with lock:
                    job = next(it, None)
                if job is None:
                    return
                t0 = time.perf_counter()
                status = job(http)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if not 200 <= status < 300:
                        failed.append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "n": len(latencies), "p50_ms": _pct(latencies, 0.5), "p99_ms": _pct(latencies, 0.99),
            "failed": len(failed), "statuses": sorted(set(failed))[:5]}


def _phones(n: int, offset: int = 0) -> list[str]:
    return [f"139{(offset + i) % 100_000_000:08d}" for i in range(n)]


@benchmark("scan-ingest", quick={"quick": 1})
def bench_scan_ingest(*, batches: int = 60, batch: int = 100, clients: int = 4, posts: int = 300,
                      page_clients: int = 4, hello: int = 500, runs: int = 3, persons: int = 200,
                      visitors: int = 5000, database: str | None = None, src: str = "", keep: int = 0,
                      workers: int = 1, quick: int = 0) -> BenchResult:
    """Batch scan upload (POST /api/v1/scans) and the public scan page (POST /v/{token}) over HTTP, against /healthz and a hello-world."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from fangkong.drill.load import prepare_site
    from fangkong.kernel import loadgen
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.places.models import Place
    from fangkong.settings import get_settings
    from fangkong.venues.models import Scan
    from fangkong.venues.service import codes as codes_service

    if quick:
        batches, posts, hello, runs, persons = 8, 40, 100, 1, 50
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-scans-"))
    result = BenchResult("scan-ingest")
    load_before = os.getloadavg()
    try:
        engine = scratch_database(database, tmp)
        with Session(engine) as session:
            site = prepare_site(session, persons=persons, waiting_tubes=0)
            place_ids = list(session.execute(select(Place.id).where(Place.kind == "venue")
                                             .order_by(Place.id).limit(20)).scalars())
            tokens = [codes_service.poster_code(session, SYSTEM_ACTOR, place_id=p).token for p in place_ids]
            session.commit()
        env = {**os.environ, "FANGKONG_DATABASE_URL": get_settings().resolved_database_url,
               "FANGKONG_DATA_DIR": str(tmp)}
        if src:
            env["PYTHONPATH"] = src
        auth = {"Authorization": f"Bearer {site.token}"}
        refs = site.venues[:50]
        run_tag = uuid.uuid4().hex[:8]
        hello_port = loadgen.free_port()
        (tmp / "bench_hello.py").write_text(HELLO_APP)
        hello_proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench_hello:app", "--app-dir", str(tmp),
                                       "--host", "127.0.0.1", "--port", str(hello_port), "--log-level", "warning",
                                       "--no-server-header", "--workers", str(workers)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = loadgen.Server(env, log=tmp / "serve.log", workers=workers)
        server.start()
        per_run: dict[str, list[dict[str, Any]]] = {"batch": [], "page": [], "healthz": [], "hello": []}
        try:
            _wait(f"http://127.0.0.1:{hello_port}/hello")
            base = server.base_url
            phones = _phones(visitors)
            for r in range(runs):
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                calls = []
                for b in range(batches):
                    items = [{"venue_ref": refs[(b + i) % len(refs)], "phone": phones[(b * batch + i) % len(phones)],
                              "scanned_at": (now - dt.timedelta(seconds=(b * batch + i) % 3600)).isoformat(),
                              "request_id": f"{run_tag}-{r}-{b}-{i}"} for i in range(batch)]
                    calls.append(_post_json(f"{base}/api/v1/scans", {"items": items},
                                            {**auth, "Idempotency-Key": f"{run_tag}-{r}-{b}"}))
                per_run["batch"].append(_measured(server.process, clients, calls))
                page_calls = [_post_form(f"{base}/v/{tokens[p % len(tokens)]}",
                                         {"request_id": f"p{run_tag}{r}x{p}", "phone": phones[(r * posts + p) % len(phones)]})
                              for p in range(posts)]
                per_run["page"].append(_measured(server.process, page_clients, page_calls))
                per_run["healthz"].append(_measured(server.process, clients, [_get(f"{base}/healthz")] * hello))
                per_run["hello"].append(_measured(hello_proc, clients,
                                                  [_get(f"http://127.0.0.1:{hello_port}/hello")] * hello))
        finally:
            server.stop()
            hello_proc.terminate()
            hello_proc.wait(timeout=30)
        with Session(engine) as session:
            stored = session.execute(select(func.count()).select_from(Scan)
                                     .where(Scan.request_id.like(f"{run_tag}-%"))).scalar_one()
        expected = runs * batches * batch
        figures: dict[str, Any] = {"backend": engine.dialect.name, "server_src": src or "this checkout",
                                   "clients": clients, "page_clients": page_clients, "workers": workers, "batch_size": batch, "runs": runs}
        for kind, unit, per in (("batch", "scans_per_s", batch), ("page", "posts_per_s", 1),
                                ("healthz", "req_per_s", 1), ("hello", "req_per_s", 1)):
            rs = per_run[kind]
            figures[kind] = {unit: round(statistics.median(x["n"] * per / x["wall_s"] for x in rs), 1),
                             "p50_ms": statistics.median(x["p50_ms"] for x in rs),
                             "p99_ms": statistics.median(x["p99_ms"] for x in rs),
                             "failed": sum(x["failed"] for x in rs),
                             "statuses": sorted({s for x in rs for s in x["statuses"]}),
                             # the server's own CPU per request (all its processes): what the load of the
                             # other programs on the machine does not change, unlike the rates
                             "server_cpu_ms_per_request": statistics.median(x["cpu_ms_per_request"] for x in rs)}
            cpu = figures[kind]["server_cpu_ms_per_request"]
            figures[kind][unit.replace("_per_s", "_per_cpu_s")] = round(per * 1000 / cpu, 1) if cpu else None
        hz, hw = figures["healthz"]["req_per_s"], figures["hello"]["req_per_s"]
        figures["ratio_batch_scans_per_hello_req"] = round(figures["batch"]["scans_per_s"] / hw, 2) if hw else None
        figures["ratio_page_posts_per_healthz_req"] = round(figures["page"]["posts_per_s"] / hz, 2) if hz else None
        figures["ratio_page_posts_per_hello_req"] = round(figures["page"]["posts_per_s"] / hw, 2) if hw else None
        figures["scans_stored"] = stored
        figures["answers_equal"] = stored == expected and figures["batch"]["failed"] == 0 \
            and figures["page"]["failed"] == 0
        figures["loadavg_before"] = [round(x, 2) for x in load_before]
        figures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        result.figures = figures
        result.notes = [f"batch: {batches} × {batch} scans per run, {clients} clients; page: {posts} posts, "
                        f"{page_clients} clients; medians of {runs} runs",
                        "hello: a FastAPI hello-world served by uvicorn like `fangkong serve` (same machine, same run)"]
        if not figures["answers_equal"]:
            result.notes.append(f"CHECK FAILED: {stored} of {expected} scans stored; "
                                f"failed batch {figures['batch']['failed']}, page {figures['page']['failed']}")
        engine.dispose()
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far (Linux /proc; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return 0.0
    for entry in entries:
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(entry) == pid or int(fields[1]) == pid:  # the process, or a worker it forked
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _measured(process: Any, clients: int, requests: list[Callable[[Any], int]]) -> dict[str, Any]:
    """`_drive`'s figures plus the server's CPU milliseconds per request meanwhile."""
    before = _cpu_s(process.pid)
    out = _drive(clients, requests)
    used = _cpu_s(process.pid) - before
    out["cpu_ms_per_request"] = round(used * 1000 / out["n"], 3) if out["n"] else None
    return out


def _wait(url: str, wait_s: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def _post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> Callable[[Any], int]:
    return lambda http: http.post(url, json=body, headers=headers).status_code


def _post_form(url: str, data: dict[str, str]) -> Callable[[Any], int]:
    return lambda http: http.post(url, data=data).status_code


def _get(url: str) -> Callable[[Any], int]:
    return lambda http: http.get(url).status_code
