"""Decision rules (pure) against the default pack: domain.md's table, risk areas, measures in force."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.intake import rules
from fangkong.kernel.policy.service import parse_pack
from fangkong.policy_packs import read_pack_text

PACK = parse_pack(read_pack_text())
T = dt.datetime(2022, 4, 18, 1, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def decide(category=None, origin=None, arrival_at=None, areas=(), in_force=(), at=T):
    return rules.decide(PACK, category=category, origin=origin, arrival_at=arrival_at, decided_at=at,
                        areas=areas, in_force=in_force)


@pytest.mark.parametrize(("category", "measure", "total", "tests"), [
    ("close_contact", "centralised_quarantine", 10, (1, 2, 3, 5, 7, 10)),
    ("secondary_contact", "home_quarantine", 7, (1, 4, 7)),
    ("inbound_traveller", "centralised_quarantine", 10, (1, 2, 3, 5, 7, 10)),
    ("high_risk_area", "centralised_quarantine", 7, (1, 2, 3, 5, 7)),
    ("medium_risk_area", "home_quarantine", 7, (1, 4, 7)),
    ("low_risk_area", "three_days_two_tests", 3, (1, 2)),
    ("colocation", "self_health_monitoring", 3, (1, 2)),
    ("positive_pool_member", "temporary_control", None, (1,)),
])
def test_domain_table(category, measure, total, tests):
    d = decide(category)
    assert (d.rule, d.measure, d.total_days, d.test_days) == (f"categories.{category}", measure, total, tests)
    assert d.planned_end_at == (T + total * DAY if total else None)
    assert PACK.version_tag in d.explanation_zh


def test_close_contact_sentence():
    d = decide("close_contact")
    assert "密切接触者" in d.explanation_zh and "集中隔离医学观察 7 天 + 居家健康监测 3 天" in d.explanation_zh


HIGH = rules.AreaSpan("310115", "high", T - 10 * DAY, T + 10 * DAY)  # 上海市浦东新区, the whole county
MEDIUM = rules.AreaSpan("110105", "medium", T - 10 * DAY, None)  # 北京市朝阳区


def test_stay_in_a_high_risk_area():
    d = decide(origin="上海市浦東新區张江镇", arrival_at=T - DAY, areas=[HIGH, MEDIUM])
    assert (d.rule, d.category, d.risk_level) == ("risk_areas.high", "high_risk_area", "high")
    assert "高风险区" in d.explanation_zh


def test_the_area_level_at_the_arrival_time_counts():
    lifted = rules.AreaSpan(HIGH.county_code, "high", T - 10 * DAY, T - 3 * DAY)
    assert decide(origin="上海市浦东新区", arrival_at=T - 4 * DAY, areas=[lifted]).rule == "risk_areas.high"
    assert decide(origin="上海市浦东新区", arrival_at=T - 2 * DAY, areas=[lifted]).rule == "categories.other"


def test_a_stay_longer_ago_than_the_window_does_not_count():
    assert decide(origin="上海市浦东新区", arrival_at=T - 8 * DAY, areas=[HIGH]).rule == "categories.other"


def test_stronger_of_category_and_risk_area_wins():
    # a secondary contact (home quarantine) from a high-risk area: centralised quarantine
    d = decide("secondary_contact", origin="上海市浦东新区", arrival_at=T, areas=[HIGH])
    assert d.rule == "risk_areas.high"
    # a close contact from a medium-risk area stays a close contact
    assert decide("close_contact", origin="北京市朝阳区", arrival_at=T, areas=[MEDIUM]).rule == \
        "categories.close_contact"


def test_nothing_known_is_other():
    d = decide()
    assert (d.rule, d.measure, d.kind) == ("categories.other", "no_measure", "none")


def test_a_running_equal_or_stronger_measure_means_none():
    running = rules.InForce(5, "close_contact", "centralised_quarantine", T + 8 * DAY)
    d = decide("high_risk_area", in_force=[running])
    assert (d.rule, d.measure, d.in_force_id) == ("measures.in_force", None, 5)
    # ending too soon: the new exposure needs its own days
    short = rules.InForce(6, "close_contact", "centralised_quarantine", T + 2 * DAY)
    assert decide("high_risk_area", in_force=[short]).rule == "categories.high_risk_area"
    # weaker kind: the stronger measure starts
    weak = rules.InForce(7, "secondary_contact", "home_quarantine", T + 30 * DAY)
    assert decide("close_contact", in_force=[weak]).rule == "categories.close_contact"


CATS = sorted(PACK.categories)


@given(a=st.sampled_from(CATS), b=st.sampled_from(CATS))
def test_stronger_measure_wins(a, b):
    """A lead whose category and risk-area stay disagree gets the stronger of the two."""
    area = rules.AreaSpan("320106", "high", T - DAY, None)
    d = decide(a, origin="南京市鼓楼区", arrival_at=T, areas=[area])
    chosen = rules.strength(PACK, d.category)
    assert chosen >= rules.strength(PACK, a)
    assert chosen >= rules.strength(PACK, PACK.risk_areas.high.category)
    del b


@given(cat=st.sampled_from(CATS), kind=st.sampled_from(sorted(rules.KIND_RANK)),
       days=st.integers(min_value=0, max_value=30), open_ended=st.booleans())
def test_in_force_rule(cat, kind, days, open_ended):
    """An equal-or-stronger running measure that lasts as long → nothing new; otherwise a measure."""
    end = None if open_ended else T + days * DAY
    d = decide(cat, in_force=[rules.InForce(1, "x", kind, end)])
    rank, effective, _ = rules.strength(PACK, cat)
    covers = rules.KIND_RANK[kind] >= rank and (end is None or end >= T + effective * DAY)
    assert (d.rule == "measures.in_force") == covers
    assert (d.measure is None) == covers
