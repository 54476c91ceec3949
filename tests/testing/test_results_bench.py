"""`fangkong bench results` at its quick size: the product path's answer (stored versions, moved
members, closed tasks, their events) equals the plain-SQL baselines' and the single-row path's. No
timing is asserted (speed goals live in the bench). A subprocess: a bench points the process at its
own scratch database."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_bench_results_quick_answers_equal_every_baseline(tmp_path) -> None:
    env = {**os.environ, "FANGKONG_DATA_DIR": str(tmp_path), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}
    env.pop("FANGKONG_DATABASE_URL", None)
    env.pop("FANGKONG_BENCH_POSTGRES_URL", None)
    args = [sys.executable, "-m", "fangkong", "bench", "results", "results=30", "pool=3", "single=1", "--json"]
    pg = os.environ.get("FANGKONG_TEST_DATABASE_URL", "")
    if pg.startswith("postgresql"):  # the PostgreSQL baseline in a scratch schema there, dropped after
        args.insert(-1, f"pg={pg}")
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout)["figures"]
    (job,) = figures["jobs"]
    assert job["job"] == "results_arriving" and job["equal"] is True, job
    assert {"duckdb", "single_row", *(["postgresql"] if pg.startswith("postgresql") else [])} == set(job["baselines"])
    # 30 stored versions, 90 moved members, 90 closed tasks and their 90 events
    assert job["rows"] == 30 + 3 * 90 and figures["tasks_closed"] == 90 and figures["accepted"] == 30
    # the batch: one entry for the results, one for the tasks; one at a time: two per result
    assert figures["audit_entries"] == 2 and figures["audit_entries_single_row"] == 60
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("fangkong-bench")]
