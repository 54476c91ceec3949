"""Who lives in the synthetic city (演练城市居民): households, names, ID numbers and phones.

Pure: a seeded `random.Random` and fixed-order tables in, values out. Nothing here is a real person:
ID numbers combine real region codes (so they validate, abolished codes included) with random birth
dates and sequence numbers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from dataclasses import dataclass
from functools import lru_cache

from fangkong.drill import names

#: ISO 7064 MOD 11-2 weights of the ID number's first 14 digits (region, birth date) and of its
#: three sequence digits: the check character of a body is computed once and the sequence added
_BODY_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5)
#: one timedelta per day of a year (birth dates are drawn a million times)
_DAYS = tuple(dt.timedelta(days=d) for d in range(365))
_CHECK = "10X98765432"

#: the prefecture the demo city lies in: its region codes are the residents' "local" ones
PREFECTURE = "3204"

#: mobile prefixes in use (decisions.md: any 1[3-9]x is valid; these make the numbers look real)
PHONE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "150", "151",
    "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180",
    "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)

#: provinces most migrants come from, with weights; the rest of the country shares `_OTHER_WEIGHT`
MIGRANT_PROVINCES = (("34", 30), ("41", 14), ("51", 8), ("42", 6), ("43", 5), ("36", 5), ("37", 6),
                     ("33", 5), ("31", 4), ("13", 3), ("23", 3), ("52", 3), ("50", 3))
_OTHER_WEIGHT = 8


@dataclass(frozen=True)
class RegionPools:
    """Region codes for ID numbers (GB/T 2260), sorted: local, province, elsewhere, abolished."""

    city: tuple[str, ...]
    province: tuple[str, ...]
    elsewhere: dict[str, tuple[str, ...]]
    abolished_near: tuple[str, ...]
    abolished_far: tuple[str, ...]


def _is_abolished(raw: str) -> bool:
    """`[1983-2015]戚墅堰区` is abolished; `[1983-]天宁区`, `天宁区` or `[…],[2002-]新北区` are current."""
    last = raw.split(",")[-1]
    m = re.match(r"\[(\d*)-(\d*)\]", last)
    return bool(m and m.group(2))


@lru_cache(maxsize=4)
def region_pools(codes: frozenset[str], prefecture: str = PREFECTURE) -> RegionPools:
    """Sort the historical region codes into the pools ID numbers are drawn from.

    Only county-level codes (not xx00 / xx01, the prefecture itself and its 市辖区) are used.
    Periods come from python-stdnum's GB/T 2260 table (the same data the validator's list is built on).
    """
    from stdnum import numdb

    db = numdb.get("cn/loc")
    city: list[str] = []
    province: list[str] = []
    elsewhere: dict[str, list[str]] = {}
    ab_near: list[str] = []
    ab_far: list[str] = []
    for code in sorted(codes):
        if len(code) != 6 or not code.isdigit() or code[4:] in ("00", "01"):
            continue
        info = db.info(code)
        raw = info[-1][1].get("county", "") if len(info) > 1 else ""
        if not raw or raw.endswith("市辖区") or raw.endswith("]县"):
            continue
        near = code[:2] == prefecture[:2]
        if _is_abolished(raw):
            (ab_near if near else ab_far).append(code)
        elif code.startswith(prefecture):
            city.append(code)
        elif near:
            province.append(code)
        else:
            elsewhere.setdefault(code[:2], []).append(code)
    if not city or not province or not elsewhere:
        raise ValueError("the region code list lacks the demo city's province")
    return RegionPools(tuple(city), tuple(province), {k: tuple(v) for k, v in sorted(elsewhere.items())},
                       tuple(ab_near), tuple(ab_far or ab_near))


def default_region_codes() -> frozenset[str]:
    from fangkong.kernel.people.regions import all_region_codes

    return frozenset(all_region_codes())


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass
class Member:
    """One member of a household (户)."""

    sex: str
    age: int
    surname: str
    role: str  # head, spouse, child, grandparent


class Residents:
    """Draws residents: households with realistic ages, names by era, unique ID numbers and phones."""

    def __init__(self, *, seed: int, regions: RegionPools, as_of: dt.date) -> None:
        self.regions = regions
        self.as_of = as_of
        self._used_ids: set[int] = set()
        self._age_ends: dict[int, dt.date] = {}
        self._eras: dict[int, int] = {}
        self._phone_counter = 0
        prng = random.Random(f"{seed}:phones")
        self._phone_a = prng.randrange(10**7, 10**8) | 1
        while self._phone_a % 5 == 0:
            self._phone_a += 2
        self._phone_b = prng.randrange(10**8)
        self._surnames = [s for s, _ in names.SURNAMES]
        self._surname_cum = list(itertools.accumulate(w for _, w in names.SURNAMES))
        self._common_cum = {k: list(itertools.accumulate(1 / (i + 1) ** 0.9 for i in range(len(v))))
                            for k, v in names.COMMON_GIVEN.items()}
        prov = [p for p, _ in MIGRANT_PROVINCES if p in self.regions.elsewhere]
        rest = [p for p in self.regions.elsewhere if p not in prov]
        weights = [w for p, w in MIGRANT_PROVINCES if p in self.regions.elsewhere]
        weights += [_OTHER_WEIGHT / max(1, len(rest))] * len(rest)
        self._migrant_provinces = prov + rest
        self._migrant_cum = list(itertools.accumulate(weights))

    def household(self, rng: random.Random) -> list[Member]:
        """One household's members (户), head first: realistic ages, a shared surname line."""
        r = rng.random()
        sur = self.surname(rng)
        sex = "M" if rng.random() < 0.5 else "F"
        other = "F" if sex == "M" else "M"

        def couple(age: int) -> list[Member]:
            spouse_age = max(20, age + (rng.randint(-5, 2) if sex == "M" else rng.randint(-2, 5)))
            return [Member(sex, age, sur, "head"), Member(other, spouse_age, self.surname(rng), "spouse")]

        def children(parent_age: int, k: int) -> list[Member]:
            father = sur if sex == "M" else self.surname(rng)
            out = []
            for _ in range(k):
                age = min(30, max(0, parent_age - rng.randint(22, 34)))
                out.append(Member("M" if rng.random() < 0.51 else "F", age,
                                   father if rng.random() < 0.95 else sur, "child"))
            return out

        if r < 0.08:  # young single
            return [Member(sex, rng.randint(20, 40), sur, "head")]
        if r < 0.15:  # elderly living alone
            return [Member(sex, rng.randint(62, 95), sur, "head")]
        if r < 0.23:  # young couple
            return couple(rng.randint(22, 36))
        if r < 0.33:  # middle-aged couple, children gone
            return couple(rng.randint(45, 64))
        if r < 0.44:  # elderly couple
            return couple(rng.randint(62, 88))
        if r < 0.74:  # parents and children
            age = rng.randint(28, 56)
            return couple(age) + children(age, 1 if rng.random() < 0.6 else 2)
        if r < 0.90:  # three generations
            age = rng.randint(28, 50)
            two_grandparents = rng.random() >= 0.5
            # at most five in a household: two grandparents live with one grandchild
            members = couple(age) + children(age, 1 if two_grandparents or rng.random() < 0.7 else 2)
            g_sur = sur if rng.random() < 0.7 else members[1].surname
            g_age = min(95, age + rng.randint(22, 32))
            if not two_grandparents:
                members.append(Member("F" if rng.random() < 0.6 else "M", g_age, g_sur, "grandparent"))
            else:
                members.append(Member("M", g_age, g_sur, "grandparent"))
                members.append(Member("F", max(45, g_age - rng.randint(0, 4)), self.surname(rng), "grandparent"))
            return members
        if r < 0.94:  # single parent
            age = rng.randint(28, 50)
            return [Member(sex, age, sur, "head"), *children(age, 1)]
        age = rng.randint(48, 68)  # parents with an adult child at home
        kids = [Member("M" if rng.random() < 0.5 else "F", rng.randint(20, min(40, age - 20)),
                        sur if sex == "M" else self.surname(rng), "child")]
        return couple(age) + kids

    def surname(self, rng: random.Random) -> str:
        return rng.choices(self._surnames, cum_weights=self._surname_cum)[0]

    def given(self, rng: random.Random, sex: str, year: int) -> str:
        era = self._eras.get(year)
        if era is None:
            era = self._eras[year] = names.era_of(year)
        if rng.random() < 0.45:
            pool = names.COMMON_GIVEN[(sex, era)]
            return rng.choices(pool, cum_weights=self._common_cum[(sex, era)])[0]
        chars = names.GIVEN_CHARS[sex]
        if rng.random() < 0.25:
            return rng.choice(chars)
        return rng.choice(chars) + rng.choice(chars)

    def region(self, rng: random.Random, age: int, year: int) -> str:
        p = self.regions
        if year < 1970 and rng.random() < 0.10:
            return rng.choice(p.abolished_near if rng.random() < 0.7 else p.abolished_far)
        r = rng.random()
        local, province = (0.85, 0.95) if age < 18 else (0.55, 0.80)
        if r < local:
            return rng.choice(p.city)
        if r < province:
            return rng.choice(p.province)
        prov = rng.choices(self._migrant_provinces, cum_weights=self._migrant_cum)[0]
        return rng.choice(p.elsewhere[prov])

    def id_number(self, rng: random.Random, region: str, birth: dt.date, sex: str, *, text: bool = True) -> str:
        """A unique ID number; `text=False` makes the same draws and reservation but returns "" (the
        simulator's arrays need no ID numbers: a quarter of a million-person city's build)."""
        body = f"{region}{birth:%Y%m%d}"
        # the weighted sum of the body once, the sequence's three digits added per try (a million
        # persons: the check digit was a tenth of the generator's time); the same as
        # `identity.id_check_digit`, which the tests check every generated number against
        body_sum = sum(int(c) * w for c, w in zip(body, _BODY_WEIGHTS, strict=True)) if text else 0
        base_key = int(body) * 1000
        odd = 1 if sex == "M" else 0
        for _ in range(2000):
            seq = rng.randrange(500) * 2 + odd
            key = base_key + seq
            if key not in self._used_ids:
                self._used_ids.add(key)
                if not text:
                    return ""
                total = body_sum + 8 * (seq // 100) + 4 * (seq // 10 % 10) + 2 * (seq % 10)
                return f"{body}{seq:03d}{_CHECK[total % 11]}"
        raise RuntimeError(f"no free ID sequence number left for {body}")  # 500 per sex, region and day

    def new_phone(self, rng: random.Random) -> str:
        # an affine map of a counter mod 10^8 (A coprime to 10) is a bijection: unique without a set
        self._phone_counter += 1
        suffix = (self._phone_a * self._phone_counter + self._phone_b) % 10**8
        return f"{rng.choice(PHONE_PREFIXES)}{suffix:08d}"

    def birth(self, rng: random.Random, age: int) -> dt.date:
        end = self._age_ends.get(age)
        if end is None:
            end = self._age_ends[age] = _years_before(self.as_of, age)
        return end - _DAYS[rng.randrange(365)]
