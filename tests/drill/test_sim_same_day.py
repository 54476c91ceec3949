"""A measure recorded during a simulated day acts from its time within that day (当日生效): today's
infections at or after its start in a setting it closes do not happen, every infection before it is the
baseline's, and a run in which no measure starts is the baseline (tests/drill/test_sim_run.py)."""

from __future__ import annotations

import numpy as np

from fangkong.drill.scenario_schema import load_scenario
from fangkong.drill.sim.engine import COMMUNITY, HOUSEHOLD, SCHOOL, VENUE, WORK, Engine
from fangkong.drill.sim.response import DayActions, DayObservation, Measure

SCENARIO = {"city": {"persons": 1500, "seed": 3}, "days": 20, "response": False,
            "transmission": {"r0": 3.0, "mixing": "structured"}, "seeding": {"infections": 15}}


class OneMeasure:
    """Starts one measure, on day `day` at `at` (within that day), on `person`."""

    name = "one"

    def __init__(self, day: int, person_id: int, at: float, kind: str) -> None:
        self.when, self.person_id, self.at, self.kind = day, person_id, at, kind

    def start(self, *, persons: int, days: int, seed: int) -> None:
        return None

    def day(self, observation: DayObservation) -> DayActions:
        if observation.day != self.when:
            return DayActions()
        return DayActions(measures=[Measure(self.person_id, self.kind, self.at)])  # type: ignore[arg-type]

    def finish(self) -> None:
        return None


def _infections(engine: Engine) -> list[tuple[int, float, int, int]]:
    t = engine.truth
    idx = np.flatnonzero(~np.isnan(t.infected_at))
    return sorted(zip(idx.tolist(), t.infected_at[idx].tolist(), t.infector[idx].tolist(),
                      t.setting[idx].tolist(), strict=True), key=lambda r: (r[1], r[0]))


def test_a_measure_started_within_a_day_removes_that_days_later_infections_it_closes() -> None:
    sc = load_scenario(SCENARIO)
    base = Engine(sc, 5)
    base_truth = base.run()
    # an infector whose transmissions outside the household on one day come after some time of that day
    t = base_truth
    outside = np.flatnonzero((t.infector >= 0) & np.isin(t.setting, (WORK, SCHOOL, VENUE, COMMUNITY))
                             & (t.infected_at >= 3))
    assert len(outside) > 5
    j = int(outside[np.argsort(t.infected_at[outside], kind="stable")][len(outside) // 2])
    infector, at = int(t.infector[j]), float(t.infected_at[j])
    day = int(np.floor(at))
    start = max(float(day), at - 0.01)  # recorded during that day, shortly before the infection

    run = Engine(sc, 5, world=base.world)
    run.run(OneMeasure(day, int(base.world.person_id[infector]), start, "home"))
    before = [r for r in _infections(base) if r[1] < start]
    assert [r for r in _infections(run) if r[1] < start] == before and len(before) > 10
    # the same day: the infection after the measure in a setting it closes did not happen …
    assert not (run.truth.infector[j] == infector and run.truth.infected_at[j] == at)
    same_day = [r for r in _infections(run) if r[2] == infector and start <= r[1]]
    assert all(r[3] == HOUSEHOLD for r in same_day)  # … while a home measure leaves the household open
    assert len(_infections(run)) < len(_infections(base))


def test_a_measure_on_the_infectee_closes_their_settings_from_its_time() -> None:
    sc = load_scenario(SCENARIO)
    base = Engine(sc, 5)
    t = base.run()
    outside = np.flatnonzero((t.infector >= 0) & np.isin(t.setting, (WORK, SCHOOL, VENUE, COMMUNITY))
                             & (t.infected_at >= 3) & (t.infected_at % 1 > 0.2))
    j = int(outside[0])
    at = float(t.infected_at[j])
    run = Engine(sc, 5, world=base.world)
    run.run(OneMeasure(int(np.floor(at)), int(base.world.person_id[j]), at - 0.1, "centralised"))
    assert run.truth.infected_at[j] != at  # infected later (NaN: not at all)
    assert [r for r in _infections(run) if r[1] < at - 0.1] == [r for r in _infections(base) if r[1] < at - 0.1]
