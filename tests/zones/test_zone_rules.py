"""Pure zone rules: strictest level per address, downgrade eligibility on hand-computed cases."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.zones import rules

TZ = dt.timezone(dt.timedelta(hours=8))
DAYS = rules.DowngradeDays()


def t(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """April 2022, local time."""
    return dt.datetime(2022, 4, day, hour, minute, tzinfo=TZ)


def rnd(rid: int, start: dt.datetime, *, targets: int = 10, negative: int = 10, excluded: int = 0,
        positive: int = 0, last: dt.datetime | None = None) -> rules.RoundFacts:
    return rules.RoundFacts(rid, start, targets, excluded, negative, positive, last or start + dt.timedelta(hours=8))


# -- overlap -----------------------------------------------------------------------------------

def test_overlapping_zones_resolve_to_the_strictest_level_per_address() -> None:
    covers = [rules.Cover(1, "low", frozenset({1, 2, 3, 4}), t(1)),
              rules.Cover(2, "high", frozenset({2}), t(2)),
              rules.Cover(3, "medium", frozenset({2, 3}), t(1)),
              rules.Cover(4, "high", frozenset({4}), t(1), ends_at=t(3))]
    assert rules.levels_by_address(covers, t(2, 12)) == {1: ("low", 1), 2: ("high", 2), 3: ("medium", 3),
                                                         4: ("high", 4)}
    # zone 2 not yet started, zone 4 ended
    assert rules.levels_by_address(covers, t(1, 12))[2] == ("medium", 3)
    assert rules.levels_by_address(covers, t(3))[4] == ("low", 1)


cover_st = st.builds(lambda zid, lv, addrs: rules.Cover(zid, lv, frozenset(addrs), t(1)),
                     st.integers(1, 50), st.sampled_from(rules.LEVELS), st.sets(st.integers(1, 8), max_size=5))


@settings(deadline=None)
@given(covers=st.lists(cover_st, max_size=8))
def test_strictest_level_never_weaker_than_any_covering_zone(covers: list[rules.Cover]) -> None:
    got = rules.levels_by_address(covers, t(2))
    for c in covers:
        for a in c.address_ids:
            assert rules.LEVEL_RANK[got[a][0]] >= rules.LEVEL_RANK[c.level]
    assert set(got) == {a for c in covers for a in c.address_ids}
    # order of the zones does not matter
    assert {a: lv for a, (lv, _) in rules.levels_by_address(list(reversed(covers)), t(2)).items()} == \
        {a: lv for a, (lv, _) in got.items()}


# -- high → medium ---------------------------------------------------------------------------

def high(infections: tuple[dt.datetime, ...] = (), rounds: tuple[rules.RoundFacts, ...] = ()) -> rules.ZoneFacts:
    # drawn on 1 April 10:00; last infection 3 April 15:00 → day 0 = 3 April, day 7 = 10 April
    return rules.ZoneFacts("high", t(1, 10), infections=infections or (t(3, 15),), rounds=rounds)


def test_high_eligible_after_seven_quiet_days_and_a_clean_round_on_day_seven() -> None:
    facts = high(rounds=(rnd(5, t(10, 7), last=t(10, 20)),))
    e = rules.eligibility(facts, DAYS, at=t(11, 0), tz=TZ)
    assert (e.eligible, e.next_level, e.day0, e.qualifying_round, e.eligible_on) == (
        True, "medium", dt.date(2022, 4, 3), 5, dt.date(2022, 4, 11))
    assert e.last_infection_at == t(3, 15)
    # one minute before the end of day 7: not yet
    before = rules.eligibility(facts, DAYS, at=t(10, 23, 59), tz=TZ)
    assert (before.eligible, before.eligible_on, before.waiting_for) == (False, dt.date(2022, 4, 11), "days")


def test_day_seven_round_incomplete_is_not_eligible() -> None:
    facts = high(rounds=(rnd(5, t(10, 7), targets=10, negative=9),))
    e = rules.eligibility(facts, DAYS, at=t(12), tz=TZ)
    assert (e.eligible, e.qualifying_round, e.eligible_on, e.waiting_for) == (False, None, None, "round_incomplete")
    # an exclusion with a reason completes it
    done = high(rounds=(rnd(5, t(10, 7), targets=10, negative=9, excluded=1),))
    assert rules.eligibility(done, DAYS, at=t(12), tz=TZ).eligible


def test_round_before_day_seven_does_not_qualify() -> None:
    e = rules.eligibility(high(rounds=(rnd(4, t(9, 7)),)), DAYS, at=t(12), tz=TZ)
    assert (e.eligible, e.waiting_for) == (False, "round_missing")


def test_late_results_of_the_round_set_the_date() -> None:
    facts = high(rounds=(rnd(5, t(10, 7), last=t(11, 9)),))
    assert not rules.eligibility(facts, DAYS, at=t(11, 8), tz=TZ).eligible
    e = rules.eligibility(facts, DAYS, at=t(11, 9), tz=TZ)
    assert (e.eligible, e.eligible_on) == (True, dt.date(2022, 4, 11))


def test_a_late_positive_resets_the_count() -> None:
    # a positive collected on 9 April: day 0 moves to 9 April, day 7 is 16 April
    facts = high(infections=(t(3, 15), t(9, 18)), rounds=(rnd(5, t(10, 7)), rnd(6, t(16, 7))))
    e = rules.eligibility(facts, DAYS, at=t(12), tz=TZ)
    assert (e.eligible, e.day0, e.last_infection_at, e.eligible_on) == (False, dt.date(2022, 4, 9), t(9, 18),
                                                                        dt.date(2022, 4, 17))
    assert rules.eligibility(facts, DAYS, at=t(17), tz=TZ).qualifying_round == 6
    # an infection after `at` is not yet known
    assert rules.eligibility(facts, DAYS, at=t(9, 17), tz=TZ).day0 == dt.date(2022, 4, 3)


def test_a_positive_in_the_day_seven_round_is_not_eligible() -> None:
    facts = high(rounds=(rnd(5, t(10, 7), negative=9, positive=1),))
    assert rules.eligibility(facts, DAYS, at=t(12), tz=TZ).waiting_for == "round_positive"


def test_a_zone_with_no_infection_counts_from_its_drawing() -> None:
    facts = rules.ZoneFacts("high", t(1, 10), rounds=(rnd(5, t(8, 7)),))
    e = rules.eligibility(facts, DAYS, at=t(9), tz=TZ)
    assert (e.day0, e.eligible, e.eligible_on) == (dt.date(2022, 4, 1), True, dt.date(2022, 4, 9))


# -- medium → low, low → lifted ------------------------------------------------------------------

def test_medium_needs_seven_days_or_three_after_high() -> None:
    drawn = rules.ZoneFacts("medium", t(1, 10), infections=(t(2, 9),))
    assert rules.eligibility(drawn, DAYS, at=t(9, 23), tz=TZ).eligible is False
    e = rules.eligibility(drawn, DAYS, at=t(10), tz=TZ)
    assert (e.eligible, e.next_level, e.eligible_on, e.days_required) == (True, "low", dt.date(2022, 4, 10), 7)
    downgraded = rules.ZoneFacts("medium", t(11, 9), came_from_high=True, infections=(t(3, 15),))
    assert rules.eligibility(downgraded, DAYS, at=t(14, 23), tz=TZ).eligible is False
    e = rules.eligibility(downgraded, DAYS, at=t(15), tz=TZ)
    assert (e.eligible, e.eligible_on, e.days_required, e.qualifying_round) == (True, dt.date(2022, 4, 15), 3, None)


def test_low_is_lifted_after_its_days() -> None:
    e = rules.eligibility(rules.ZoneFacts("low", t(1, 10)), DAYS, at=t(9), tz=TZ)
    assert (e.eligible, e.next_level) == (True, "lifted")


@settings(deadline=None)
@given(level=st.sampled_from(rules.LEVELS), inf=st.lists(st.integers(0, 20 * 24), max_size=4),
       extra=st.integers(1, 20 * 24), at_h=st.integers(0, 30 * 24))
def test_one_more_infection_never_makes_a_zone_eligible_sooner(level: str, inf: list[int], extra: int,
                                                                at_h: int) -> None:
    start = t(1)
    rounds = tuple(rnd(i, start + dt.timedelta(days=i, hours=8)) for i in range(1, 25))
    base = rules.ZoneFacts(level, start, infections=tuple(start + dt.timedelta(hours=h) for h in inf), rounds=rounds)
    more = rules.ZoneFacts(level, start, infections=(*base.infections, start + dt.timedelta(hours=extra)),
                           rounds=rounds)
    at = start + dt.timedelta(hours=at_h)
    if rules.eligibility(more, DAYS, at=at, tz=TZ).eligible:
        assert rules.eligibility(base, DAYS, at=at, tz=TZ).eligible
    e = rules.eligibility(base, DAYS, at=at, tz=TZ)
    if e.eligible:  # never before N whole quiet days after the last infection
        last = max([start, *[i for i in base.infections if i <= at]])
        assert at >= rules._midnight(last.astimezone(TZ).date() + dt.timedelta(days=e.days_required + 1), TZ)
