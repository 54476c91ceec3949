"""Address normalisation for the gazetteer (地址标准化). Pure: no session, no clock.

`normalise_address` turns what people type ("江苏省常州市武进区 幸福路１２号３幢２单元３０１") into a
canonical key ("幸福路12号3栋2单元301室") so that one address written many ways is one gazetteer row.

Hand-written on purpose (libraries.md, "Addresses"): cpca and jionlp resolve province/city/district
codes, not the building / unit / room part our grids are made of, and both are slow and heavy. We only
strip the administrative prefix, unify the variants and parse the tail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from fangkong.kernel.chinese import to_simplified
from fangkong.kernel.messages import _, message

NO_HOUSE_NUMBER = message("address.no_house_number", _("no house number"))
UNREADABLE_TAIL = message("address.unreadable", _("could not read %(text)s"))
EMPTY_ADDRESS = message("address.empty_text", _("empty address"))

#: a leading street / town / township token (街道/镇/乡) that is not in the national code list
_TOWN_TOKEN = re.compile(r"^[^\d\-A-Z]{1,8}?(?:街道|镇|乡)")
#: generic names in the code list that are not a place on their own
_GENERIC = {"县", "市", "区", "市区", "城区", "郊区", "东区", "西区", "南区", "北区", "新区", "林区", "矿区",
            "市辖区", "县级市", "省直辖县级行政区划", "自治区直辖县级行政区划"}
#: after a stripped token the text must not start like a road ("新区路", "湖塘镇东路", "新市街")
_ROAD_START = re.compile(r"^[东西南北中]?(?:路|街(?!道)|道|巷|弄|大道|大街|胡同|里|环|号)")
_COUNTRY = ("中华人民共和国", "中国")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_NUM = "零〇一二三四五六七八九十两"
#: Chinese numerals directly before a building / unit / floor marker are unambiguous numbers
_CN_BEFORE_MARKER = re.compile(rf"第?([{_CN_NUM}]+)(?=幢|栋|座|号楼|单元|门|楼|层)")
_DASHES = re.compile(r"[‐‑‒–—―−－~〜～]")

_HOUSE = re.compile(r"^(?P<road>.*?)(?P<house>\d+(?:-\d+)?)号(?!楼|房)(?P<tail>.*)$")
_BUILDING_ONLY = re.compile(r"^(?P<road>.*?)(?P<building>[0-9A-Z]+)(?:幢|栋|座|号楼|#楼|#)(?P<tail>.*)$")
_BUILDING = re.compile(r"^([0-9A-Z]+)(?:幢|栋|座|号楼|#楼|#)")
_ENTRANCE = re.compile(r"^(\d+)(?:单元|门)")
_FLOOR = re.compile(r"^(\d+)(?:楼|层)(?=\d)")
_ROOM = re.compile(r"^([0-9A-Z]+)(?:室|号房|房|号)?$")
_DASH3 = re.compile(r"^(\d+)-(\d+)-(\d+)(?:室|号房|房)?$")
_DASH2 = re.compile(r"^(\d+)-(\d+)(?:室|号房|房)?$")


@dataclass(frozen=True)
class AddressParts:
    """A parsed address: the canonical `key`, and `building_key` (the key without the room)."""

    text: str
    key: str
    building_key: str | None
    road: str | None
    house_no: str | None
    building: str | None
    entrance: str | None
    room: str | None
    #: short messages for the report (the caller prefixes the field name, e.g. "address: …")
    issues: tuple[str, ...]


def _cn_to_int(s: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 二十三 → 23, 一〇一 → 101; None when not a plain numeral."""
    if "十" not in s:
        if all(c in _CN_DIGITS for c in s):
            return int("".join(str(_CN_DIGITS[c]) for c in s))
        return None
    head, _, tail = s.partition("十")
    if "十" in tail or len(head) > 1 or len(tail) > 1:
        return None
    tens = 1 if head == "" else _CN_DIGITS.get(head)
    ones = 0 if tail == "" else _CN_DIGITS.get(tail)
    if tens is None or ones is None:
        return None
    return tens * 10 + ones


def _cn_numerals(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        n = _cn_to_int(m.group(1))
        return m.group(0) if n is None else str(n)

    return _CN_BEFORE_MARKER.sub(repl, s)


@lru_cache(maxsize=1)
def _admin_names() -> tuple[frozenset[str], int, frozenset[str]]:
    """Province, prefecture and county names, current and abolished (GB/T 2260 via python-stdnum).

    A known-name list rather than "anything ending in 市/区/县": roads such as 人民市场路 or 园区路
    would otherwise be eaten.
    """
    from importlib.resources import files

    names: set[str] = set()
    text = (files("stdnum.cn") / "loc.dat").read_text(encoding="utf-8")
    for m in re.finditer(r'="([^"]+)"', text):
        for part in m.group(1).split(","):
            name = re.sub(r"^\[[^\]]*\]", "", part).strip()
            if len(name) >= 2 and name not in _GENERIC:
                names.add(name)
    return frozenset(names), max(len(n) for n in names), frozenset(n[:2] for n in names)


def _keeps_road(rest: str) -> bool:
    """Stripping must leave an address: not nothing, not a bare number, not the rest of a road name."""
    return not rest or rest[0].isdigit() or rest[0] == "-" or _ROAD_START.match(rest) is not None


def _strip_admin_prefix(s: str) -> str:
    for country in _COUNTRY:
        if s.startswith(country) and len(s) > len(country):
            s = s[len(country):]
            break
    names, longest, starts = _admin_names()
    while True:
        for n in range(min(longest, len(s) - 1), 1, -1) if s[:2] in starts else ():
            if s[:n] in names and not _keeps_road(s[n:]):
                s = s[n:]
                break
        else:
            m = _TOWN_TOKEN.match(s)
            if m is None or _keeps_road(s[m.end():]):
                return s
            s = s[m.end():]


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = "".join(s.split())
    s = _DASHES.sub("-", s)
    s = to_simplified(s)
    return s.upper()


@lru_cache(maxsize=65536)  # imports repeat addresses (households, workplaces); the result is immutable
def normalise_address(text: str) -> AddressParts:
    """Canonical key `{road}{house_no}号{building}栋{entrance}单元{room}室` (absent parts omitted).

    NFKC (full-width → ASCII), spaces removed, traditional → simplified, the leading province / city /
    district / street / town prefix stripped, 幢/栋/座/号楼 → 栋, 门 → 单元, 室/房/号房 → 室, Chinese
    numerals before a building/unit marker → digits, and `3-2-301` after the house number read as
    building-unit-room. What cannot be parsed stays in the key (so distinct addresses never collide)
    and is reported in `issues`.
    """
    s = _clean(text)
    s = _strip_admin_prefix(s)
    s = _cn_numerals(s)
    issues: list[str] = []
    road = house = building = entrance = room = None
    leftover = ""

    m = _HOUSE.match(s)
    if m is not None:
        road, house, tail = m.group("road") or None, m.group("house"), m.group("tail")
    else:
        mb = _BUILDING_ONLY.match(s)
        if mb is not None:
            road, building, tail = mb.group("road") or None, mb.group("building"), mb.group("tail")
        else:
            road, tail = s or None, ""
        issues.append(NO_HOUSE_NUMBER())

    if tail:
        if building is None and (mb2 := _BUILDING.match(tail)):
            building, tail = mb2.group(1), tail[mb2.end():]
        if building is None and (d3 := _DASH3.match(tail)):
            building, entrance, room, tail = d3.group(1), d3.group(2), d3.group(3), ""
        elif building is None and (d2 := _DASH2.match(tail)):
            building, room, tail = d2.group(1), d2.group(2), ""
        if tail and (me := _ENTRANCE.match(tail)):
            entrance, tail = me.group(1), tail[me.end():]
        if tail and entrance is None and building is not None and (d2 := _DASH2.match(tail)):
            entrance, room, tail = d2.group(1), d2.group(2), ""
        if tail and (mf := _FLOOR.match(tail)):
            tail = tail[mf.end():]  # a floor before the room adds nothing: the room number carries it
        if tail and (mr := _ROOM.match(tail)):
            room, tail = mr.group(1), ""
        if tail:
            leftover = tail
            issues.append(UNREADABLE_TAIL(text=repr(tail)))

    if not s:
        return AddressParts(text, "", None, None, None, None, None, None, (EMPTY_ADDRESS(),))

    building_part = "".join([
        road or "",
        f"{house}号" if house else "",
        f"{building}栋" if building else "",
        f"{entrance}单元" if entrance else "",
    ])
    key = building_part + (f"{room}室" if room else "") + leftover
    # a part we could not read may be another building (附1, 之2): no building-level placement then
    building_key = building_part if house and not leftover else None
    return AddressParts(text, key, building_key, road, house, building, entrance, room, tuple(issues))
