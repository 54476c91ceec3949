"""`fangkong drill run` (演练运行): the same seed gives the same bytes, another seed other bytes, a
response that starts no measure reproduces the baseline byte for byte, and a response that does
changes nothing on the days before its first measure and averts infections after it (paired draws)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fangkong.drill.scenario_schema import load_scenario
from fangkong.drill.sim.output import CONTACT_COLUMNS, DAILY_COLUMNS, TRAVELLER_COLUMNS, TRUTH_COLUMNS
from fangkong.drill.sim.response import Case, DayActions, DayObservation, ListedContact, Measure, Sample
from fangkong.drill.sim.run import run_drill

FILES = ("truth_infections.csv", "contacts.csv", "travellers.csv", "daily.csv")
SCENARIO = {"city": {"persons": 2000, "seed": 4}, "days": 40, "response": False,
            "transmission": {"r0": 2.5, "mixing": "structured"}, "seeding": {"infections": 10},
            "imports": {"per_day": 8, "infected_share": 0.2}, "pathogen": {"care_seeking_share": 0.9}}


def _run(tmp: Path, name: str, seed: int = 7, response=None, **changes):
    sc = load_scenario({**SCENARIO, **changes})
    return run_drill(sc, seed=seed, out=tmp / name, response=response)


def _bytes(d: Path) -> dict[str, bytes]:
    return {f: (d / f).read_bytes() for f in FILES}


def _score(d: Path) -> dict:
    data = json.loads((d / "score.json").read_text(encoding="utf-8"))
    data.pop("run")
    return data


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_files_have_the_issue_columns(tmp_path: Path) -> None:
    res = _run(tmp_path, "a")
    heads = {f: (res.out / f).read_text(encoding="utf-8").split("\n", 1)[0] for f in FILES}
    assert heads == {"truth_infections.csv": TRUTH_COLUMNS, "contacts.csv": CONTACT_COLUMNS,
                     "travellers.csv": TRAVELLER_COLUMNS, "daily.csv": DAILY_COLUMNS}
    assert TRUTH_COLUMNS == ("person_id,infected_at,infector_id,setting,infectious_from,onset_at,asymptomatic,"
                             "imported,detected_at,controlled_at")
    assert TRAVELLER_COLUMNS == "person_id,arrived_at,infected,controlled_at"
    assert CONTACT_COLUMNS == "case_id,contact_person_id,category,listed_at,controlled_at,infected"
    truth = _rows(res.out / "truth_infections.csv")
    assert len(truth) == res.score["infections"] > 10
    assert all(r["infected_at"].endswith("+08:00") for r in truth)
    assert all(r["infected_at"].startswith("2022-04-01T") for r in truth if r["setting"] == "seed")
    assert {r["setting"] for r in truth} >= {"seed", "household"}
    seeds = [r for r in truth if r["setting"] in ("seed", "import")]
    assert all(r["infector_id"] == "" for r in seeds) and all(r["infector_id"] for r in truth if r not in seeds)
    assert all((r["onset_at"] == "") == (r["asymptomatic"] == "true") for r in truth)
    assert all(r["infectious_from"] > r["infected_at"] for r in truth)
    daily = _rows(res.out / "daily.csv")
    assert len(daily) == 40 and sum(int(r["infections"]) for r in daily) == res.score["infections"]
    score = json.loads((res.out / "score.json").read_text(encoding="utf-8"))
    assert set(score) == {"scenario", "seed", "scores", "run"} and score["seed"] == 7
    assert set(score["run"]) >= {"id", "wall_s", "versions", "started_at"}
    assert score["scenario"]["pathogen"]["incubation_mean_d"] == 3.4  # as run: every value spelled out
    assert {"infections", "attack_rate", "r_first_1pct", "r_eff_by_generation"} <= set(score["scores"])


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = _run(tmp_path, "a"), _run(tmp_path, "b"), _run(tmp_path, "c", seed=8)
    assert _bytes(a.out) == _bytes(b.out) and _score(a.out) == _score(b.out)
    assert _bytes(a.out / "baseline") == _bytes(b.out / "baseline")
    assert _bytes(a.out)["truth_infections.csv"] != _bytes(c.out)["truth_infections.csv"]
    assert _bytes(a.out)["travellers.csv"] != _bytes(c.out)["travellers.csv"]
    # response: false — the run is its own baseline
    assert _bytes(a.out) == _bytes(a.out / "baseline") and a.score["infections_averted"] == 0


class Silent:
    """Reads everything real senders send and never starts a measure."""

    name = "silent"

    def __init__(self) -> None:
        self.seen: list[DayObservation] = []

    def start(self, *, persons: int, days: int, seed: int) -> None:
        self.persons = persons

    def day(self, observation: DayObservation) -> DayActions:
        self.seen.append(observation)
        return DayActions()

    def finish(self) -> None:
        self.finished = True


def test_a_response_that_starts_no_measure_reproduces_the_baseline_byte_for_byte(tmp_path: Path) -> None:
    silent = Silent()
    res = _run(tmp_path, "a", response=silent)
    assert _bytes(res.out) == _bytes(res.out / "baseline") and res.score["infections_averted"] == 0
    assert len(silent.seen) == 40 and silent.finished and silent.persons == 2000
    obs = silent.seen[3]
    assert len(obs.scans_person) < len(obs.visits_person)  # not every visit is scanned
    visits = set(zip(obs.visits_person.tolist(), obs.visits_place.tolist(), obs.visits_at.tolist(), strict=True))
    assert set(zip(obs.scans_person.tolist(), obs.scans_place.tolist(), obs.scans_at.tolist(), strict=True)) <= visits
    arrivals = sum(len(o.arrivals_person) for o in silent.seen)
    assert arrivals == len(_rows(res.out / "travellers.csv")) > 0
    assert sum(len(o.care_person) for o in silent.seen) > 0


class Isolating:
    """A crude scripted response: a person seen at a fever clinic or pharmacy is sampled; a positive is a
    case, isolated in a centralised site half a day after the result, and their household listed and
    quarantined at home."""

    name = "isolating"

    def __init__(self, households: dict[int, list[int]]) -> None:
        self.households = households
        self.first: float | None = None
        self.results: list[tuple[Sample, bool]] = []

    def start(self, *, persons: int, days: int, seed: int) -> None:
        return None

    def day(self, observation: DayObservation) -> DayActions:
        acts = DayActions()
        acts.samples = [Sample(int(p), float(t)) for p, t in zip(observation.care_person, observation.care_at,
                                                                  strict=True)]
        self.results.extend(observation.results)
        for sample, positive in observation.results:
            if not positive:
                continue
            at = observation.day + 1.5
            self.first = at if self.first is None else min(self.first, at)
            acts.cases.append(Case(sample.person_id, observation.day + 1.0))
            acts.measures.append(Measure(sample.person_id, "centralised", at))
            for other in self.households[sample.person_id]:
                if other != sample.person_id:
                    acts.contacts.append(ListedContact(sample.person_id, other, "household", at))
                    acts.measures.append(Measure(other, "home", at))
        return acts

    def finish(self) -> None:
        return None


def test_a_response_changes_nothing_before_its_first_measure_and_averts_after_it(tmp_path: Path) -> None:
    from fangkong.drill.sim.draws import Draws
    from fangkong.drill.sim.world import build_world

    sc = load_scenario(SCENARIO)
    world = build_world(persons=2000, seed=4, movement=sc.movement, draws=Draws(4))
    households: dict[int, list[int]] = {}
    for pid, hh in zip(world.person_id.tolist(), world.household.tolist(), strict=True):
        households.setdefault(hh, []).append(pid)
    by_person = {pid: households[hh] for pid, hh in zip(world.person_id.tolist(), world.household.tolist(),
                                                         strict=True)}
    response = Isolating(by_person)
    res = _run(tmp_path, "a", response=response)
    assert response.first is not None
    base = _rows(res.out / "baseline" / "truth_infections.csv")
    run = _rows(res.out / "truth_infections.csv")
    # a measure acts pro rata over the day it starts (the day's force of infection is one number), so
    # every infection on the days before that day is the baseline's
    first = (np.datetime64("2022-04-01T00:00:00") + np.timedelta64(int(response.first) * 86400, "s")).astype(str)

    def before(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
        return [(r["person_id"], r["infected_at"], r["infector_id"], r["setting"]) for r in rows
                if r["infected_at"][:19] < first]

    assert before(run) == before(base) and len(before(base)) > 10
    assert res.score["infections"] < res.baseline["infections"]
    assert res.score["infections_averted"] == res.baseline["infections"] - res.score["infections"] > 0
    assert res.score["detected"] > 0 and res.score["controlled"] > res.score["detected"]
    assert res.score["tests_used"] == len(response.results) > 0
    infected = {r["person_id"] for r in run}
    assert all(str(s.person_id) in infected for s, positive in response.results if positive)
    contacts = _rows(res.out / "contacts.csv")
    assert contacts and all(c["category"] == "household" and c["controlled_at"] for c in contacts)
    assert any(r["controlled_at"] and r["detected_at"] for r in run)


def test_the_command_exits_2_naming_the_field_path(tmp_path: Path) -> None:
    """One real process: the exit status and the message as a shell sees them."""
    path = tmp_path / "s.yaml"
    path.write_text("city: {persons: 200}\ndays: 3\nresponse: false\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    env.update(LANG="en_US.UTF-8", PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    done = subprocess.run([sys.executable, "-m", "fangkong", "drill", "run", str(path), "--seed", "1", "--out",
                           str(tmp_path / "o"), "--set", "transmission.r0=0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "transmission.r0: must be > 0" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "o").exists()


@pytest.mark.parametrize("mixing", ["homogeneous", "structured"])
def test_no_infection_without_seeds_or_imports(tmp_path: Path, mixing: str) -> None:
    res = _run(tmp_path, mixing, seeding={"infections": 0}, imports={"per_day": 0},
               transmission={"r0": 3.0, "mixing": mixing})
    assert res.score["infections"] == 0 and res.score["r_first_1pct"] is None
    assert (res.out / "truth_infections.csv").read_text(encoding="utf-8") == TRUTH_COLUMNS + "\n"
