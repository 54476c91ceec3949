"""`fangkong bench import-stream`: memory and speed of a big lead file, against a small one in the same run.

A 200,000-row CSV import used to peak at 1.5 GB: the file was decoded whole, every row held, and the
whole file was one transaction. Now the CSV is streamed and stored a chunk at a time, so the peak
resident memory of a `rows`-row import should be about that of a `baseline`-row one: the figure to
watch is `rss_ratio` (big / baseline peak), with `rows_ratio` (= rows / baseline) beside it.

Each size runs in a fresh process (peak RSS is a per-process high-water mark) on its own scratch
database, as `fangkong import leads FILE --report OUT` runs it: chunks committed, the report written.
Every lead is a new person (the heaviest path: person, lead and task written per row).
Options: rows=N baseline=M chunk=C database=URL (a PostgreSQL database: each size runs in a schema of
its own, dropped afterwards; default a SQLite file per size), keep=1 keeps the scratch directories.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark


def _write_file(path: Path, rows: int) -> None:
    from fangkong.intake.bench import GIVEN, SURNAMES, _id

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "姓名", "身份证号", "手机号", "来源地", "抵达时间", "现住址", "交通方式"])
        for i in range(rows):
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 13) % len(GIVEN)]
            w.writerow([f"S{i}", name, _id(None, i), f"15{i:09d}", "上海市浦东新区", "2022-04-17 10:00",  # type: ignore[arg-type]
                        f"幸福路{i % 500}号{i % 7 + 1}幢{i % 3 + 1}单元{i % 20 + 101}室", "火车"])


def child(rows: int, tmp: str, database: str | None) -> dict[str, Any]:
    """One import in this process: the file, a scratch database, the import as the CLI runs it."""
    import time

    from fangkong.intake.service.ingest import import_leads_file
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bench import peak_rss_mb, scratch_database
    from fangkong.kernel.db import unit_of_work
    from fangkong.kernel.tabular import LONGEST_CHUNK, allow_chunk_commits, write_report

    folder = Path(tmp)
    path = folder / "leads.csv"
    _write_file(path, rows)
    engine = scratch_database(database, folder)
    start_rss = peak_rss_mb()
    t0 = time.perf_counter()
    with unit_of_work() as session:
        allow_chunk_commits(session)
        result = import_leads_file(session, SYSTEM_ACTOR, path, channel="bigdata")
        longest = session.info.get(LONGEST_CHUNK, 0.0)
    write_report(folder / "report.csv", result.rows, ["lead_id", "match_rule"])
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds) if seconds else None,
            "peak_rss_mb": peak_rss_mb(), "rss_before_import_mb": start_rss, "longest_chunk_s": longest,
            "counts": result.counts, "file_mb": round(path.stat().st_size / 2**20, 1)}


def _run_child(rows: int, database: str | None, chunk: int | None, keep: int) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix=f"fangkong-bench-stream-{rows}-")
    env = dict(os.environ)
    if chunk:
        env["FANGKONG_IMPORT_CHUNK_ROWS"] = str(chunk)
    code = ("import json, sys; from fangkong.intake.bench_stream import child; "
            "print(json.dumps(child(int(sys.argv[1]), sys.argv[2], sys.argv[3] or None)))")
    schema = f"bench_stream_{os.getpid()}_{rows}"
    url = _schema(database, schema) if database else ""
    try:
        done = subprocess.run([sys.executable, "-c", code, str(rows), tmp, url], env=env,
                              capture_output=True, text=True, check=False)
    finally:
        if database:
            _drop_schema(database, schema)
    if done.returncode != 0:
        raise RuntimeError(f"bench child for {rows} rows failed:\n{done.stderr[-3000:]}")
    if not keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _schema(database: str, schema: str) -> str:
    """A schema of the run's own in the PostgreSQL `database` (created here, dropped after the run), and
    the URL that makes it the search path: the database's other schemas are never touched."""
    from sqlalchemy import text

    from fangkong.kernel.db import make_engine

    engine = make_engine(database)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{database}{'&' if '?' in database else '?'}options=-csearch_path%3D{schema}"


def _drop_schema(database: str, schema: str) -> None:
    from sqlalchemy import text

    from fangkong.kernel.db import make_engine

    engine = make_engine(database)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@benchmark("import-stream", quick={"rows": 300, "baseline": 100, "chunk": 100})
def bench_import_stream(*, rows: int = 200_000, baseline: int = 20_000, chunk: int = 0,
                        database: str | None = None, keep: int = 0) -> BenchResult:
    """Peak memory and rows/s of a 200,000-row lead CSV against a 20,000-row one: memory flat in rows."""
    small = _run_child(baseline, database, chunk, keep)
    big = _run_child(rows, database, chunk, keep)
    figures: dict[str, Any] = {"backend": "postgresql" if database else "sqlite", "chunk_rows": chunk or "default"}
    for label, run in (("baseline", small), ("big", big)):
        for key in ("rows", "file_mb", "seconds", "rows_per_s", "peak_rss_mb", "rss_before_import_mb",
                    "longest_chunk_s"):
            figures[f"{label}_{key}"] = run[key]
    figures["rows_ratio"] = round(rows / baseline, 1)
    figures["rss_ratio"] = round(big["peak_rss_mb"] / small["peak_rss_mb"], 2)
    growth = (big["peak_rss_mb"] - big["rss_before_import_mb"]) - (small["peak_rss_mb"] - small["rss_before_import_mb"])
    figures["rss_growth_per_10k_rows_mb"] = round(growth / max((rows - baseline) / 10_000, 1e-9), 2)
    figures["speed_ratio"] = round((big["rows_per_s"] or 0) / max(small["rows_per_s"] or 1, 1), 2)
    from fangkong.settings import get_settings

    notes = [f"counts big: {big['counts']}",
             f"goal: rss_ratio near 1 while rows_ratio is {figures['rows_ratio']} (memory flat in the row count); "
             f"longest chunk well under the SQLite busy wait ({get_settings().sqlite_busy_timeout_s} s)"]
    return BenchResult("import-stream", figures, notes)
