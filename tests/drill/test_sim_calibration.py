"""Homogeneous calibration (均匀混合校准): without a response, the final size matches
z = 1 − e^(−R0·z).

Tolerance. The final attack rate of a major outbreak in a population of N is asymptotically normal
around z (Andersson & Britton, Stochastic Epidemic Models, 2000, ch. 4); by the delta method on
z = 1 − e^(−R0·z) its standard deviation is about sqrt(z(1−z)/N) / (1 − R0(1−z)). The spread of
infectiousness (32% asymptomatic at half infectiousness: a coefficient of variation² of 0.08) adds
well under 50% to it, so we allow 4 × 1.5 × that, plus the seeds' share 20/N that the equation leaves
out. At N = 20,000: ±0.057 at R0 1.5, ±0.030 at 2.0, ±0.013 at 3.0 — a systematic error of the
scaling to R0 (a wrong β, lost infectiousness on the day of infection) moves z by more than that.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fangkong.drill.scenario_schema import load_scenario
from fangkong.drill.sim.draws import Draws
from fangkong.drill.sim.engine import Engine
from fangkong.drill.sim.history import draw_courses, mean_generation_interval
from fangkong.drill.sim.output import scores
from fangkong.drill.sim.world import build_world

N = 20_000
SEEDS = 20


def final_size(r0: float) -> float:
    z = 0.9
    for _ in range(200):
        z = 1 - math.exp(-r0 * z)
    return z


@pytest.fixture(scope="module")
def world():
    sc = load_scenario({"city": {"persons": N, "seed": 1}})
    return build_world(persons=N, seed=1, movement=sc.movement, draws=Draws(1))


@pytest.mark.parametrize(("r0", "seed", "days"), [(1.5, 11, 200), (2.0, 12, 120), (3.0, 13, 80)])
def test_final_size_matches_the_final_size_equation(world, r0: float, seed: int, days: int) -> None:
    sc = load_scenario({"city": {"persons": N, "seed": 1}, "days": days, "response": False,
                        "transmission": {"r0": r0, "mixing": "homogeneous"}, "seeding": {"infections": SEEDS}})
    engine = Engine(sc, seed, world=world)
    truth = engine.run()
    assert truth.infectious[-1] == 0  # the outbreak is over: the size is final
    z = final_size(r0)
    sd = math.sqrt(z * (1 - z) / N) / (1 - r0 * (1 - z))
    attack = scores(engine, truth)["attack_rate"]
    assert abs(attack - z) <= 4 * 1.5 * sd + SEEDS / N, (r0, attack, z)


def test_the_early_r_is_the_scenarios_r0(world) -> None:
    """The R reached over the first 1% of infections (200 cases: a standard error ≈ 0.1) is R0 less
    the little depletion by then."""
    sc = load_scenario({"city": {"persons": N, "seed": 1}, "days": 60, "response": False,
                        "transmission": {"r0": 2.5, "mixing": "homogeneous"}, "seeding": {"infections": SEEDS}})
    engine = Engine(sc, 5, world=world)
    s = scores(engine, engine.run())
    assert 2.1 <= s["r_first_1pct"] <= 2.8, s["r_first_1pct"]
    assert s["r_eff_by_generation"][0]["generation"] == 0 and s["r_eff_by_generation"][0]["infections"] == SEEDS


def test_each_case_spends_exactly_its_relative_infectiousness() -> None:
    """The daily infectiousness of every case sums to its relative infectiousness (1, or 0.5 when
    asymptomatic), whatever the hour it was infected: that is what makes β = R0 / E[relative]."""
    sc = load_scenario({"city": {"persons": 400, "seed": 3}, "days": 25, "response": False,
                        "transmission": {"r0": 0.01, "mixing": "homogeneous"}, "seeding": {"infections": 100}})
    engine = Engine(sc, 4)
    total = np.zeros(engine.n)
    weights = engine._weights

    def counting(day: int) -> np.ndarray:
        w = weights(day)
        total[:] += w
        return w

    engine._weights = counting  # type: ignore[method-assign]
    truth = engine.run()
    seeds = np.flatnonzero(truth.setting == 0)
    assert len(seeds) == 100
    assert np.allclose(total[seeds], engine.courses.relative[seeds], atol=1e-9)


def test_omicron_generation_interval_is_about_three_and_a_half_days() -> None:
    sc = load_scenario({})
    gi = mean_generation_interval(draw_courses(sc.pathogen, 4000, Draws(1)))
    assert 3.2 <= gi <= 3.8, gi


def test_structured_mixing_reaches_its_r0_with_every_setting_used(world) -> None:
    """Per-setting scaling (household and work saturating): the early R is R0 within its noise, and
    every setting carries infections."""
    sc = load_scenario({"city": {"persons": N, "seed": 1}, "days": 40, "response": False,
                        "transmission": {"r0": 2.6, "mixing": "structured"}, "seeding": {"infections": SEEDS}})
    engine = Engine(sc, 1, world=world)
    s = scores(engine, engine.run())
    assert 2.2 <= s["r_first_1pct"] <= 3.0, s["r_first_1pct"]
    assert all(s["infections_by_setting"][k] > 0 for k in ("household", "work", "school", "venue", "community"))
