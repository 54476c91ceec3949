"""`fangkong drill run`: a scenario and a seed in, a run directory out (演练运行).

The no-response baseline always goes into `OUT/baseline/`. With `response: false` the run is its own
baseline: `OUT/` gets the same truth files, and its `score.json` compares the two (nothing averted).
The platform-driven response (`response: true`, `drill.platform.run.run_platform_drill`) plugs in
through `sim.response.Response`; called without a response, such a scenario is refused
(`ResponseUnavailable`) rather than silently run without one.

`score.json` = `{"scenario": as run, "seed", "scores", "run": {"id", "wall_s", "versions",
"started_at"}}`. Everything but `run` is the same bytes for the same scenario and seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fangkong.drill.scenario_schema import Scenario
from fangkong.drill.sim.engine import Engine, Truth
from fangkong.drill.sim.output import scores, write_files
from fangkong.drill.sim.response import NoResponse, Response
from fangkong.drill.sim.world import World

#: the files a run writes into its directory (and its baseline's)
RUN_FILES = ("truth_infections.csv", "contacts.csv", "travellers.csv", "daily.csv", "score.json")


class RunExists(Exception):
    """`--out` already holds a run (exit 1 unless --force)."""


class ResponseUnavailable(Exception):
    """The scenario asks for a response the simulator cannot drive yet (exit 2)."""


@dataclass
class RunResult:
    out: Path
    score: dict[str, Any]
    baseline: dict[str, Any]


def holds_run(out: Path) -> bool:
    return (out / "score.json").exists() or (out / "baseline" / "score.json").exists()


def _clear(out: Path) -> None:
    for d in (out, out / "baseline"):
        for name in RUN_FILES:
            (d / name).unlink(missing_ok=True)


def _versions() -> dict[str, str]:
    from fangkong import __version__

    return {"fangkong": __version__, "numpy": np.__version__, "python": platform.python_version()}


def _score_file(scenario: Scenario, seed: int, figures: dict[str, Any], run: dict[str, Any]) -> str:
    return json.dumps({"scenario": scenario.as_run(), "seed": seed, "scores": figures, "run": run},
                      ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def run_id(scenario: Scenario, seed: int, started: dt.datetime) -> str:
    """`YYYYMMDDTHHMMSS-<8 hex of scenario and seed>`: sortable, and names what was run."""
    digest = hashlib.sha256(json.dumps([scenario.as_run(), seed], sort_keys=True).encode()).hexdigest()[:8]
    return f"{started.strftime('%Y%m%dT%H%M%S')}-{digest}"


def run_drill(scenario: Scenario, *, seed: int, out: Path, force: bool = False,
              response: Response | Callable[[World], Response] | None = None,
              progress: Callable[[int], None] | None = None) -> RunResult:
    """Run the baseline of `scenario` with `seed` into `out/baseline/`, and into `out/` the run itself:
    the same simulation worked by `response` (the platform driver, `drill.platform`; tests pass scripted
    ones), or with none the baseline again. `response` may be a factory given the simulated world
    (called after the baseline). `progress(1)` after each simulated day."""
    if scenario.response and response is None:
        raise ResponseUnavailable("response: true needs a response (drill.platform.run.run_platform_drill); "
                                  "run with response: false (--set response=false) for the simulation alone")
    if holds_run(out):
        if not force:
            raise RunExists(str(out))
        _clear(out)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the run's real start, not simulated time
    t0 = time.perf_counter()
    engine = Engine(scenario, seed)
    truth: Truth = engine.run(NoResponse(), progress=progress)
    base_scores = scores(engine, truth)
    write_files(engine, truth, out / "baseline")
    run = {"id": run_id(scenario, seed, started), "wall_s": 0.0, "versions": _versions(),
           "started_at": started.isoformat()}
    if response is None:  # response: false — the run is its own baseline
        main_scores = dict(base_scores)
        write_files(engine, truth, out)
    else:  # the same city, courses and draws: only the response differs
        if not hasattr(response, "day"):
            response = response(engine.world)  # type: ignore[operator]
        run_engine = Engine(scenario, seed, world=engine.world)
        run_truth = run_engine.run(response, progress=progress)  # type: ignore[arg-type]
        main_scores = scores(run_engine, run_truth)
        extra = getattr(response, "extra_scores", None)  # what only the platform knows (command indicators)
        if extra is not None:
            main_scores.update(extra)
        write_files(run_engine, run_truth, out)
    averted = base_scores["infections"] - main_scores["infections"]
    main_scores.update({"baseline_infections": base_scores["infections"], "infections_averted": averted,
                        "relative_reduction": round(averted / base_scores["infections"], 6)
                        if base_scores["infections"] else 0.0,
                        "baseline_attack_rate": base_scores["attack_rate"],
                        "quarantine_person_days_per_averted": round(main_scores["quarantine_person_days"] / averted, 3)
                        if averted > 0 else None})
    run["wall_s"] = round(time.perf_counter() - t0, 3)
    (out / "baseline" / "score.json").write_text(_score_file(scenario, seed, base_scores, {**run, "baseline": True}),
                                                 encoding="utf-8")
    (out / "score.json").write_text(_score_file(scenario, seed, main_scores, run), encoding="utf-8")
    return RunResult(out=out, score=main_scores, baseline=base_scores)
