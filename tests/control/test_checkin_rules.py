"""Check-in rules, pure: temperatures as people write them (typing slips refused, never guessed),
symptoms, the check-in stretches of a measure from its changes, and missed slots (property tests)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.control import checkin_rules as cr

TZ = dt.timezone(dt.timedelta(hours=8))
BASE = dt.datetime(2022, 4, 18, 0, 0, tzinfo=TZ).astimezone(dt.UTC)


@pytest.mark.parametrize(("text", "value", "why"), [
    ("36.5", 36.5, None), ("36.5℃", 36.5, None), ("３６.５", 36.5, None), ("37.3 °C", 37.3, None),
    ("36度", 36.0, None), (36.55, 36.55, None), ("365", None, "out_of_range"), ("3.65", None, "out_of_range"),
    ("43.0", 43.0, None), ("43.01", None, "out_of_range"), ("", None, "missing"), ("正常", None, "not_a_number"),
    (float("nan"), None, "out_of_range"),
])
def test_temperatures(text: object, value: float | None, why: str | None) -> None:
    assert cr.parse_temperature(text) == (value, why)


def test_symptoms() -> None:
    assert cr.parse_symptoms("干咳、乏力;咽痛") == ["干咳", "乏力", "咽痛"]
    assert cr.parse_symptoms("无") == [] and cr.parse_symptoms("") == [] and cr.parse_symptoms("None") == []


def test_stretches_follow_the_check_in_phases() -> None:
    h = dt.timedelta(hours=1)
    changes = [cr.Change(BASE, "planned", "central"), cr.Change(BASE + 2 * h, "active", "central"),
               cr.Change(BASE + 50 * h, "active", "home_monitoring"),
               cr.Change(BASE + 70 * h, "released", "ended")]
    assert cr.periods(changes) == [(BASE + 2 * h, BASE + 70 * h)]
    assert cr.periods([cr.Change(BASE, "active", "self_monitoring")]) == []
    assert cr.periods([cr.Change(BASE, "active", "home_quarantine")]) == [(BASE, None)]
    assert cr.in_force([(BASE, BASE + h)], BASE) and not cr.in_force([(BASE, BASE + h)], BASE + h)


hours = st.integers(min_value=0, max_value=24 * 6)


@settings(max_examples=200, deadline=None)
@given(start=hours, length=st.integers(min_value=0, max_value=24 * 5), at=hours,
       checkins=st.lists(st.integers(min_value=0, max_value=24 * 60 * 7), max_size=20))
def test_missed_slots_lie_inside_and_have_no_checkin(start: int, length: int, at: int, checkins: list[int]) -> None:
    a = BASE + dt.timedelta(hours=start)
    b = a + dt.timedelta(hours=length)
    t = BASE + dt.timedelta(hours=at)
    times = [BASE + dt.timedelta(minutes=m) for m in checkins]
    missed = cr.missed([(a, b)], times, t, TZ)
    everything = cr.missed([(a, b)], [], t, TZ)
    for lo, hi in missed:
        assert a <= lo < hi <= min(b, t) and hi - lo == dt.timedelta(hours=12)
        assert not any(lo <= x < hi for x in times if x <= t)
    # one more check-in never adds a missed slot; every slot is either missed or holds a check-in
    assert set(missed) <= set(everything)
    assert len(everything) - len(missed) == sum(1 for lo, hi in everything if any(lo <= x < hi for x in times if x <= t))
    # a later T never un-misses a slot
    assert set(missed) <= set(cr.missed([(a, b)], times, t + dt.timedelta(hours=12), TZ))
