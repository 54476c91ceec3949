"""Pure checkpoint rules: shifts, plates, trips from passages, trip states as of T, stranded runs."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.checkpoints import rules

TZ = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2022, 4, 20, 8, 0, tzinfo=TZ)
H = rules.TripHours(arrival=4, exit=24, transit=4)


def h(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def test_default_and_custom_shifts() -> None:
    assert [s.label for s in rules.parse_shifts("")] == ["00:00-08:00", "08:00-16:00", "16:00-24:00"]
    night = rules.parse_shifts("08:00-20:00；20:00-08:00")
    assert [s.label for s in night] == ["08:00-20:00", "20:00-08:00"]
    start, end = night[1].window(dt.date(2022, 4, 20), TZ)
    assert (start, end) == (dt.datetime(2022, 4, 20, 20, tzinfo=TZ), dt.datetime(2022, 4, 21, 8, tzinfo=TZ))
    # 03:00 on the 21st belongs to the night shift that started on the 20th
    assert rules.shift_of(dt.datetime(2022, 4, 21, 3, tzinfo=TZ), night, TZ) == (dt.date(2022, 4, 20), night[1])
    for bad in ("8-16", "08:00-08:30;08:00-09:00", "00:00-12:00;11:00-13:00", "24:00-08:00"):
        with pytest.raises(rules.BadShifts):
            rules.parse_shifts(bad)


@given(st.integers(0, 23), st.integers(1, 24))
def test_a_single_shift_covers_its_minutes_and_belongs_to_its_start_day(start: int, length: int) -> None:
    end = (start + length) % 24 or 24
    text = f"{start:02d}:00-{end:02d}:00"
    [shift] = rules.parse_shifts(text)
    assert shift.minutes == length * 60
    day = dt.date(2022, 4, 20)
    s, e = shift.window(day, TZ)
    assert rules.shift_of(s, [shift], TZ) == (day, shift)
    assert rules.shift_of(e - dt.timedelta(minutes=1), [shift], TZ) == (day, shift)


def test_plates() -> None:
    assert rules.plate_key(" 苏d·12345 ") == "苏D12345"
    assert rules.plate_key("苏Ｄ１２３４５") == "苏D12345"
    assert rules.looks_like_plate("苏D12345") and rules.looks_like_plate("苏D1234挂")
    assert not rules.looks_like_plate("12345") and not rules.looks_like_plate("苏")


def test_local_is_the_region_prefix() -> None:
    assert rules.is_local("320412", "320400") and not rules.is_local("310115", "320400")
    assert rules.is_local("320412", "320000") and not rules.is_local("320412", None)


def P(i: int, at: float, d: str, epass: bool = True) -> rules.Passage:
    return rules.Passage(i, h(at), d, epass)


def test_trips_from_passages() -> None:
    trips = rules.trips_from_passages([P(3, 30, "in"), P(1, 0, "in"), P(2, 10, "out"), P(4, 40, "in", False),
                                       P(5, 41, "seen"), P(6, 50, "out")])
    assert [(t.entry.record_id, t.closed_as, t.exit_ and t.exit_.record_id) for t in trips] == [
        (1, "exit", 2), (3, "exit_not_seen", None)]
    assert trips[1].closed_at == h(40)


@pytest.mark.parametrize(("at", "local", "arrived", "closed", "want", "overdue"), [
    (-1, True, None, None, None, None),
    (0, True, None, None, "in_transit", None),
    (3.9, True, None, None, "in_transit", None),
    (4, True, None, None, "arrival_overdue", 0.0),
    (6.26, True, None, None, "arrival_overdue", 2.3),
    (6, True, 2, None, "at_destination", None),
    (26, True, 2, None, "exit_overdue", 0.0),
    (1, True, 2, None, "in_transit", None),  # the arrival comes later than T: ignored
    (3, False, None, None, "passing", None),
    (5.5, False, None, None, "transit_overdue", 1.5),
    (10, True, 2, ("exit", 9), "closed", None),
    (10, True, None, ("exit", 9), "closed_no_arrival", None),
    (10, False, None, ("exit", 9), "closed", None),
    (8, True, None, ("exit", 9), "arrival_overdue", 4.0),
    (10, True, None, ("exit_not_seen", 9), "exit_not_seen", None),
    (10, True, None, ("driver_staying", 9), "closed", None),
])
def test_trip_states_by_hand(at, local, arrived, closed, want, overdue) -> None:
    st_ = rules.trip_state(at=h(at), entered_at=h(0), local=local, arrived_at=h(arrived) if arrived is not None else None,
                           closed_as=closed[0] if closed else None, closed_at=h(closed[1]) if closed else None, hours=H)
    if want is None:
        assert st_ is None
    else:
        assert st_ is not None and (st_.state, st_.overdue_hours) == (want, overdue)


#: hours in whole minutes (so two times compare exactly as their hours do)
HOURS = st.integers(0, 100 * 60).map(lambda m: m / 60)


@given(at=HOURS, arrived=st.none() | HOURS, local=st.booleans(),
       closed=st.none() | st.tuples(st.sampled_from(["exit", "exit_not_seen"]), HOURS))
def test_trip_state_properties(at: float, arrived: float | None, local: bool, closed) -> None:
    s = rules.trip_state(at=h(at), entered_at=h(0), local=local, arrived_at=None if arrived is None else h(arrived),
                         closed_as=closed and closed[0], closed_at=closed and h(closed[1]), hours=H)
    assert s is not None and s.state in rules.STATES
    # overdue exactly when the state says so, never negative
    assert (s.overdue_hours is not None) == (s.state in rules.OVERDUE)
    assert s.overdue_hours is None or s.overdue_hours >= 0
    # later events never change the state as of an earlier time
    later = rules.trip_state(at=h(at), entered_at=h(0), local=local,
                             arrived_at=None if arrived is None or arrived > at else h(arrived),
                             closed_as=None if not closed or closed[1] > at else closed[0],
                             closed_at=None if not closed or closed[1] > at else h(closed[1]), hours=H)
    assert later == s
    if not local:
        assert s.state in ("passing", "transit_overdue", "closed", "exit_not_seen")


def S(at: float, place: int = 1, area: bool = True, d: str = "seen", dec: str | None = None) -> rules.Sighting:
    return rules.Sighting(h(at), place, area, d, dec)


def test_stranded_runs() -> None:
    assert rules.stranded_at([S(0), S(3), S(6)], h(7), 6) == rules.Stranded(1, h(0), h(6), 6.0)
    assert rules.stranded_at([S(0), S(5.9)], h(7), 6) is None
    # a record elsewhere ends the run; a decided sighting ends it too
    assert rules.stranded_at([S(0), S(1, 2, False, "in"), S(2), S(7)], h(8), 6) is None
    assert rules.stranded_at([S(0), S(1, dec="pass"), S(2), S(8)], h(9), 6) == rules.Stranded(1, h(2), h(8), 6.0)
    assert rules.stranded_at([S(0), S(7, dec="escort")], h(8), 6) is None
    # later records are ignored
    assert rules.stranded_at([S(0), S(6), S(7, 2, False, "out")], h(6.5), 6) == rules.Stranded(1, h(0), h(6), 6.0)


@given(st.lists(st.tuples(HOURS, st.booleans()), max_size=12), HOURS)
def test_stranded_properties(items, at) -> None:
    found = rules.stranded_at([S(t, area=a, d="seen" if a else "in") for t, a in items], h(at), 6)
    if found is not None:
        assert found.hours >= 6 and found.last_seen_at <= h(at) and found.first_seen_at <= found.last_seen_at
