"""`fangkong bench clearance`: the daily clearance page (日产日清, `/leads/clearance`) of a demo city.

A scratch database gets the demo city of `persons` residents and its first day (`leads` key-person
leads through intake, a share verified; the key groups), exactly as `fangkong demo` builds it. Then
`fangkong serve` starts on a loopback port and `requests` GETs of `/leads/clearance` (and of the JSON
report `/api/v1/reports/clearance`) are sent one after another with a bearer token, after three
warm-up requests: figures `page_p50_ms`, `page_p95_ms` (the issue's target: p95 ≤ 200 ms at 100,000
persons), `api_p95_ms`, and the page's size.

The compared job `clearance_by_unit` is what the page computes (`intake.service.daily_clearance_by_child`,
the city and each district): received, cleared, open and not cleared by the cut-off per district
against ONE GROUP BY over the day's leads (per unit path, folded to districts) in PostgreSQL and
DuckDB (`kernel.bench.Baselines`).
Options: persons=N leads=N requests=N seed=S database=URL keep=1 (pg=URL as every bench).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import Baselines, BenchResult, Table, benchmark, compare, scratch_database

BENCH_USER = "clearance-bench"


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _get(url: str, token: str) -> tuple[float, int, int]:
    """Seconds, status and body size of one GET."""
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = resp.read()
        status = resp.status
    return time.perf_counter() - t0, status, len(body)


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far (Linux `/proc`); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _latencies(url: str, token: str, n: int, pid: int) -> tuple[list[float], int, float | None]:
    """Seconds of `n` GETs one after another (after three warm-up requests: the server's first
    requests compile templates and plans), the body size, and the server's own CPU milliseconds per
    request — what the load of a shared machine cannot inflate, unlike the latencies."""
    for _ in range(3):
        _get(url, token)
    seconds, size = [], 0
    cpu0 = _cpu_s(pid)
    for _ in range(n):
        s, status, size = _get(url, token)
        if status != 200:
            raise RuntimeError(f"GET {url}: HTTP {status}")
        seconds.append(s)
    cpu1 = _cpu_s(pid)
    cpu_ms = round((cpu1 - cpu0) / n * 1000, 1) if cpu0 is not None and cpu1 is not None else None
    return seconds, size, cpu_ms


def _baseline_sql(start: dt.datetime, end: dt.datetime, cutoff: dt.datetime) -> str:
    """One GROUP BY over the day's leads per unit path; timestamps naive UTC as stored."""
    def ts(v: dt.datetime) -> str:
        return v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")

    return f"""SELECT unit_path, count(*),
        sum(CASE WHEN managed_at IS NOT NULL THEN 1 ELSE 0 END),
        sum(CASE WHEN managed_at IS NULL OR managed_at > TIMESTAMP '{ts(cutoff)}' THEN 1 ELSE 0 END)
        FROM lead WHERE received_at >= TIMESTAMP '{ts(start)}' AND received_at < TIMESTAMP '{ts(end)}'
        GROUP BY unit_path"""


def _fold(rows: list[tuple[Any, ...]], children: list[tuple[str, str]], root_code: str) -> list[tuple[Any, ...]]:
    """Per-path counts to (unit, received, cleared, open, not cleared by the cut-off): each district
    by path prefix, and the whole city."""
    out = {code: [0, 0, 0] for code, _ in children}
    total = [0, 0, 0]
    for path, *counts in rows:
        target = next((out[code] for code, p in children if path.startswith(p)), None)
        for acc in (target, total):
            if acc is not None:
                for i, c in enumerate(counts):
                    acc[i] += int(c or 0)
    return [(code, r, c, r - c, n) for code, (r, c, n) in [*out.items(), (root_code, total)]]


@benchmark("clearance", quick={"persons": 500, "leads": 30, "requests": 5})
def bench_clearance(*, persons: int = 100_000, leads: int = 300, requests: int = 40, seed: int = 1,
                    database: str | None = None, keep: int = 0) -> BenchResult:
    """The daily clearance page of a demo city over real HTTP (p95) and its counts against one GROUP BY."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from fangkong.drill.city import generate_city
    from fangkong.drill.scenario import seed_scenario
    from fangkong.intake import service as intake_service
    from fangkong.kernel import clock, loadgen
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions.models import Unit
    from fangkong.kernel.policy import service as policy_service
    from fangkong.settings import get_settings

    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-clearance-"))
    figures: dict[str, Any] = {"persons": persons, "requests": requests}
    notes: list[str] = []
    try:
        engine = scratch_database(database, tmp)
        figures["backend"] = engine.dialect.name
        t0 = time.perf_counter()
        with Session(engine) as session:
            generate_city(session, persons=persons, seed=seed)
            scenario = seed_scenario(session, leads=leads, seed=seed)
            auth_service.create_user(session, SYSTEM_ACTOR, username=BENCH_USER, role="admin",
                                     password=os.urandom(16).hex())
            session.flush()
            token = auth_service.create_token(session, SYSTEM_ACTOR, username=BENCH_USER)[1]
            session.commit()
        figures["setup_s"] = round(time.perf_counter() - t0, 1)
        figures["leads_received"] = sum(scenario.leads.values())
        figures["leads_verified"] = scenario.verified

        day = clock.today()
        with Session(engine) as session:
            root = session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).scalars().first()
            assert root is not None
            children = [(u.code, u.path) for u in session.execute(
                select(Unit).where(Unit.parent_id == root.id).order_by(Unit.code)).scalars()]
            # the cut-off read from the pack here, independently of the service
            midnight = dt.datetime.combine(day, dt.time(0), tzinfo=clock.tz())
            cutoff = midnight + policy_service.active_pack(session).clearance_cutoff
            start, end = midnight, midnight + dt.timedelta(days=1)
            root_code, root_id = root.code, root.id

        baselines = Baselines(engine, [Table(
            "lead", [("unit_path", "TEXT"), ("received_at", "TIMESTAMP"), ("managed_at", "TIMESTAMP")],
            "SELECT unit_path, received_at, managed_at FROM lead",
            indexes=[("received_at", "unit_path", "managed_at")])])
        with Session(engine) as session, baselines:
            baselines.load()
            figures.update(baselines.figures)
            notes += baselines.notes

            def product() -> list[tuple[Any, ...]]:
                report, by_child = intake_service.daily_clearance_by_child(session, SYSTEM_ACTOR, day=day,
                                                                           unit_id=root_id)
                rows = [(u.code, s["received"], s["cleared"], s["open"], s["not_cleared_by_cutoff"])
                        for u, s in by_child]
                t = report["totals"]
                return [*rows, (root_code, t["received"], t["cleared"], t["open"], t["not_cleared_by_cutoff"])]

            sql = _baseline_sql(start, end, cutoff)
            compare(figures, "clearance_by_unit", product,
                    {name: (lambda fn=fn: _fold(fn(), children, root_code)) if fn else None
                     for name, fn in baselines.queries(sql).items()}, repeat=3)

        env = {**os.environ, "FANGKONG_DATABASE_URL": get_settings().resolved_database_url,
               "FANGKONG_DATA_DIR": str(tmp)}
        server = loadgen.Server(env, log=tmp / "serve.log")
        server.start()
        try:
            assert server.process is not None
            pid = server.process.pid
            page, size, figures["page_server_cpu_ms"] = _latencies(
                f"{server.base_url}/leads/clearance?day={day.isoformat()}", token, requests, pid)
            api, _size, figures["api_server_cpu_ms"] = _latencies(
                f"{server.base_url}/api/v1/reports/clearance?day={day.isoformat()}", token, requests, pid)
        finally:
            server.stop()
        figures["page_p50_ms"] = round(statistics.median(page) * 1000, 1)
        figures["page_p95_ms"] = round(_percentile(page, 0.95) * 1000, 1)
        figures["page_max_ms"] = round(max(page) * 1000, 1)
        figures["page_bytes"] = size
        figures["api_p50_ms"] = round(statistics.median(api) * 1000, 1)
        figures["api_p95_ms"] = round(_percentile(api, 0.95) * 1000, 1)
        notes.append("goal (issue #18): /leads/clearance at 100,000 persons p95 ≤ 200 ms; requests one at a "
                     "time after 3 warm-up requests, a bearer token, the server a child process")
        if keep:
            notes.append(f"scratch data kept in {tmp}")
        engine.dispose()
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return BenchResult("clearance", figures, notes)
