"""`fangkong bench drill`: the outbreak simulator's speed (simulated days per second) and memory.

Runs the no-response baseline of a structured-mixing scenario (R0 `r0`, `imports` travellers a day)
in the synthetic city of `persons` residents for `days` days, as `fangkong drill run` does, and writes
its files into a temporary directory. Figures: the city's build time, the simulation's, the files',
`simulated_days_per_s`, infections and peak memory. Its baseline, measured in the same run, is a
floor: drawing the keyed random numbers a day needs (movement and infection: `floor_s`), with
`ratio_to_floor` = simulation / floor (the model's own work over the draws'). `calls_per_s` (platform calls) is null until the
platform-driven response exists. Options: persons=N days=N r0=X imports=N seed=S mixing=structured|homogeneous.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from fangkong.kernel.bench import BenchResult, benchmark, peak_rss_mb


def _floor(draws: object, persons: int, days: int, width: int) -> float:
    """Seconds to draw what a day of the engine draws for every person (the vectorised floor)."""
    t0 = time.perf_counter()
    for day in range(days):
        for component in ("visits", "infect", "setting", "infector", "infector_venue", "infect_time"):
            draws.uniform(component, persons, day)  # type: ignore[attr-defined]
        for component in ("venue", "hour", "scan"):
            draws.uniform(component, persons, day, width=width)  # type: ignore[attr-defined]
    return time.perf_counter() - t0


@benchmark("drill", quick={"persons": 1000, "days": 10})
def bench_drill(*, persons: int = 20000, days: int = 60, r0: str | float = 2.0, imports: int = 10, seed: int = 1,
                mixing: str = "structured") -> BenchResult:
    """Outbreak simulator: simulated days per second for a baseline run (persons=N days=N)."""
    from fangkong.drill.scenario_schema import load_scenario
    from fangkong.drill.sim.draws import Draws
    from fangkong.drill.sim.engine import Engine
    from fangkong.drill.sim.output import scores, write_files
    from fangkong.drill.sim.world import build_world

    sc = load_scenario({"city": {"persons": persons, "seed": seed}, "days": days, "response": False,
                        "transmission": {"r0": float(r0), "mixing": mixing}, "imports": {"per_day": imports}})
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-drill-"))
    try:
        t0 = time.perf_counter()
        world = build_world(persons=persons, seed=seed, movement=sc.movement, draws=Draws(seed))
        t1 = time.perf_counter()
        engine = Engine(sc, seed, world=world)
        truth = engine.run()
        t2 = time.perf_counter()
        figures = scores(engine, truth)
        write_files(engine, truth, tmp)
        t3 = time.perf_counter()
        floor_s = _floor(Draws(seed), persons, days, sc.movement.max_visits)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = BenchResult("drill")
    result.figures = {
        "persons": persons, "days": days, "mixing": mixing, "r0": float(r0),
        "city_s": round(t1 - t0, 2), "simulate_s": round(t2 - t1, 2), "files_s": round(t3 - t2, 2),
        "wall_s": round(t3 - t0, 2), "simulated_days_per_s": round(days / (t2 - t1), 2) if t2 > t1 else None,
        "floor_s": round(floor_s, 2), "ratio_to_floor": round((t2 - t1) / floor_s, 2) if floor_s else None,
        "calls_per_s": None, "infections": figures["infections"], "attack_rate": figures["attack_rate"],
        "peak_rss_mb": peak_rss_mb(),
    }
    result.notes = ["baseline only (no response): calls_per_s comes with the platform-driven response",
                    "the city is built by the demo city's pure generator (CityGenerator), no database"]
    return result
