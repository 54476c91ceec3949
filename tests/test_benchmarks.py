"""Every benchmark still runs end to end at its quick size, and answers are checked (the figures
themselves are not asserted: speed goals live in the benchmarks, never in timed tests). A subprocess,
because a benchmark points the process at its own scratch database."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fangkong.kernel.bench import BENCHMARKS, QUICK, BenchResult, benchmark, canonical, compare
from fangkong.kernel.cli_support import CliError

JOB_KEYS = {"job", "product_s", "baselines", "equal", "rows"}


@pytest.mark.slow
def test_every_bench_quick_as_json_with_its_answers_equal(tmp_path) -> None:
    env = {**os.environ, "FANGKONG_DATA_DIR": str(tmp_path), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}
    env.pop("FANGKONG_DATABASE_URL", None)
    env.pop("FANGKONG_BENCH_POSTGRES_URL", None)
    pg = os.environ.get("FANGKONG_TEST_DATABASE_URL", "")
    if pg.startswith("postgresql"):  # the PostgreSQL variant: baselines in a scratch schema there, dropped after
        env["FANGKONG_BENCH_POSTGRES_URL"] = pg
    out = subprocess.run([sys.executable, "-m", "fangkong", "bench", "--all", "--quick", "--json"],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-2000:]
    results = json.loads(out.stdout)
    names = [r["name"] for r in results]
    assert {"compliance", "colocation", "intake", "keys", "sqlite-sync", "scan-ingest", "import-stream", "results"} <= set(names)
    assert names == sorted(set(names))
    for result in results:
        assert set(result) == {"name", "figures", "notes"} and isinstance(result["notes"], list)
        figures = result["figures"]
        assert figures["peak_rss_mb"] > 0
        for job in figures.get("jobs", []):
            assert set(job) >= JOB_KEYS, job
            assert job["equal"] is True, (result["name"], job)
            assert isinstance(job["rows"], int) and job["product_s"] >= 0
            assert all(isinstance(s, int | float) for s in job["baselines"].values())
        # each compares itself with a baseline measured in the same run (`load` is a soak: none)
        assert result["name"] == "load" or figures.get("jobs") or any(
            k.startswith(("ratio", "baseline", "floor")) or k.endswith("speedup") for k in figures), result
    # the compliance bench: its city summary against one GROUP BY in DuckDB, every district equal
    compliance = next(r for r in results if r["name"] == "compliance")["figures"]
    (city,) = [j for j in compliance["jobs"] if j["job"] == "summary_city"]
    assert {"duckdb", *(["postgresql"] if pg.startswith("postgresql") else [])} <= set(city["baselines"])
    assert city["rows"] > 0 and city["members_total"] == compliance["members"]
    # the intake bench: each lead's registry person as one SQL join finds it, row by row
    intake = next(r for r in results if r["name"] == "intake")["figures"]
    (imported,) = [j for j in intake["jobs"] if j["job"] == "import_leads"]
    assert "duckdb" in imported["baselines"] and imported["rows"] == intake["leads"]
    # and leaves no scratch data behind
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("fangkong-bench")]


def test_answers_compare_as_sets_unless_ordered() -> None:
    def rows() -> list:  # canonical() sorts a list answer in place: a fresh one each time
        return [("b", 2, decimal.Decimal("3")), ("a", 1, 2.0)]

    assert canonical(rows()) == canonical([("a", 1, 2), ("b", 2, 3)])
    assert canonical(rows(), ordered=True) != canonical([("a", 1, 2), ("b", 2, 3)], ordered=True)
    assert canonical([("a", 1, 2.5)]) != canonical([("a", 1, 2)])
    aware = dt.datetime(2022, 4, 18, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert canonical([(aware,)]) == canonical([(dt.datetime(2022, 4, 18, 1),)])
    assert canonical([(None,), (1,)]) == canonical([(1,), (None,)])


def test_compare_names_the_baseline_that_differs() -> None:
    figures: dict = {}
    same = compare(figures, "same", lambda: [(1, "x"), (2, "y")], {"duckdb": lambda: [(2, "y"), (1, "x")],
                                                                     "postgresql": None})
    assert same["equal"] is True and set(same["baselines"]) == {"duckdb"} and same["rows"] == 2
    other = compare(figures, "other", lambda: [(1, 5)], {"duckdb": lambda: [(1, 5)], "postgresql": lambda: [(1, 6)]})
    assert other["equal"] is False and set(other["differs"]) == {"postgresql"}
    assert [j["job"] for j in figures["jobs"]] == ["same", "other"]


def test_a_different_answer_fails_the_run_naming_bench_and_job() -> None:
    from fangkong import cli

    @benchmark("test-differs", quick={"n": 1})
    def differs(*, n: int = 10) -> BenchResult:
        figures: dict = {"n": n}
        compare(figures, "the-job", lambda: [(n,)], {"duckdb": lambda: [(n + 1,)]})
        return BenchResult("test-differs", figures)

    try:
        cli._load_commands()
        result = CliRunner().invoke(cli.app, ["bench", "test-differs", "--quick", "--json"])
        assert isinstance(result.exception, CliError), result.output
        assert result.exception.code == 1
        assert "test-differs" in str(result.exception) and "the-job" in str(result.exception)
        assert json.loads(result.output)["figures"]["n"] == 1  # the quick size, and the figures still printed
    finally:
        BENCHMARKS.pop("test-differs", None)
        QUICK.pop("test-differs", None)


@pytest.mark.parametrize("args", [["--all", "persons=3"], ["nosuch"]])
def test_bad_bench_arguments_are_usage_errors(args: list[str]) -> None:
    from fangkong import cli

    cli._load_commands()
    result = CliRunner().invoke(cli.app, ["bench", *args])
    assert isinstance(result.exception, CliError) and result.exception.code == 2
