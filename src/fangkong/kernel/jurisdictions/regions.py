"""China's administrative divisions by name (行政区划解析): free text → one GB/T 2260 code.

Risk areas are published by county (省, 市, 县区, then a 街道/小区/村 inside), and a traveller's origin
is typed freely: "南京市鼓楼区", "南京鼓楼区", "江苏南京鼓楼", "南京市鼓樓區宁海路街道". `resolve_region`
turns such text into one code and the text left after it (the place inside the county), so that risk
areas are matched by code, never by substring.

Data: python-stdnum's `cn/loc.dat` (6,885 codes 1980–2025 with every name each code had and the years
it had it; see `kernel/people/regions.py`). A code whose latest name has no end year is *current*.

How text is read:
- Normalised first: NFKC (full-width forms), whitespace and separators (`-`, `/`, `·`, `|`) removed,
  traditional → simplified (OpenCC t2s, applied to the data's names the same way); `,` `、` `;` are
  kept (they separate places) but skipped between division names (江苏,南京,鼓楼); a name said twice
  (上海市上海市浦东新区, as 省 and 市 columns of a municipality give it) and 市辖区 are skipped too.
- A 6-digit code (or a 12-digit statistical code) is taken as that code.
- Otherwise the text is read from its start as up to three names, each optional, each deeper than and
  inside the one before: a province, a prefecture, a county. A name is the full name (江苏省, 南京市,
  鼓楼区, 长阳土家族自治县) or its abbreviation (江苏, 南京, 鼓楼, 长阳, 长阳县, 延边州: the suffix 省/市/
  区/县/地区/盟/新区/自治区/自治州/自治县 and any ethnic names before it dropped, when at least two
  characters remain). Every name the code ever had counts (武进市, 武进县 as well as 武进区). An
  abbreviation directly followed by 路/街/巷/道/桥/村/镇/乡/弄 is a street or village name, not a division
  (南京路 is not 南京).
- The readings that consume the most text win; among them codes of today beat abolished ones (东莞市 is
  441900, not the county-level 442502 of 1985–1988). If they all name one code → that code. If they name
  codes that lie inside each other (吉林 = 吉林省 or 吉林市; 长沙 = 长沙市 or 长沙县) → the outermost, which
  assumes least. Otherwise the text is **ambiguous** (鼓楼区: 南京, 徐州, 福州, 开封) and the answer names
  the candidates; it never guesses.
- Historical codes are carried to the code of today (`canonical_code`): an abolished code maps to the
  current code whose name has the stem of the abolished code's last name, in the same prefecture (武进市 320483 → 武进区 320412; 崇川区
  320602 → 320613), else in the same province, when exactly one such code exists; otherwise it stays
  as it was (下关区 320107, merged into 鼓楼区 in 2013, has no same-named successor: it matches no area
  listed under today's codes, and `Resolution.abolished` says so).
- A *county* here is a current county-level code, or a prefecture-level city that has no counties
  (东莞市, 中山市, 儋州市, 嘉峪关市): `Resolution.is_county`. Where names tie, a code's name of today
  beats another code's former name (加格达奇区 is 232761, not 232701, called 漠河市 since 2018). Text naming only a province or a prefecture
  resolves to that code, which is not a county: a county-level risk area never matches it.

`place_key` and `names_place` compare a place inside a county (街道/小区/村) the same simple way:
normalised text; the origin must contain the place's innermost part (the text after its last
街道/镇/乡), with 小区/社区/村/街道 suffixes interchangeable.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from fangkong.kernel.messages import Message, _, message

PROVINCE, PREFECTURE, COUNTY = "province", "prefecture", "county"

REGION_AMBIGUOUS = message("region.ambiguous",
                           _("%(text)s names several counties: %(names)s; give the province or city"))
REGION_UNKNOWN = message("region.unknown", _("%(text)s names no county of the division codes (GB/T 2260)"))
REGION_ABOLISHED = message("region.abolished",
                           _("%(text)s is %(name)s, which no longer exists: give the county of today"))
REGION_NOT_COUNTY = message("region.not_county", _("%(text)s names %(name)s, not a county"))
_DEPTH = {PROVINCE: 0, PREFECTURE: 1, COUNTY: 2}

#: names the data gives to placeholder levels: never a division of their own
_GENERIC = frozenset({"市辖区", "县", "市区", "省直辖县级行政单位", "省直辖县级行政区划", "自治区直辖县级行政区划"})
#: the 55 minorities as autonomous divisions name them (longest first so the regex tries them first)
_ETHNIC = sorted((
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
    "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
    "各"), key=len, reverse=True)
_AUTONOMOUS = re.compile(r"^(.{2,}?)(?:(?:" + "|".join(_ETHNIC) + r")族?)+自治(州|县|旗|区)$")
#: suffixes dropped for an abbreviation, by level (longest first)
_SUFFIXES = {
    PROVINCE: ("特别行政区", "自治区", "省", "市"),
    PREFECTURE: ("地区", "市", "盟"),
    COUNTY: ("新区", "林区", "特区", "区", "县", "市"),
}
#: a character after an abbreviation that makes it a street or village name (南京路, 鼓楼街道)
_NOT_AFTER_ABBREVIATION = frozenset("路街巷道桥村镇乡弄")
_SEPARATORS = re.compile(r"[\s\-‐‑–—/·•|>]+")
_PLACEHOLDER = "市辖区"
#: list separators: kept in the text (they separate places) but skipped between division names
_LIST_MARKS = ",、;"
_CODE = re.compile(r"^(\d{6})(?:\d{6})?(?!\d)")
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\](.*)$")
#: codes the data file lists without an end year although they were replaced: code → its successor
#: (None: none). 随州市 429001 (1994–2000, 省直辖) became the prefecture 421300; the 林区 4229 and its
#: 神农架林区 422921 became 429021 (省直辖) in 1986.
_REPLACED: dict[str, str | None] = {"429001": "421300", "422921": "429021", "422900": None}


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def _normalise(text: str) -> str:
    s = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    return s.upper()


@lru_cache(maxsize=65536)
def region_key(text: str | None) -> str:
    """How division names and places compare: NFKC, no whitespace or separators, simplified, upper-case."""
    if not text:
        return ""
    return _t2s().convert(_normalise(text))


@dataclass(frozen=True)
class Division:
    """One code of the data file: its level, every name it had (oldest first), whether it is current."""

    code: str
    level: str
    names: tuple[str, ...]
    current: bool


@dataclass(frozen=True)
class Resolution:
    """What a text names: one code (`code`), several (`candidates`, ambiguous) or nothing."""

    text: str
    #: the code of today (`canonical_code`) when the text names exactly one division
    code: str | None = None
    level: str | None = None
    #: the normalised text after the division names: the place inside (宁海路街道XX小区)
    remainder: str = ""
    #: the codes the text could mean, when more than one
    candidates: tuple[str, ...] = ()
    #: the code the text named before it was carried to today's (320483 for 武进市), when different
    named_code: str | None = None
    #: the text names a code that no longer exists and has no successor
    abolished: bool = False
    is_county: bool = False

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


class _Index:
    def __init__(self) -> None:
        self.divisions: dict[str, Division] = {}
        #: normalised name → (code, is the full name, is the code's latest name) for every name and
        #: abbreviation
        self.names: dict[str, list[tuple[str, bool, bool]]] = defaultdict(list)
        self.successor: dict[str, str] = {}
        self.county_units: frozenset[str] = frozenset()
        self.longest = 0


def _level(code: str) -> str:
    if code[2:] == "0000":
        return PROVINCE
    if code[4:] == "00":
        return PREFECTURE
    return COUNTY


def _read() -> dict[str, Division]:
    from stdnum import numdb

    out: dict[str, Division] = {}
    for _length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        for _l2, clow, chigh, cprops, _children in children:
            names: list[str] = []
            ended = False
            for part in str(cprops.get("county", "")).split(","):
                m = _PERIOD.match(part.strip())
                name, ended = (m.group(3), bool(m.group(2))) if m else (part.strip(), False)
                if name:
                    names.append(name)
            for p in range(int(low), int(high) + 1):
                for n in range(int(clow), int(chigh) + 1):
                    code = f"{p:02d}{n:04d}"
                    kept = tuple(x for x in names if x not in _GENERIC)
                    if kept:
                        out[code] = Division(code, _level(code), kept, not ended and code not in _REPLACED)
    return out


def _stem(name: str, level: str) -> tuple[str, list[str]]:
    """(stem, abbreviations) of a full name: 长阳土家族自治县 → (长阳, [长阳, 长阳县])."""
    m = _AUTONOMOUS.match(name)
    if m:
        stem = m.group(1)
        kind = m.group(2)
        extra = {"州": [stem + "州"], "县": [stem + "县"], "旗": [stem + "旗"], "区": []}[kind]
        return stem, [stem, *extra]
    for suffix in _SUFFIXES[level]:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            return stem, [stem]
    return name, []


@lru_cache(maxsize=1)
def _index() -> _Index:
    idx = _Index()
    idx.divisions = _read()
    divisions = list(idx.divisions.values())
    pairs = [(d.code, n) for d in divisions for n in d.names]
    # one OpenCC call for every name (names hold no newline; region_key would drop it as a separator)
    flat = _t2s().convert("\n".join(_normalise(n) for _, n in pairs)).split("\n")
    keys = dict(zip(pairs, flat, strict=True))
    stems: dict[str, set[str]] = defaultdict(set)  # every name's stem (today's codes)
    last_stems: dict[str, set[str]] = defaultdict(set)  # the stem of the name a code had last
    for d in divisions:
        for i, n in enumerate(d.names):
            latest = i == len(d.names) - 1
            # the converted name, and the name as written: t2s turns 乾安县 into 干安县 but 乾安縣 into 乾安县
            for full in dict.fromkeys((keys[(d.code, n)], _normalise(n))):
                if len(full) < 2:  # a bare "市" in the data is no name to read text by
                    continue
                if not any(c == d.code and f for c, f, _l in idx.names[full]):
                    idx.names[full].append((d.code, True, latest))
                stem, abbreviations = _stem(full, d.level)
                stems[d.code].add(stem)
                if latest:
                    last_stems[d.code].add(stem)
                for a in abbreviations:
                    if a != full and not any(c == d.code for c, _f, _l in idx.names[a]):
                        idx.names[a].append((d.code, False, latest))
    idx.longest = max(len(k) for k in idx.names)
    # the code of today for an abolished one: the current code with the same stem, same prefecture, else
    # same province, when there is exactly one
    current_by_stem: dict[tuple[str, str], set[str]] = defaultdict(set)
    for d in divisions:
        if d.current:
            for s in stems[d.code]:
                current_by_stem[(d.level, s)].add(d.code)
    for code, successor in _REPLACED.items():
        if successor is not None:
            idx.successor[code] = successor
    for d in divisions:
        if d.current or d.code in idx.successor:
            continue
        for width in (4, 2) if d.level == COUNTY else (2,):
            found = {c for s in last_stems[d.code] if len(s) >= 2
                     for c in current_by_stem.get((d.level, s), ()) if c[:width] == d.code[:width]}
            if len(found) == 1:
                idx.successor[d.code] = found.pop()
                break
    # counties: current county-level codes, and prefecture-level cities without any (东莞市)
    with_counties = {d.code[:4] for d in divisions if d.current and d.level == COUNTY}
    idx.county_units = frozenset(
        d.code for d in divisions if d.current and (
            d.level == COUNTY or (d.level == PREFECTURE and d.code[:4] not in with_counties)))
    return idx


def canonical_code(code: str) -> str:
    """The code of today for a code (itself when current or when no successor is known)."""
    return _index().successor.get(code, code)


def division(code: str) -> Division | None:
    return _index().divisions.get(code)


def is_county(code: str | None) -> bool:
    """A current county, or a prefecture-level city without counties (the unit risk areas are listed by)."""
    return bool(code) and code in _index().county_units


def full_name(code: str | None) -> str:
    """江苏省南京市鼓楼区 for 320106 (latest names; placeholder levels left out); '' when unknown."""
    if not code:
        return ""
    from fangkong.kernel.people.regions import region_name

    return region_name(code) or ""


def _contains(outer: str, inner: str) -> bool:
    """`inner` lies inside `outer` (or is it)."""
    depth = _DEPTH[_level(outer)]
    return inner[: 2 + 2 * depth] == outer[: 2 + 2 * depth]


def _readings(idx: _Index, key: str) -> list[tuple[int, str, bool]]:
    """Every reading of the start of `key` as province? prefecture? county?: (characters used, code,
    read by the code's latest name)."""
    out: list[tuple[int, str, bool]] = []

    def walk(pos: int, last: str | None) -> None:
        while pos < len(key) and key[pos] in _LIST_MARKS:
            pos += 1
        if last and key.startswith(_PLACEHOLDER, pos):  # 上海市市辖区浦东新区: the placeholder level
            pos += len(_PLACEHOLDER)
        depth = _DEPTH[_level(last)] if last else -1
        for length in range(min(idx.longest, len(key) - pos), 1, -1):
            token = key[pos: pos + length]
            for code, full, latest in idx.names.get(token, ()):
                d = idx.divisions[code]
                if code == last and full:  # 上海市上海市浦东新区 (省 and 市 columns both 上海市): said twice
                    walk(pos + length, last)
                    continue
                if _DEPTH[d.level] <= depth or (last is not None and not _contains(last, code)):
                    continue
                end = pos + length
                if not full and end < len(key) and key[end] in _NOT_AFTER_ABBREVIATION:
                    continue
                out.append((end, code, latest))
                if d.level != COUNTY:
                    walk(end, code)

    walk(0, None)
    return out


@lru_cache(maxsize=65536)
def resolve_region(text: str | None) -> Resolution:
    """Free text → the division it names (see the module docstring). Pure and cached."""
    raw = text or ""
    key = region_key(raw)
    if key.startswith("中华人民共和国"):
        key = key[7:]
    elif key.startswith("中国"):
        key = key[2:]
    idx = _index()
    if not key:
        return Resolution(raw)
    m = _CODE.match(key)
    if m:
        named = m.group(1)
        if named not in idx.divisions:
            return Resolution(raw)
        return _one(idx, raw, named, key[m.end():])
    readings = _readings(idx, key)
    if not readings:
        return Resolution(raw)
    used = max(end for end, _, _ in readings)
    best = [(code, latest) for end, code, latest in readings if end == used]
    named_codes = sorted({code for code, _ in best})
    codes = sorted({canonical_code(c) for c in named_codes})
    today = [c for c in codes if idx.divisions[c].current]
    if today:  # text written today means today's divisions: an abolished code is only the last resort
        codes = today
    by_latest = {canonical_code(c) for c, latest in best if latest} & set(codes)
    if by_latest:  # a code's name of today beats another code's former name (加格达奇区 is 232761)
        codes = sorted(by_latest)
    if len(codes) > 1:
        codes.sort(key=lambda c: (_DEPTH[_level(c)], c))
        outer = codes[0]
        if not all(_contains(outer, c) for c in codes[1:]) or len({_level(c) for c in codes}) != len(codes):
            return Resolution(raw, remainder=key[used:].lstrip(_LIST_MARKS), candidates=tuple(sorted(codes)))
        chosen = outer
    else:
        chosen = codes[0]
    named = chosen if chosen in named_codes else next(c for c in named_codes if canonical_code(c) == chosen)
    return _one(idx, raw, named, key[used:])


def _one(idx: _Index, raw: str, named: str, remainder: str) -> Resolution:
    code = canonical_code(named)
    d = idx.divisions[code]
    remainder = remainder.lstrip(_LIST_MARKS)
    return Resolution(raw, code, d.level, remainder, (code,), named if named != code else None,
                      abolished=not d.current, is_county=code in idx.county_units)


# ------------------------------------------------------------------------------------ places inside

#: a place's parts end with these (宁海路街道 | 颐和路2号): the innermost part is what an origin must name
_TOWN = re.compile(r"(街道|镇|乡|苏木)")
#: interchangeable endings of the innermost part (幸福小区 = 幸福社区 = 幸福村, and 幸福 at the end)
_PLACE_SUFFIXES = ("居委会", "村委会", "小区", "社区", "街道", "村")
#: a place text meaning "the whole county"
WHOLE_COUNTY = frozenset({"全域", "全境", "全县", "全区", "全市", "全旗", "县域", "区域内"})
_LIST_SEPARATORS = re.compile(r"[、,;；，]+")


def split_places(text: str | None) -> list[str]:
    """`A小区、B村` → [`A小区`, `B村`] (trimmed, NFKC); [] for empty text or 全域 (the whole county)."""
    parts = [" ".join(p.split()) for p in _LIST_SEPARATORS.split(unicodedata.normalize("NFKC", text or ""))]
    return [p for p in parts if p and region_key(p) not in WHOLE_COUNTY]


def place_key(text: str | None) -> str:
    return region_key(text)


def _innermost(key: str) -> str:
    last = 0
    for m in _TOWN.finditer(key):
        if m.end() < len(key):
            last = m.end()
    return key[last:]


def names_place(remainder: str, place: str) -> bool:
    """The origin's text after its county (`remainder`, normalised) names the place (a 街道/小区/村 text)."""
    inner = _innermost(place_key(place))
    if not inner or not remainder:
        return False
    if inner in remainder:
        return True
    for suffix in _PLACE_SUFFIXES:
        if inner.endswith(suffix) and len(inner) - len(suffix) >= 2:
            stem = inner[: -len(suffix)]
            return remainder.endswith(stem) or any(stem + s in remainder for s in _PLACE_SUFFIXES)
    return False


def county_problem(res: Resolution) -> Message | None:
    """Why a resolution is not one county of today (None when it is): for an issue on the text's field."""
    text = res.text.strip()
    if res.is_county:
        return None
    if res.ambiguous:
        return REGION_AMBIGUOUS(text=text, names="、".join(full_name(c) or c for c in res.candidates))
    if res.code is None:
        return REGION_UNKNOWN(text=text)
    if res.abolished:
        return REGION_ABOLISHED(text=text, name=full_name(res.code) or res.code)
    return REGION_NOT_COUNTY(text=text, name=full_name(res.code) or res.code)
