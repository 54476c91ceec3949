"""`fangkong bench drill`: the outbreak simulator's speed (simulated days per second) and memory.

Runs the no-response baseline of a structured-mixing scenario (R0 `r0`, `imports` travellers a day)
in the synthetic city of `persons` residents for `days` days, as `fangkong drill run` does, and writes
its files into a temporary directory. Figures: the city's build time, the simulation's, the files'
(wall and CPU seconds: on a shared machine the CPU figure is the comparable one),
`simulated_days_per_s`, infections and peak memory. Its baseline, measured in the same run, is a
floor: drawing the keyed random numbers a day needs (movement and infection: `floor_s`), with
`ratio_to_floor` = simulation / floor (the model's own work over the draws').

Then, unless `transport=none`, the same scenario with `response: true` worked through the platform
(`drill.platform`: its own drill database in the temporary directory, the city stored there, senders and
instant responders over `transport`, default http): `platform_days_per_s` (simulated days per second
of the response run, from its first to its last day) and `calls_per_s` (platform calls in that span).
Options: persons=N days=N r0=X imports=N seed=S mixing=structured|homogeneous transport=http|inprocess|none
responders=instant|default.
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


def _platform_run(sc: object, seed: int, tmp: Path, transport: str) -> dict[str, float | int | None]:
    """The scenario worked through the platform in `tmp` (its own data directory and drill database)."""
    import os

    from fangkong.drill.platform.run import run_platform_drill
    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    stamps: list[float] = []
    previous = os.environ.get("FANGKONG_DATA_DIR")
    os.environ["FANGKONG_DATA_DIR"] = str(tmp / "data")
    reset_settings_cache()
    crypto.reset_keys()
    try:
        t0 = time.perf_counter()
        _result, stats = run_platform_drill(sc, seed=seed, out=tmp / "platform",  # type: ignore[arg-type]
                                            db_url=f"sqlite:///{tmp / 'drill.db'}", transport=transport,  # type: ignore[arg-type]
                                            progress=lambda _n: stamps.append(time.perf_counter()))
        wall = time.perf_counter() - t0
    finally:
        if previous is None:
            os.environ.pop("FANGKONG_DATA_DIR", None)
        else:
            os.environ["FANGKONG_DATA_DIR"] = previous
        reset_settings_cache()
        crypto.reset_keys()
    days = len(stamps) // 2
    span = stamps[-1] - stamps[days] if days >= 2 else 0.0  # the response run, its first day's end to its last's
    return {"platform_wall_s": round(wall, 2), "platform_sim_s": round(span, 2),
            "platform_days_per_s": round((days - 1) / span, 2) if span > 0 else None,
            "calls": stats.calls, "calls_per_s": round(stats.calls / span, 1) if span > 0 else None}


@benchmark("drill", quick={"persons": 300, "days": 5, "transport": "inprocess"})
def bench_drill(*, persons: int = 20000, days: int = 60, r0: str | float = 2.0, imports: int = 10, seed: int = 1,
                mixing: str = "structured", transport: str = "http", responders: str = "instant") -> BenchResult:
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
        t0, c0 = time.perf_counter(), time.process_time()
        world = build_world(persons=persons, seed=seed, movement=sc.movement, draws=Draws(seed))
        t1, c1 = time.perf_counter(), time.process_time()
        engine = Engine(sc, seed, world=world)
        truth = engine.run()
        t2, c2 = time.perf_counter(), time.process_time()
        figures = scores(engine, truth)
        write_files(engine, truth, tmp)
        t3, c3 = time.perf_counter(), time.process_time()
        floor_s = _floor(Draws(seed), persons, days, sc.movement.max_visits)
        platform: dict[str, float | int | None] = {"calls_per_s": None}
        if transport != "none":
            platform = _platform_run(sc.model_copy(update={"response": True, "responders": responders}), seed, tmp,
                                     transport)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = BenchResult("drill")
    result.figures = {
        "persons": persons, "days": days, "mixing": mixing, "r0": float(r0),
        "city_s": round(t1 - t0, 2), "simulate_s": round(t2 - t1, 2), "files_s": round(t3 - t2, 2),
        "city_cpu_s": round(c1 - c0, 2), "simulate_cpu_s": round(c2 - c1, 2), "files_cpu_s": round(c3 - c2, 2),
        "wall_s": round(t3 - t0, 2), "simulated_days_per_s": round(days / (t2 - t1), 2) if t2 > t1 else None,
        "floor_s": round(floor_s, 2), "ratio_to_floor": round((t2 - t1) / floor_s, 2) if floor_s else None,
        "infections": figures["infections"], "attack_rate": figures["attack_rate"], "transport": transport,
        **platform, "peak_rss_mb": peak_rss_mb(),
    }
    result.notes = ["simulated_days_per_s: the no-response baseline (the city from the pure generator, no database)",
                    "platform_days_per_s, calls_per_s: the response run through the platform (its drill database "
                    "built in a temporary directory; platform_wall_s includes migrations, the stored city and "
                    "the baseline again)"]
    return result
