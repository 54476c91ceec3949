"""Pure testing rules: result words, standing results, due times, opening hours, Dorfman pooling."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.testing import rules

UTC = dt.UTC
TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(("word", "expected"), [
    ("阴性", "negative"), ("Negative", "negative"), (" NEG ", "negative"), ("-", "negative"), ("－", "negative"),
    ("阳性", "positive"), ("POS", "positive"), ("+", "positive"), ("＋", "positive"),
    ("弱阳性", None), ("", None), (None, None), ("invalid", None), ("阴", None),
])
def test_result_words(word, expected):
    assert rules.parse_result(word) == expected


def test_a_tube_stays_positive_while_any_version_is_positive():
    assert rules.tube_result([]) is None
    assert rules.tube_result(["negative"]) == "negative"
    assert rules.tube_result(["negative", "positive"]) == "positive"
    assert rules.tube_result(["positive", "negative"]) == "positive"


def test_classify_result():
    assert rules.classify_result([], "negative") == "accepted"
    assert rules.classify_result(["negative"], "negative") == "duplicate"
    assert rules.classify_result(["negative"], "positive") == "conflict"
    assert rules.classify_result(["negative", "positive"], "negative") == "duplicate"


def test_ct_values():
    assert rules.parse_ct("28.5") == ({"ct": 28.5}, None)
    assert rules.parse_ct("ORF1ab:28.5; N:30.1") == ({"ORF1ab": 28.5, "N": 30.1}, None)
    assert rules.parse_ct("") == (None, None)
    values, issue = rules.parse_ct("high")
    assert values is None and "not a Ct value" in issue


def test_next_due_counts_from_the_sampling_time_of_the_last_negative():
    enrolled = dt.datetime(2022, 4, 1, 0, 0, tzinfo=UTC)
    last = dt.datetime(2022, 4, 16, 2, 30, tzinfo=UTC)
    assert rules.next_due(last_negative_at=last, enrolled_at=enrolled, frequency_days=3) == last + dt.timedelta(days=3)
    assert rules.next_due(last_negative_at=None, enrolled_at=enrolled, frequency_days=7) == dt.datetime(
        2022, 4, 8, tzinfo=UTC)


def test_next_test_day_due_is_the_end_of_the_first_test_day_after_the_last_negative():
    days = ["2022-04-16", "2022-04-19", "2022-04-22"]
    # never tested: due by the end of the first test day (local midnight = 16:00 UTC the day before)
    assert rules.next_test_day_due(test_dates=days, last_negative_at=None, tz=TZ) == dt.datetime(
        2022, 4, 16, 16, 0, tzinfo=UTC)
    # tested on the 16th (local): next is the 19th
    tested = dt.datetime(2022, 4, 16, 1, 0, tzinfo=UTC)  # 09:00 local
    assert rules.next_test_day_due(test_dates=days, last_negative_at=tested, tz=TZ) == dt.datetime(
        2022, 4, 19, 16, 0, tzinfo=UTC)
    last = dt.datetime(2022, 4, 22, 2, 0, tzinfo=UTC)
    assert rules.next_test_day_due(test_dates=days, last_negative_at=last, tz=TZ) is None


def test_overdue_hours_and_status():
    due = dt.datetime(2022, 4, 18, 0, 0, tzinfo=UTC)
    grace = dt.timedelta(hours=12)
    assert rules.overdue_hours(due, due - dt.timedelta(hours=1)) == 0.0
    assert rules.overdue_hours(due, due + dt.timedelta(hours=5, minutes=30)) == 5.5
    assert rules.overdue_hours(None, due) == 0.0
    assert rules.compliance_status(due, due, grace) == "compliant"
    assert rules.compliance_status(due, due + dt.timedelta(hours=12), grace) == "grace"
    assert rules.compliance_status(due, due + dt.timedelta(hours=12, seconds=1), grace) == "overdue"
    assert rules.compliance_status(None, due, grace) == "not_due"


def test_opening_hours():
    assert rules.parse_hours("8:00-20:00") == ("08:00", "20:00")
    assert rules.parse_hours("08:00～20:30".replace("～", "~")) == ("08:00", "20:30")
    with pytest.raises(ValueError):
        rules.parse_hours("20:00-08:00")
    with pytest.raises(ValueError):
        rules.parse_hours("8-20")
    monday_9 = dt.datetime(2022, 4, 18, 9, 0, tzinfo=TZ)
    assert rules.is_open(opens="08:00", closes="20:00", days="12345", at_local=monday_9)
    assert not rules.is_open(opens="08:00", closes="09:00", days="12345", at_local=monday_9)
    assert not rules.is_open(opens="08:00", closes="20:00", days="67", at_local=monday_9)


def test_tree_distance():
    assert rules.tree_distance("/1/4/9/", "/1/4/9/") == 0
    assert rules.tree_distance("/1/4/9/", "/1/4/7/") == 2
    assert rules.tree_distance("/1/4/9/", "/1/5/") == 3


def test_turnaround_figures():
    t = rules.turnaround([2, 4, 6, 30, 10, 8, 12, 14, 16, 18], target_hours=24)
    assert (t.tubes, t.median_hours, t.p90_hours, t.max_hours, t.within_target) == (10, 11.0, 18, 30, 9)
    assert t.within_target_pct == 90.0
    assert rules.turnaround([], 24).tubes == 0


# ------------------------------------------------------------------------------------------- Dorfman

def test_dorfman_expected_tests_for_ten_in_one_at_one_percent():
    # hand computed: 1/10 + (1 − 0.99^10) = 0.1 + 0.0956179… = 0.1956179…
    assert rules.dorfman_tests_per_person(0.01, 10) == pytest.approx(0.19561792, abs=1e-8)
    # at 0.1 % prevalence a 10-in-1 pool needs about a tenth of the tests of single tubes
    assert rules.dorfman_tests_per_person(0.001, 10) == pytest.approx(0.1 + 1 - 0.999 ** 10)
    assert rules.dorfman_tests_per_person(0.001, 10) < 0.11
    assert rules.dorfman_tests_per_person(0.3, 1) == 1.0


def test_optimal_pool_size_at_one_percent_is_about_ten():
    # the textbook figure: at p = 1 % Dorfman's optimum is k = 11 (0.1956 tests per person at k = 10)
    assert rules.optimal_pool_size(0.01) == 11
    assert rules.dorfman_tests_per_person(0.01, 11) < rules.dorfman_tests_per_person(0.01, 10)


@pytest.mark.parametrize(("prevalence", "seed"), [(0.01, 20220418), (0.001, 7), (0.05, 42)])
def test_simulation_matches_the_dorfman_expectation(prevalence, seed):
    persons = 200_000
    simulated = rules.simulate_pooling(persons, prevalence, 10, seed=seed)
    expected = rules.dorfman_tests_per_person(prevalence, 10)
    # the standard error of the mean is ≤ sqrt(10 · 0.25 / 20,000) / 10 ≈ 0.0011 per person: 4 SE
    assert simulated == pytest.approx(expected, abs=0.0045)


@given(p=st.floats(min_value=0, max_value=1), k=st.integers(min_value=2, max_value=50))
def test_dorfman_is_between_one_pool_test_and_a_full_retest(p, k):
    e = rules.dorfman_tests_per_person(p, k)
    assert 1 / k - 1e-12 <= e <= 1 / k + 1 + 1e-12


@given(p=st.floats(min_value=0, max_value=0.99), dp=st.floats(min_value=0.001, max_value=0.01),
       k=st.integers(min_value=2, max_value=30))
def test_more_prevalence_never_means_fewer_tests(p, dp, k):
    assert rules.dorfman_tests_per_person(min(1.0, p + dp), k) >= rules.dorfman_tests_per_person(p, k) - 1e-12


def test_imperfect_specificity_adds_retests():
    assert rules.dorfman_tests_per_person(0.01, 10, specificity=0.99) > rules.dorfman_tests_per_person(0.01, 10)
