"""Every benchmark still runs end to end (at a tiny size; the figures themselves are not asserted:
speed goals live in the benchmarks, never in timed tests). Subprocesses, because a benchmark points
the process at its own scratch database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SIZES = {
    "intake": ["persons=3000", "leads=300"],
    "compliance": ["members=300", "results=3000"],
    "colocation": ["scans=30000"],
    "import-stream": ["rows=300", "baseline=100", "chunk=100"],
    "sqlite-sync": ["commits=5", "rounds=2"],
    "results": ["results=30", "pool=3"],
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_benchmark_runs_and_reports_its_baseline(name: str, tmp_path) -> None:
    env = {**os.environ, "FANGKONG_DATA_DIR": str(tmp_path), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}
    env.pop("FANGKONG_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-m", "fangkong", "bench", name, *SIZES[name], "--json"],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    figures = result["figures"]
    assert result["name"] == name and figures["peak_rss_mb"] > 0
    # each compares itself with a baseline measured in the same run
    assert any(k.startswith(("ratio", "baseline")) or k.endswith("speedup") for k in figures), figures
    # and leaves no scratch data behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("fangkong-bench")]
