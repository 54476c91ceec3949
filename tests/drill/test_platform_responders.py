"""Scripted responders' working conditions (drill/platform/responders.py) and what they do through the
platform: working hours, rounds and daily capacity (pure: hypothesis), the `responders:` mapping and its
errors, the district finding the persons a grid worker did not find (the platform's locate tasks), a
person ignoring a home measure, and the `*_ceiling` scores (the same drill with instant responders)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from fangkong.drill.platform.responders import ROLES, RoleSpec, Roster, parse_responders
from fangkong.drill.platform.run import run_platform_drill
from fangkong.drill.scenario_schema import load_scenario

SLA = {"grid": 24.0, "epidemiologist": 4.0, "lab": 24.0, "district": 24.0, "sampler": 0.0}
TINY = """\
city: {persons: 300, seed: 1}
days: 8
transmission: {r0: 2.5}
seeding: {infections: 6}
imports: {per_day: 2, infected_share: 0.3}
response: true
"""


@settings(max_examples=200, deadline=None)
@given(t=st.floats(0, 30), start=st.integers(0, 20), length=st.integers(1, 12), round_h=st.sampled_from([0, 0.5, 1, 3]),
       capacity=st.one_of(st.none(), st.integers(1, 3)), offset=st.sampled_from([0.0, 6.0]), n=st.integers(1, 6))
def test_the_roster_works_on_duty_on_its_rounds_within_capacity(t, start, length, round_h, capacity, offset, n):
    hours = (start, min(24, start + length))
    roster = Roster(RoleSpec(delay_h=1.0, hours=hours, capacity=capacity, round_h=round_h), offset)
    got = [roster.when(t) for _ in range(n)]
    per_day: dict[int, int] = {}
    for w in got:
        assert w >= t - 1e-9  # never before it is due
        local = w * 24 + offset
        hod = local - math.floor(local / 24 + 1e-9) * 24
        assert hours[0] - 1e-6 <= hod < hours[1] + 1e-6  # on duty
        if round_h:
            assert abs(((hod - hours[0]) / round_h) - round((hod - hours[0]) / round_h)) < 1e-6  # on a round
        day = math.floor(local / 24 + 1e-9)
        per_day[day] = per_day.get(day, 0) + 1
    if capacity is not None:
        assert max(per_day.values()) <= capacity
    else:
        assert len(set(got)) == 1  # no limit: every item due at once is done in the same round


def test_responders_mapping_and_its_errors() -> None:
    assert all(parse_responders("instant", SLA)[r] == RoleSpec(delay_h=0.0) for r in ROLES)
    assert all(not parse_responders("none", SLA)[r].acts for r in ROLES)
    default = parse_responders("default", SLA)
    assert default["grid"].delay_h == 24 and default["grid"].hours == (8, 22) and default["grid"].round_h == 1
    mixed = parse_responders({"grid": 12, "lab": "instant", "sampler": "none", "noncompliance": 0.1,
                              "district": {"hours": "09-17", "capacity": 40, "errors": 0.2}}, SLA)
    assert (mixed["grid"].delay_h, mixed["grid"].hours, mixed["lab"].delay_h, mixed["sampler"].acts) == (12, (8, 22), 0, False)
    assert (mixed["district"].hours, mixed["district"].capacity, mixed["district"].errors) == ((9, 17), 40, 0.2)
    assert mixed.noncompliance == 0.1 and mixed["epidemiologist"].delay_h == 4
    for bad, path in [({"janitor": 1}, "responders.janitor"), ({"grid": {"hours": "22-08"}}, "responders.grid.hours"),
                      ({"grid": {"errors": 2}}, "responders.grid.errors"), ({"lab": -1}, "responders.lab"),
                      ({"grid": {"speed": 1}}, "responders.grid.speed"), ({"noncompliance": "x"}, "responders.noncompliance")]:
        with pytest.raises(ValueError, match=path.replace(".", r"\.")):
            parse_responders(bad, SLA)


def _scenario(tmp: Path, sets: list[str]):
    path = tmp / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return load_scenario(path, sets)


def test_the_district_finds_whom_the_grid_did_not_and_the_ceiling_is_scored(tmp_path: Path) -> None:
    """Grid workers who miss half the persons at their address: the platform pushes those leads one level
    up and the district finds them; the run is scored against the same drill with instant responders."""
    scenario = _scenario(tmp_path, ["responders={grid: {delay_h: 6, errors: 0.5}, district: 6, epidemiologist: 2, "
                                    "noncompliance: 0.3}"])
    db = tmp_path / "d.db"
    result, stats = run_platform_drill(scenario, seed=3, out=tmp_path / "o", db_url=f"sqlite:///{db}",
                                       transport="inprocess", ceiling=True)
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            missed = conn.execute(text("SELECT count(*) FROM task WHERE kind = 'locate_person'")).scalar_one()
            found = conn.execute(text("SELECT count(*) FROM task WHERE kind = 'locate_person' AND status = 'done'"
                                      )).scalar_one()
            by = conn.execute(text("SELECT DISTINCT actor_name FROM audit_event WHERE action = 'intake.lead_verified'"
                                   )).scalars().all()
    finally:
        engine.dispose()
    assert missed > 0 and found == missed  # every lead re-pushed was found by the district
    assert sorted(by) == ["drill-district", "drill-grid"]
    assert stats.ceiling_calls > 0 and (tmp_path / "o" / "ceiling" / "score.json").exists()
    s = json.loads((tmp_path / "o" / "score.json").read_text(encoding="utf-8"))["scores"]
    ceiling = json.loads((tmp_path / "o" / "ceiling" / "score.json").read_text(encoding="utf-8"))["scores"]
    for name in ("contacts_before_infectious", "infectees_of_cases_controlled_before_infectious"):
        assert s[f"{name}_ceiling"] == ceiling[name] == result.score[f"{name}_ceiling"]
    assert s["contacts_before_infectious_ceiling"] is not None
    assert s["contacts_before_infectious_ceiling"] >= (s["contacts_before_infectious"] or 0)
