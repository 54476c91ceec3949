"""Free text → one GB/T 2260 county (kernel.jurisdictions.regions): names, abbreviations, history, ambiguity."""

from __future__ import annotations

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.jurisdictions.regions import canonical_code, full_name, names_place, resolve_region

IDX = regions._index()
COUNTIES = sorted(IDX.county_units)
S2T = opencc.OpenCC("s2t")
T2S = opencc.OpenCC("t2s")
GULOU = ("320106", "320302", "350102", "410204")  # 南京, 徐州, 福州, 开封


def code(text: str) -> str | None:
    return resolve_region(text).code


# ------------------------------------------------------------------------------------- the cases

def test_gulou_alone_names_four_counties_and_is_never_a_guess():
    for text in ("鼓楼区", "鼓楼", "鼓樓區"):
        r = resolve_region(text)
        assert r.code is None and r.ambiguous and not r.is_county
        assert set(GULOU) <= set(r.candidates)
    problem = regions.county_problem(resolve_region("鼓楼区"))
    assert problem is not None and problem.code == "region.ambiguous"
    for name in ("江苏省南京市鼓楼区", "江苏省徐州市鼓楼区", "福建省福州市鼓楼区", "河南省开封市鼓楼区"):
        assert name in problem


@pytest.mark.parametrize("text", [
    "南京市鼓楼区", "南京鼓楼区", "江苏南京鼓楼", "江苏省南京市鼓楼区", "江苏 南京 鼓楼", "南京市鼓樓區",
    "南京市\u3000鼓楼区", "中国江苏省南京市鼓楼区", "江苏,南京,鼓楼", "江苏省/南京市/鼓楼区", "南京鼓楼", "320106",
    "320106001000",
])
def test_every_way_of_writing_nanjing_gulou(text):
    r = resolve_region(text)
    assert (r.code, r.is_county, r.remainder) == ("320106", True, "")


def test_text_after_the_county_is_the_place_inside():
    r = resolve_region("江苏省南京市鼓楼区宁海路街道幸福小区3栋")
    assert (r.code, r.remainder) == ("320106", "宁海路街道幸福小区3栋")
    assert resolve_region("上海市浦东新区张江镇").remainder == "张江镇"


# ------------------------------------------------------------------------------------------- history

def test_old_names_and_codes_are_carried_to_the_county_of_today():
    r = resolve_region("常州市武进市")
    assert (r.code, r.named_code, r.is_county) == ("320412", "320483", True)
    assert code("武进县") == code("武进市") == code("武进") == code("320483") == "320412"
    assert code("南通市崇川区") == "320613"  # 320602 (1991–2019) and 320613 (2020–) share the name
    assert code("苏州市吴江市") == "320509"  # 县级市 → 区
    assert code("加格达奇区") == "232761"  # 232701 was 加格达奇区 until 2018; today it is 漠河市


def test_a_county_abolished_without_successor_is_said_so():
    r = resolve_region("南京市下关区")  # merged into 鼓楼区 in 2013: the data cannot tell
    assert (r.code, r.abolished, r.is_county) == ("320107", True, False)
    assert regions.county_problem(r).code == "region.abolished"


# ------------------------------------------------------------------------------------ levels, nesting

def test_province_or_prefecture_alone_is_not_a_county():
    for text, expected in (("南京市", "320100"), ("南京", "320100"), ("江苏", "320000"), ("吉林", "220000"),
                           ("长沙", "430100"), ("延边州", "222400"), ("湖北随州", "421300")):
        r = resolve_region(text)
        assert (r.code, r.is_county) == (expected, False), text
        assert regions.county_problem(r).code == "region.not_county"
    assert code("长沙县") == "430121" and code("吉林市") == "220200"


def test_prefecture_cities_without_counties_count_as_counties():
    r = resolve_region("广东省东莞市长安镇")
    assert (r.code, r.is_county, r.remainder) == ("441900", True, "长安镇")


def test_abbreviations_and_municipalities():
    assert code("浦东") == code("上海浦东新区") == code("上海市上海市浦东新区") == code("上海市市辖区浦东新区") == "310115"
    assert code("北京朝阳") == "110105"
    assert resolve_region("朝阳").ambiguous and resolve_region("海南").ambiguous
    assert code("长阳") == code("长阳县") == code("长阳土家族自治县") == "420528"
    assert code("吉林松原乾安") == code("乾安縣") == "220723"  # OpenCC turns 乾安 into 干安: both sides alike


def test_a_street_named_after_a_city_is_not_the_city():
    assert resolve_region("南京路").code is None
    r = resolve_region("南京市江宁路")
    assert (r.code, r.is_county, r.remainder) == ("320100", False, "江宁路")


def test_unknown_text():
    for text in ("", None, "本市", "境外(新加坡)", "999999", "NANJING"):
        r = resolve_region(text)
        assert r.code is None and not r.candidates
    assert regions.county_problem(resolve_region("本市")).code == "region.unknown"


# ---------------------------------------------------------------------------------------- properties

@settings(deadline=None)
@given(c=st.sampled_from(COUNTIES))
def test_any_county_full_name_resolves_to_itself(c):
    r = resolve_region(full_name(c))
    assert (r.code, r.is_county, r.remainder) == (c, True, "")


@settings(deadline=None)
@given(c=st.sampled_from(COUNTIES), place=st.sampled_from(["幸福小区", "东方村", "宁海路街道颐和路2号", "人民路100号"]),
       gaps=st.lists(st.sampled_from(["", " ", "\u3000"]), min_size=40, max_size=40))
def test_spaces_and_the_place_after_it_do_not_change_the_county(c, place, gaps):
    text = "".join(ch + g for ch, g in zip(full_name(c), gaps, strict=False)) + " " + place
    r = resolve_region(text)
    assert (r.code, r.remainder) == (c, regions.region_key(place))


@settings(deadline=None)
@given(c=st.sampled_from(COUNTIES))
def test_traditional_characters_resolve_alike(c):
    traditional = S2T.convert(full_name(c))
    if T2S.convert(traditional) != T2S.convert(full_name(c)):  # 浚县 → 濬縣 → 濬县: OpenCC cannot go back
        return
    assert code(traditional) == c


UNIQUE_NAMES = sorted(k for k, entries in IDX.names.items()
                      if len({canonical_code(c) for c, _f, _l in entries}) == 1 and not k.isdigit())
#: names (or abbreviations) that several counties of today have as their name of today
SHARED_NAMES = sorted(k for k, entries in IDX.names.items()
                      if len({c for c, _f, latest in entries if latest and c in IDX.county_units}) > 1)


@settings(deadline=None)
@given(name=st.sampled_from(UNIQUE_NAMES))
def test_a_name_or_abbreviation_only_one_division_has_resolves_to_it(name):
    [(first, _full, _latest), *_] = IDX.names[name]
    assert code(name) == canonical_code(first)


@settings(deadline=None)
@given(name=st.sampled_from(SHARED_NAMES))
def test_a_name_several_counties_share_is_never_guessed(name):
    r = resolve_region(name)
    counties = {c for c, _f, latest in IDX.names[name] if latest and c in IDX.county_units}
    assert r.code is None and r.ambiguous and counties <= set(r.candidates)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_any_text_gives_one_code_several_or_none(text):
    r = resolve_region(text)
    assert (r.code is None) or (r.candidates == (r.code,))
    assert not (r.code and r.ambiguous)


# ------------------------------------------------------------------------------------ places inside

@pytest.mark.parametrize(("remainder", "place", "named"), [
    ("宁海路街道幸福小区3栋", "宁海路街道幸福小区", True),
    ("幸福小区", "宁海路街道幸福小区", True),          # the innermost part is enough
    ("宁海路街道", "宁海路街道幸福小区", False),        # the street alone does not say which 小区
    ("幸福社区", "幸福小区", True),                    # 小区/社区/村 interchangeable
    ("东方", "东方村", True),                         # and the bare name at the end
    ("幸福路100号", "幸福小区", False),                # a road of the same name is not the 小区
    ("木渎镇金山村", "木渎镇", True),                  # a whole town
    ("", "幸福小区", False),
])
def test_names_place(remainder, place, named):
    assert names_place(regions.region_key(remainder), place) is named


def test_split_places():
    assert regions.split_places("A小区、B村，C社区; ") == ["A小区", "B村", "C社区"]
    assert regions.split_places("全域") == [] and regions.split_places("") == []
