"""Pure control rules: which sample does which due test, and the due plan of a schedule."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.control import rules

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.date(2022, 4, 18)


def _phases(days: list[int], kind: str = "home_quarantine") -> list[dict]:
    return [{"measure": kind, "kind": kind, "test_dates": [(START + dt.timedelta(days=d - 1)).isoformat()
                                                           for d in days]}]


def test_three_days_two_tests_plan() -> None:
    plan = rules.due_plan(_phases([1, 2], "test_only"), START - dt.timedelta(days=1), until_count=2, within_days=3, min_gap_hours=24)
    assert [(p.day, p.due_on, p.window_end_on, p.min_gap_hours) for p in plan] == [
        (1, START, START + dt.timedelta(days=1), 0.0), (2, START + dt.timedelta(days=1), START + dt.timedelta(days=2), 24.0)]


samples = st.lists(st.integers(min_value=0, max_value=10 * 24 * 4), max_size=12).map(
    lambda qs: [dt.datetime.combine(START, dt.time(0), tzinfo=TZ) + dt.timedelta(minutes=15 * q) for q in qs])


@settings(deadline=None)  # pure, but the machine may be busy: no wall-clock limit
@given(days=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5, unique=True).map(sorted),
       windowed=st.booleans(), gap=st.sampled_from([0, 12, 24]), taken=samples)
def test_each_sample_does_at_most_one_test_inside_its_window_and_gap(days, windowed, gap, taken) -> None:
    plan = rules.due_plan(_phases(days), START - dt.timedelta(days=1), until_count=len(days) if windowed else None,
                          within_days=max(days) + 1 if windowed else None, min_gap_hours=gap)
    slots = [rules.DueSlot(p.day, p.due_on, p.window_end_on, p.min_gap_hours) for p in plan]
    got = rules.assign_samples(slots, taken, TZ)
    assert len(set(got.values())) == len(got)
    by_key = {s.key: s for s in slots}
    for key, at in got.items():
        assert by_key[key].due_on <= at.astimezone(TZ).date() <= by_key[key].window_end_on
    ordered = sorted(slots, key=lambda s: s.due_on)
    for a, b in itertools.pairwise(ordered):
        if a.key in got and b.key in got and b.min_gap_hours:
            assert got[b.key] >= got[a.key] + dt.timedelta(hours=b.min_gap_hours)
    if not windowed:  # a plain schedule: a sample on a test day always does that day's test
        for s in slots:
            if any(t.astimezone(TZ).date() == s.due_on for t in taken):
                assert s.key in got


def test_missed_cutoff_is_the_end_of_the_day_plus_grace() -> None:
    grace = dt.timedelta(hours=12)
    end_of_day1 = dt.datetime.combine(START + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)
    assert rules.missed_cutoff(end_of_day1 + grace - dt.timedelta(seconds=1), grace, TZ) == START
    assert rules.missed_cutoff(end_of_day1 + grace, grace, TZ) == START + dt.timedelta(days=1)
