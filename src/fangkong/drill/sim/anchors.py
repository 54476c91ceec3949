"""Sanity anchors (模型校验): the simulator's idealised interventions against two published models.

`anchor-kucharski.yaml` and `anchor-ferretti.yaml` (beside `default.yaml`) are ordinary scenarios
(`fangkong drill run` runs their no-control baseline) with an `anchor:` block that `fangkong drill
anchors NAME` reads: the rungs of a ladder (Kucharski et al., Lancet Infect Dis 2020;20:1151, Table 3)
or a grid of isolation and tracing coverages at two delays (Ferretti et al., Science
2020;368:eabb6936). Each rung is the same city, seed and draws worked by an `IdealResponse`; its R is
the mean number of persons infected by each of the earliest infections (`early_share` of the
population, seeds included), the quantity the papers' branching models give.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fangkong.drill.scenario_schema import Scenario, load_scenario
from fangkong.drill.sim.draws import Draws
from fangkong.drill.sim.engine import HOUSEHOLD, Engine, Truth
from fangkong.drill.sim.ideal import Ideal, IdealResponse
from fangkong.drill.sim.world import World, build_world

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ANCHORS = ("kucharski", "ferretti")


def anchor_file(name: str) -> Path:
    if name not in ANCHORS:
        raise ValueError(f"unknown anchor {name!r}; known: {', '.join(ANCHORS)}")
    return SCENARIOS / f"anchor-{name}.yaml"


def load_anchor(name: str, sets: list[str] | tuple[str, ...] = ()) -> tuple[Scenario, dict[str, Any]]:
    """The anchor's scenario (with `key=value` edits) and its `anchor:` block."""
    path = anchor_file(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return load_scenario(path, sets), dict(data["anchor"])


def early_r(truth: Truth, n: int, share: float) -> tuple[float, int]:
    """Mean offspring of the earliest `share`·n infections (all of them when fewer), and their count."""
    infected = np.flatnonzero(~np.isnan(truth.infected_at))
    if not len(infected):
        return 0.0, 0
    order = infected[np.lexsort((infected, truth.infected_at[infected]))]
    early = order[: min(len(order), max(1, math.ceil(share * n)))]
    offspring = np.bincount(truth.infector[truth.infector >= 0], minlength=n)
    return float(offspring[early].mean()), len(early)


class Ladder:
    """One city and seed, run under many idealised responses."""

    def __init__(self, scenario: Scenario, seed: int, share: float,
                 progress: Callable[[int], None] | None = None) -> None:
        self.scenario, self.seed, self.share, self.progress = scenario, seed, share, progress
        self.world: World = build_world(persons=scenario.city.persons, seed=scenario.city.seed,
                                        movement=scenario.movement, draws=Draws(scenario.city.seed))
        self.runs = 0

    def run(self, ideal: Ideal) -> tuple[Engine, Truth, float, int]:
        engine = Engine(self.scenario, self.seed, world=self.world)
        truth = engine.run(IdealResponse(engine, ideal))
        self.runs += 1
        if self.progress is not None:
            self.progress(1)
        r, k = early_r(truth, engine.n, self.share)
        return engine, truth, r, k


def _pct(x: float) -> int:
    return round(100 * x)


def kucharski(*, seed: int = 1, sets: list[str] | tuple[str, ...] = (),
              progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The Kucharski ladder: each rung's R and reduction beside the paper's."""
    scenario, anchor = load_anchor("kucharski", sets)
    ladder = Ladder(scenario, seed, float(anchor.get("early_share", 0.02)), progress)
    rows: list[dict[str, Any]] = []
    base_r: float | None = None
    for rung in anchor["rungs"]:
        engine, truth, r, k = ladder.run(Ideal.of(rung.get("ideal")))
        if base_r is None:
            base_r = r
            hh = household_sar(engine, truth)
        reduction = r / base_r - 1 if base_r else 0.0
        paper_red = rung.get("paper_reduction", 0.0)
        rows.append({"rung": rung["name"], "paper_r": rung["paper_r"], "paper_reduction": paper_red,
                     "r": round(r, 3), "reduction": round(reduction, 3),
                     "points_off": _pct(reduction) - _pct(paper_red), "early_infections": k,
                     "infections": int((~np.isnan(truth.infected_at)).sum())})
    paper_order = [row["rung"] for row in sorted(rows, key=lambda x: x["paper_r"])]
    our_order = [row["rung"] for row in sorted(rows, key=lambda x: x["r"])]
    return {"anchor": "kucharski", "source": anchor.get("source", ""), "seed": seed,
            "persons": scenario.city.persons, "household_sar": hh, "rows": rows,
            "same_order": paper_order == our_order, "paper_order": paper_order, "our_order": our_order,
            "max_points_off": max(abs(row["points_off"]) for row in rows)}


def household_sar(engine: Engine, truth: Truth) -> float | None:
    """Secondary attack rate in the household: household infections by the earliest infections over
    their household members (the paper's 20%)."""
    w = engine.world
    infected = np.flatnonzero(~np.isnan(truth.infected_at))
    if not len(infected):
        return None
    order = infected[np.lexsort((infected, truth.infected_at[infected]))][: max(1, math.ceil(0.02 * engine.n))]
    hh_inf = (truth.setting == HOUSEHOLD) & (truth.infector >= 0)
    by = np.bincount(truth.infector[hh_inf], minlength=engine.n)
    exposed = (w.household_size[w.household[order]] - 1).sum()
    return round(float(by[order].sum() / exposed), 3) if exposed else None


def transmission_split(engine: Engine, truth: Truth, untraceable: float) -> dict[str, float]:
    """Shares of the baseline's transmissions: presymptomatic, symptomatic, asymptomatic (by the
    infector's course at the infection), and environmental (the untraceable share)."""
    c = engine.courses
    pairs = np.flatnonzero(truth.infector >= 0)
    if not len(pairs):
        return {}
    src = truth.infector[pairs]
    asym = c.asymptomatic[src]
    pre = ~asym & (truth.infected_at[pairs] < truth.infected_at[src] + c.onset[src])
    env = Draws(engine.seed).uniform("ideal_untraceable", engine.n)[pairs] < untraceable
    total = len(pairs)
    return {"presymptomatic": round(float((pre & ~env).sum() / total), 3),
            "symptomatic": round(float((~pre & ~asym & ~env).sum() / total), 3),
            "asymptomatic": round(float((asym & ~env).sum() / total), 3),
            "environmental": round(float(env.sum() / total), 3)}


def ferretti(*, seed: int = 1, sets: list[str] | tuple[str, ...] = (),
             coverages: list[float] | None = None, delays: list[float] | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The Ferretti grid: R at each delay and pair of coverages (isolation of symptomatic cases,
    quarantine of their traced contacts), and the smallest pair that gets R below 1."""
    scenario, anchor = load_anchor("ferretti", sets)
    share = float(anchor.get("early_share", 0.02))
    ladder = Ladder(scenario, seed, share, progress)
    base = dict(anchor.get("ideal") or {})
    covs = coverages or [float(c) for c in anchor["coverages"]]
    cache: dict[tuple[float, float, float], float] = {}

    def r_at(delay: float, iso: float, trace: float) -> float:
        key = (delay, iso, trace)
        if key not in cache:
            ideal = Ideal.of({**base, "isolate": iso, "trace": trace, "isolate_delay_d": delay})
            cache[key] = round(ladder.run(ideal)[2], 3)
        return cache[key]

    engine, truth, r0, k = ladder.run(Ideal.of({**base, "isolate": 0.0}))
    pairs = np.flatnonzero(truth.infector >= 0)
    gi = truth.infected_at[pairs] - truth.infected_at[truth.infector[pairs]]
    out: dict[str, Any] = {"anchor": "ferretti", "source": anchor.get("source", ""), "seed": seed,
                           "persons": scenario.city.persons, "r0": round(r0, 3), "early_infections": k,
                           "split": transmission_split(engine, truth, float(base.get("untraceable", 0.0))),
                           "generation_mean_d": round(float(gi.mean()), 2) if len(gi) else None,
                           "generation_sd_d": round(float(gi.std()), 2) if len(gi) else None, "delays": {}}
    for delay in [float(d) for d in (delays if delays is not None else anchor["delays_d"])]:
        rows = _frontier(covs, lambda iso, tr, delay=delay: r_at(delay, iso, tr))
        out["delays"][str(delay)] = rows
    three = out["delays"].get("3.0", {})
    out["delay_3_all_above_1"] = bool(three) and all(v["r_at_max_trace"] > 1 for v in three["rows"]) and \
        three["smallest_pair"] is None
    zero = out["delays"].get("0.0", {})
    out["delay_0_smallest_pair"] = zero.get("smallest_pair")
    out["runs"] = ladder.runs
    return out


def _frontier(covs: list[float], r: Callable[[float, float], float]) -> dict[str, Any]:
    """For each isolation coverage, the least tracing coverage with R < 1 (bisection over `covs`: R
    falls with both coverages), and the pair with the least sum."""
    rows = []
    best: tuple[float, float] | None = None
    for iso in covs:
        top = r(iso, covs[-1])
        least: float | None = None
        if top < 1:
            lo, hi = 0, len(covs) - 1  # covs[hi] works
            while lo < hi:
                mid = (lo + hi) // 2
                if r(iso, covs[mid]) < 1:
                    hi = mid
                else:
                    lo = mid + 1
            least = covs[hi]
            if best is None or iso + least < sum(best) - 1e-9:
                best = (iso, least)
        rows.append({"isolation": iso, "r_at_max_trace": top, "least_tracing": least,
                     "r_no_trace": r(iso, covs[0])})
    return {"rows": rows, "smallest_pair": list(best) if best else None}


def run_anchor(name: str, *, seed: int = 1, sets: list[str] | tuple[str, ...] = (),
               progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    if name == "kucharski":
        return kucharski(seed=seed, sets=sets, progress=progress)
    if name == "ferretti":
        return ferretti(seed=seed, sets=sets, progress=progress)
    raise ValueError(f"unknown anchor {name!r}; known: {', '.join(ANCHORS)}")
