"""Sanity anchors (模型校验) at a small size: the simulator's idealised interventions give the ladder of
Kucharski et al. (Lancet Infect Dis 2020;20:1151, Table 3) in the same order, and Ferretti et al.'s
qualitative result (Science 2020;368:eabb6936): a 3-day delay keeps R above 1 even at 90% isolation
and tracing, no delay gets it below. Deterministic seeds; the full-size figures are in docs/drill.md."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.drill.scenario_schema import load_scenario
from fangkong.drill.sim.anchors import ANCHORS, _frontier, anchor_file, ferretti, kucharski
from fangkong.drill.sim.ideal import Ideal
from tests.cli_runner import run_cli

SMALL = ["city.persons=4000", "seeding.infections=40", "days=30"]


def test_the_anchor_files_are_scenarios_that_drill_run_accepts() -> None:
    for name in ANCHORS:
        sc = load_scenario(anchor_file(name))  # the `anchor:` block is the ladder's, not the scenario's
        assert sc.response is False and sc.seeding.infections == 100
    assert load_scenario(anchor_file("kucharski")).transmission.r0 == 2.6
    assert load_scenario(anchor_file("ferretti")).transmission.mixing == "homogeneous"
    with pytest.raises(ValueError, match="unknown intervention parameter"):
        Ideal.of({"isolation": 0.5})


def test_kucharski_ladder_keeps_the_papers_order() -> None:
    out = kucharski(seed=1, sets=SMALL)
    r = {row["rung"]: row["r"] for row in out["rows"]}
    assert r["no control"] > r["self-isolation"] > r["+ household quarantine"] > r["app tracing at 53% instead"] \
        > r["+ manual tracing of all contacts"]
    assert r["+ manual tracing of all contacts"] < 0.6 * r["no control"]
    assert abs(r["testing 5% of the population a week"] / r["no control"] - 1) < 0.08  # the paper: −2%
    # ±15 points at the anchor's size (docs/drill.md); a 4,000-person city's early R is noisier
    assert out["same_order"] and out["max_points_off"] <= 20
    assert 0.15 <= out["household_sar"] <= 0.25  # the paper's 20%


def test_ferretti_a_three_day_delay_keeps_r_above_1_and_no_delay_gets_below() -> None:
    out = ferretti(seed=1, sets=SMALL, coverages=[0.0, 0.9], delays=[3.0, 0.0])
    three, zero = out["delays"]["3.0"], out["delays"]["0.0"]
    assert out["r0"] > 1.6
    assert all(row["r_at_max_trace"] > 1 for row in three["rows"]) and three["smallest_pair"] is None
    assert zero["smallest_pair"] == [0.9, 0.9] and zero["rows"][-1]["r_at_max_trace"] < 1
    assert out["delay_3_all_above_1"] and 0.4 < out["split"]["presymptomatic"] < 0.56


def test_the_command_prints_the_ladder_and_writes_its_json(tmp_path) -> None:
    bad = run_cli("drill", "anchors", "hellewell")
    assert bad.returncode == 2
    done = run_cli("drill", "anchors", "kucharski", "--persons", "1500", "--set", "seeding.infections=20",
                   "--set", "days=20", "--out", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "anchor-kucharski.json").read_text(encoding="utf-8"))
    assert figures == json.loads(done.stdout) and figures["persons"] == 1500 and len(figures["rows"]) == 6


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.5, 3.0), b=st.floats(0.0, 2.0), c=st.floats(0.0, 3.0))
def test_the_frontier_finds_the_least_tracing_that_works(a: float, b: float, c: float) -> None:
    """R falls with both coverages; the bisection finds what a full scan finds."""
    covs = [i / 10 for i in range(10)]

    def r(iso: float, tr: float) -> float:
        return a - b * iso - c * iso * tr

    out = _frontier(covs, r)
    for row in out["rows"]:
        works = [t for t in covs if r(row["isolation"], t) < 1]
        assert row["least_tracing"] == (works[0] if works else None)
    pairs = [(i, t) for i in covs for t in covs if r(i, t) < 1]
    best = min((i + t for i, t in pairs), default=None)
    assert (out["smallest_pair"] is None) == (best is None)
    if best is not None:
        assert abs(sum(out["smallest_pair"]) - best) < 1e-9
