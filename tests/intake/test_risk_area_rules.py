"""Risk areas in decisions (pure): matched by county code and the area's own places, never by substring;
the low-risk rest of a county is derived (第九版)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.intake import rules
from fangkong.intake.areas import locate
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.policy.service import parse_pack
from fangkong.policy_packs import read_pack_text

PACK = parse_pack(read_pack_text())
T = dt.datetime(2022, 4, 18, 1, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def area(level="high", *, start=T - 10 * DAY, end=None, area_id=1, **where) -> rules.AreaSpan:
    """An area as an import row gives it (省/市/县区/风险区名称 or region_name)."""
    located = locate(**where)
    assert not located.issues, located.issues
    return rules.AreaSpan(located.county_code, level, start, end, tuple(located.places), area_id)


def decide(origin, areas, *, category=None, arrival=T - DAY):
    return rules.decide(PACK, category=category, origin=origin, arrival_at=arrival, decided_at=T, areas=areas)


GULOU = area(province="江苏省", city="南京市", county="鼓楼区")
XIAOQU = area(province="江苏省", city="南京市", county="鼓楼区", place="宁海路街道幸福小区", area_id=2)


def test_gulou_alone_is_an_issue_on_origin_not_a_match():
    d = decide("鼓楼区", [GULOU])
    assert d.rule == "categories.other" and d.risk_level is None
    assert d.origin_issue is not None and d.origin_issue.field == "origin"
    assert d.origin_issue.message.code == "region.ambiguous"
    assert "江苏省南京市鼓楼区" in d.origin_issue and "江苏省徐州市鼓楼区" in d.origin_issue
    assert "对应多个县区" in d.explanation_zh


def test_both_ways_of_writing_the_county_match_the_area_listed_by_province_city_county():
    for origin in ("南京市鼓楼区", "南京鼓楼区", "江苏南京鼓楼", "江苏省南京市鼓樓區湖南路街道"):
        d = decide(origin, [GULOU])
        assert (d.rule, d.risk_level, d.origin_code) == ("risk_areas.high", "high", "320106"), origin
        assert d.origin_issue is None
    assert "江苏省南京市鼓楼区（全域）" in decide("南京鼓楼区", [GULOU]).explanation_zh


def test_other_gulou_districts_do_not_match():
    for origin in ("徐州市鼓楼区", "福州鼓楼区", "开封市鼓楼区", "南京市玄武区"):
        assert decide(origin, [GULOU]).rule == "categories.other", origin


def test_a_xiaoqu_area_matches_only_origins_naming_it_the_rest_of_the_county_is_derived_low():
    for origin in ("江苏省南京市鼓楼区宁海路街道幸福小区", "南京鼓楼区幸福小区3栋", "南京市鼓楼区幸福社区"):
        d = decide(origin, [XIAOQU])
        assert (d.rule, d.risk_level, d.risk_area_id) == ("risk_areas.high", "high", 2), origin
        assert "高风险区「江苏省南京市鼓楼区宁海路街道幸福小区」" in d.explanation_zh
    for origin in ("南京市鼓楼区", "南京市鼓楼区宁海路街道", "南京市鼓楼区湖南路街道某小区"):
        d = decide(origin, [XIAOQU])
        assert (d.rule, d.risk_level, d.category) == ("risk_areas.low_derived", "low", "low_risk_area"), origin
        assert d.measure == "three_days_two_tests"
        assert "属低风险区" in d.explanation_zh and "其他地区为低风险区" in d.explanation_zh
        assert "risk_areas.low_derived" in d.explanation_zh
    # the same 小区 name in another county is not the area
    assert decide("南京市玄武区幸福小区", [XIAOQU]).rule == "categories.other"


def test_the_derived_low_level_lasts_as_long_as_a_high_or_medium_area_of_the_county():
    lifted = area(province="江苏省", city="南京市", county="鼓楼区", place="幸福小区", end=T - 3 * DAY)
    assert decide("南京市鼓楼区", [lifted], arrival=T - 4 * DAY).rule == "risk_areas.low_derived"
    assert decide("南京市鼓楼区", [lifted], arrival=T - 2 * DAY).rule == "categories.other"
    # a medium area makes the rest low too; the stronger area named wins over the derived level
    medium = area("medium", region_name="南京市鼓楼区", place="江东村", area_id=3)
    assert decide("南京市鼓楼区", [medium]).rule == "risk_areas.low_derived"
    assert decide("南京鼓楼区江东村", [medium, XIAOQU]).rule == "risk_areas.medium"


def test_a_category_stronger_than_the_derived_level_stays():
    assert decide("南京市鼓楼区", [XIAOQU], category="close_contact").rule == "categories.close_contact"


def test_an_origin_with_an_old_name_matches_the_area_under_todays_code():
    wujin = area(region_name="江苏省常州市武进区")
    assert decide("常州市武进市", [wujin]).rule == "risk_areas.high"
    assert decide("武进县", [wujin]).rule == "risk_areas.high"


def test_a_city_alone_is_an_issue_when_that_city_has_areas_in_force():
    d = decide("南京市", [XIAOQU])
    assert d.rule == "categories.other"
    assert d.origin_issue is not None and d.origin_issue.message.code == "origin.not_county"
    assert "宁海路街道幸福小区" in d.origin_issue
    assert decide("南京市", []).origin_issue is None
    assert decide("本市", [XIAOQU]).origin_issue is None


def test_typed_low_areas_kept_from_before_still_count():
    old_low = rules.AreaSpan("320506", "low", T - 10 * DAY, None)  # 苏州市吴中区, typed before #10
    assert decide("苏州市吴中区", [old_low]).rule == "risk_areas.low"


COUNTIES = sorted(regions._index().county_units)


@settings(deadline=None)
@given(a=st.sampled_from(COUNTIES), b=st.sampled_from(COUNTIES))
def test_an_area_never_reaches_another_county(a, b):
    """Whatever the names, an area of county a decides only origins of county a."""
    span = rules.AreaSpan(a, "high", T - 10 * DAY, None)
    d = decide(regions.full_name(b) + "幸福小区", [span])
    assert (d.rule == "risk_areas.high") == (a == b)


@settings(deadline=None)
@given(c=st.sampled_from(COUNTIES), place=st.sampled_from(["幸福小区", "东方村", "人民路街道"]))
def test_a_place_area_decides_its_place_high_and_the_rest_of_its_county_low(c, place):
    span = rules.AreaSpan(c, "high", T - 10 * DAY, None, (place,))
    name = regions.full_name(c)
    assert decide(name + place, [span]).rule == "risk_areas.high"
    assert decide(name, [span]).rule == "risk_areas.low_derived"
