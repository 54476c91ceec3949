"""Historical administrative region codes (行政区划代码, GB/T 2260 over the years) for ID numbers.

A resident ID number keeps the region code of the place and time it was *issued*, so abolished and
renamed codes stay valid on living people's cards (320483 武进市, abolished 2002). The list comes from
python-stdnum's data file `stdnum/cn/loc.dat` (6,885 county codes, 1980–2025), read through
`stdnum.numdb`. We use it for the set of codes and their names only, ignoring the periods of validity:
`stdnum.cn.ric.validate` checks the periods against the birth date and rejects most older people's
cards (libraries.md), so it is never used here.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: names the data file gives to placeholder levels ("districts under the city"): never shown alone
_GENERIC = frozenset({"市辖区", "县", "省直辖县级行政单位", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_PERIOD = re.compile(r"\[[^\]]*\]")


def _latest(name: str) -> str:
    """`[-1991]东郊区,[1992-]东丽区` → `东丽区` (the latest name; periods dropped)."""
    return _PERIOD.sub("", name.split(",")[-1]).strip()


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """code6 → short name as listed (province for `xx0000`, otherwise the county-level entry)."""
    from stdnum import numdb

    table: dict[str, str] = {}
    for _length, low, high, props, children in numdb.get("cn/loc").prefixes:
        province = _latest(props.get("province", ""))
        for _l2, clow, chigh, cprops, _ in children:
            # the file lists single codes (low == high); expand a range should a later release use one
            for n in range(int(clow), int(chigh) + 1):
                county = _latest(cprops.get("county", ""))
                for p in range(int(low), int(high) + 1):
                    table[f"{p:02d}{n:04d}"] = county or province
    return table


@lru_cache(maxsize=1)
def _full_names() -> dict[str, str]:
    """code6 → full name: province, prefecture (when not a placeholder) and county, e.g.
    `320483` → `江苏省常州市武进市`, `310115` → `上海市浦东新区`."""
    table = _table()
    out: dict[str, str] = {}
    for code, name in table.items():
        province = table.get(code[:2] + "0000", "")
        parts = [province]
        if code[2:] != "0000":
            prefecture = table.get(code[:4] + "00", "")
            if code[4:] != "00" and prefecture and prefecture not in _GENERIC and prefecture != province:
                parts.append(prefecture)
            if name not in _GENERIC or code[4:] == "00":
                parts.append(name)
        out[code] = "".join(dict.fromkeys(p for p in parts if p))
    return out


def is_known_region(code6: str) -> bool:
    """The 6-digit code exists or existed in GB/T 2260 (province + prefecture + county)."""
    return code6 in _table()


def region_name(code6: str) -> str | None:
    """Full name of a known code (latest name when it was renamed); None when unknown."""
    return _full_names().get(code6)


def all_region_codes() -> list[str]:
    """Every known code, sorted (the synthetic city draws residents' origins from it)."""
    return sorted(_table())
