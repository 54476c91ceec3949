"""Address normalisation (地址标准化): pure, property-tested."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.kernel.jurisdictions.address import normalise_address

KEY = "幸福路12号3栋2单元301室"


@pytest.mark.parametrize("text", [
    "江苏省常州市武进区 幸福路１２号３幢２单元３０１",
    "幸福路12号3栋2单元301室",
    "幸福路12号3幢2单元301房",
    "幸福路12号3号楼2单元301号房",
    "幸福路12号3座2门301",
    "幸福路12号3-2-301",
    "武进区湖塘镇幸福路12号三幢二单元301",
    "江苏省常州市武进区湖塘镇花园街道幸福路12号3栋2单元3楼301室",
    "幸福路12號3棟2單元301室",
    "中国江苏省常州市 幸福路 12 号 3 栋 2 单元 301 室",
    "幸福路12号第三栋2单元301",
])
def test_variants_share_one_key(text: str) -> None:
    parts = normalise_address(text)
    assert parts.key == KEY
    assert parts.building_key == "幸福路12号3栋2单元"
    assert (parts.road, parts.house_no, parts.building, parts.entrance, parts.room) == ("幸福路", "12", "3", "2", "301")
    assert parts.issues == ()
    assert parts.text == text


@pytest.mark.parametrize(("text", "key"), [
    ("新区路3号", "新区路3号"),                       # 区 inside a road name is not a prefix
    ("常州市新北区人民市场路5号", "人民市场路5号"),      # 市 inside a road name
    ("湖塘镇东路8号", "湖塘镇东路8号"),                 # a road named after a town
    ("武进区湖塘镇东路8号", "湖塘镇东路8号"),
    ("杭州湾大道88号", "杭州湾大道88号"),
    ("南京西路1号", "南京西路1号"),
    ("上海市浦东新区张杨路100弄5号602室", "张杨路100弄5号602室"),
    ("内蒙古自治区呼和浩特市新城区北垣街5号A座1203", "北垣街5号A栋1203室"),
    ("幸福路12号十二栋二十三单元101", "幸福路12号12栋23单元101室"),
    ("幸福路12号3-301", "幸福路12号3栋301室"),
    ("幸福路12号3栋2-301", "幸福路12号3栋2单元301室"),
    ("幸福路12号", "幸福路12号"),
])
def test_keys(text: str, key: str) -> None:
    assert normalise_address(text).key == key


def test_no_house_number_has_no_building_key() -> None:
    parts = normalise_address("幸福小区3栋2单元301室")
    assert parts.key == "幸福小区3栋2单元301室"
    assert parts.building_key is None
    assert "no house number" in parts.issues


def test_unreadable_tail_is_kept_in_the_key_and_reported() -> None:
    a, b = normalise_address("幸福路12号附1"), normalise_address("幸福路12号附2")
    assert a.key != b.key  # never collide
    assert a.building_key is None  # no placement by a building we could not read
    assert any("附1" in i for i in a.issues)


def test_empty() -> None:
    parts = normalise_address("  \u3000 ")
    assert parts.key == "" and parts.issues == ("empty address",)


# --------------------------------------------------------------------------------- properties

_NAME_CHARS = "幸福和平建设人民光明友谊长江黄河朝阳花园青年解放民主胜利团结文化"
_PREFIXES = ["江苏省", "江苏省常州市", "常州市武进区", "江苏省常州市武进区湖塘镇", "武进区", "湖塘镇",
             "黑龙江省双鸭山市尖山区", "上海市浦东新区", "广西壮族自治区南宁市青秀区", "北京市朝阳区",
             "江苏省盐城市亭湖区文峰街道", "中国江苏省常州市天宁区"]
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

roads = st.builds(lambda name, suffix: name + suffix,
                  st.text(alphabet=_NAME_CHARS, min_size=1, max_size=4),
                  st.sampled_from(["路", "街", "巷", "大道", "中路", "东路"]))
numbers = st.integers(min_value=1, max_value=999).map(str)
addresses = st.tuples(roads, numbers, st.one_of(st.none(), numbers), st.one_of(st.none(), numbers),
                      st.one_of(st.none(), numbers))


def _render(road: str, house: str, building: str | None, entrance: str | None, room: str | None,
            bmark: str = "栋") -> str:
    return (road + house + "号" + (building + bmark if building else "")
            + (entrance + "单元" if entrance else "") + (room + "室" if room else ""))


@settings(max_examples=300, deadline=None)
@given(addresses, st.sampled_from(_PREFIXES), st.booleans(), st.booleans(), st.sampled_from(["栋", "幢", "座", "号楼"]))
def test_key_ignores_prefix_width_spaces_and_building_word(parts, prefix, fullwidth, spaces, bmark) -> None:
    road, house, building, entrance, room = parts
    plain = _render(road, house, building, entrance, room)
    base = normalise_address(plain)
    variant = prefix + _render(road, house, building, entrance, room, bmark)
    if fullwidth:
        variant = variant.translate(_FULLWIDTH)
    if spaces:
        variant = " ".join(variant)  # a space between every character
    got = normalise_address(variant)
    assert got.key == base.key
    assert got.building_key == base.building_key
    assert base.key.startswith(road + house + "号")
    assert (got.road, got.house_no, got.building, got.entrance, got.room) == (road, house, building, entrance, room)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_never_crashes(text: str) -> None:
    parts = normalise_address(text)
    assert isinstance(parts.key, str)
    assert parts.building_key is None or parts.key.startswith(parts.building_key)
