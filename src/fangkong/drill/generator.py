"""The synthetic city as pure iterators (演练城市生成): row dicts out, no database, no clock.

`CityGenerator.rows()` yields `(table, row)` pairs in foreign-key order — units, then places with
their addresses, then grid by grid the residential addresses and their residents — so a loader can
stream them into the database in chunks. Everything comes from `random.Random` instances seeded from
(`seed`, phase) and from tuples in fixed order: the same seed and size give the same rows.

Person rows carry the ID and phone numbers in clear (`id_number`, `phone`); the loader turns them into
the stored, encrypted columns. Nothing here is a real person: ID numbers use real region codes (so
they validate) with random birth dates and sequence numbers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fangkong.drill import catalog, names
from fangkong.drill.residents import Member, Residents, default_region_codes, region_pools
from fangkong.kernel.jurisdictions.address import normalise_address

#: the date the demo city's ages are counted at (a fixed date keeps the content independent of the
#: day it is generated; early 2022 suits drills set in the seeds' period)
AS_OF = dt.date(2022, 1, 1)

#: the city's district codes, in the prefecture whose ID region codes are the residents' "local" ones
DISTRICT_CODES = ("320402", "320404", "320411", "320412", "320413", "320481", "320405", "320482")

#: average residents per grid (the brief: 300–600)
RESIDENTS_PER_GRID = 450

PLACE_CODE_PREFIX = {
    "employer": "E", "venue": "V", "checkpoint": "K", "sampling_point": "S", "sentinel": "H",
    "quarantine_site": "Q",
}

_CN_ORDINALS = "一二三四五六七八九"


# -------------------------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class Root:
    """The root unit the city is built under."""

    id: int
    path: str
    depth: int


@dataclass(frozen=True)
class IdBase:
    """The highest id already used in each table; generated ids start after it."""

    unit: int = 0
    address: int = 0
    place: int = 0
    person: int = 0


# ------------------------------------------------------------------------------------------- results

@dataclass
class CityStats:
    """What the demo city holds (counts only)."""

    units: dict[str, int] = field(default_factory=dict)
    addresses: int = 0
    households: int = 0
    persons: int = 0
    persons_without_phone: int = 0
    persons_sharing_phone: int = 0
    employed: int = 0
    places: dict[str, int] = field(default_factory=dict)
    quarantine_rooms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "units": dict(self.units), "addresses": self.addresses, "households": self.households,
            "persons": self.persons, "persons_without_phone": self.persons_without_phone,
            "persons_sharing_phone": self.persons_sharing_phone, "employed": self.employed,
            "places": dict(self.places), "quarantine_rooms": self.quarantine_rooms,
        }


@dataclass
class _Grid:
    id: int
    path: str
    code: str
    name: str
    district: str
    #: the town (镇) name for rural grids, the village name; None in the city
    town: str | None
    village: str | None
    roads: list[str]
    residents: int = 0


Row = tuple[str, dict[str, Any]]


def _split(rng: random.Random, total: int, parts: int, spread: float = 0.4) -> list[int]:
    """`total` split into `parts` positive integers of random, roughly equal size (largest remainder)."""
    if parts <= 0:
        return []
    weights = [rng.uniform(1 - spread, 1 + spread) for _ in range(parts)]
    free = total - parts
    s = sum(weights)
    exact = [w / s * free for w in weights]
    out = [1 + int(x) for x in exact]
    rest = total - sum(out)
    order = sorted(range(parts), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[:rest]:
        out[i] += 1
    return out


def _unique_names(rng: random.Random, stems: Sequence[str], count: int, suffix: str,
                  prefixes: Sequence[str] = ("", "新", "东", "西", "南", "北", "中", "上", "下")) -> list[str]:
    """`count` distinct names: the stems in random order, then prefixed variants, then numbered ones."""
    out: list[str] = []
    for round_ in itertools.count():
        if len(out) >= count:
            break
        if round_ < len(prefixes):
            batch = [prefixes[round_] + s + suffix for s in stems]
        else:
            batch = [f"{s}{round_}{suffix}" for s in stems]
        rng.shuffle(batch)
        out.extend(batch[: count - len(out)])
    return out


# ----------------------------------------------------------------------------------------- generator

class CityGenerator:
    """Generates one city (演练城市). Iterate `rows()` once; `stats` and `employer_headcount` are
    complete afterwards."""

    def __init__(self, *, persons: int, seed: int, root: Root, ids: IdBase | None = None,
                 as_of: dt.date = AS_OF, region_codes: Iterable[str] | None = None, arrays_only: bool = False) -> None:
        """`arrays_only`: rows for the simulator's arrays (drill/sim/world.py) — the same ids, households,
        persons and places from the same draws, but addresses not normalised and ID numbers empty."""
        if persons < 1:
            raise ValueError("a city needs at least one person")
        self.persons = persons
        self.seed = seed
        self.root = root
        self.ids = ids or IdBase()
        self.as_of = as_of
        self.arrays_only = arrays_only
        codes = frozenset(region_codes) if region_codes is not None else default_region_codes()
        self.people = Residents(seed=seed, regions=region_pools(codes), as_of=as_of)
        self.stats = CityStats()
        #: employer place id → number of residents working there
        self.employer_headcount: dict[int, int] = {}
        self._next = {"unit": self.ids.unit, "address": self.ids.address, "place": self.ids.place,
                      "person": self.ids.person}
        self._grids: list[_Grid] = []
        self._house_no: dict[str, int] = {}
        self._groups: dict[str, int] = {}
        self._place_names: set[str] = set()
        self._employers: list[int] = []
        self._employer_cum: list[float] = []
        self._unstaffed: list[int] = []

    # ------------------------------------------------------------------------------------ plumbing

    def _id(self, table: str) -> int:
        self._next[table] += 1
        return self._next[table]

    def rows(self) -> Iterator[Row]:
        """Every row of the city, in foreign-key order."""
        yield from self._units()
        yield from self._places()
        yield from self._residents()

    # --------------------------------------------------------------------------------------- units

    def _units(self) -> Iterator[Row]:
        rng = random.Random(f"{self.seed}:units")
        n = self.persons
        n_districts = min(8, max(4, 4 + n // 250_000))
        n_grids = max(n_districts, round(n / RESIDENTS_PER_GRID))
        # branch about evenly at each level: 20,000 persons → 4 districts, 9 streets, 20 communities,
        # 44 grids; 1,000,000 → 8, 52, 340, 2,222
        branch = (n_grids / n_districts) ** (1 / 3)
        n_streets = max(n_districts, round(n_districts * branch))
        n_communities = max(n_streets, min(n_grids, round(n_streets * branch)))
        streets_per = _split(rng, n_streets, n_districts)
        communities_per = _split(rng, n_communities, n_streets)
        grids_per = _split(rng, n_grids, n_communities)
        residents_per = _split(rng, n, n_grids, spread=0.3)
        street_stems = _unique_names(rng, names.STREET_STEMS, n_streets, "")
        community_stems = _unique_names(rng, names.COMMUNITY_STEMS, n_communities, "")
        roads = self._road_names(rng, n_communities * 4)
        levels = dict.fromkeys(("district", "street", "community", "grid"), 0)
        root = self.root
        s_i = c_i = g_i = r_i = 0
        for d in range(n_districts):
            d_id = self._id("unit")
            d_path = f"{root.path}{d_id}/"
            d_name = names.DISTRICTS[d]
            d_code = DISTRICT_CODES[d]
            levels["district"] += 1
            yield "unit", {"id": d_id, "code": d_code, "name": d_name, "level": "district",
                           "parent_id": root.id, "path": d_path, "depth": root.depth + 1}
            for s in range(streets_per[d]):
                town = d > 0 and rng.random() < (0.3 if d < n_districts // 2 else 0.6)
                s_id = self._id("unit")
                s_path = f"{d_path}{s_id}/"
                s_name = street_stems[s_i] + ("镇" if town else "街道")
                s_code = f"{d_code}{s + 1:03d}"
                s_i += 1
                levels["street"] += 1
                yield "unit", {"id": s_id, "code": s_code, "name": s_name, "level": "street",
                               "parent_id": d_id, "path": s_path, "depth": root.depth + 2}
                for c in range(communities_per[s_i - 1]):
                    village = town and rng.random() < 0.7
                    c_id = self._id("unit")
                    c_path = f"{s_path}{c_id}/"
                    c_name = community_stems[c_i] + ("村" if village else "社区")
                    c_code = f"{s_code}{c + 1:03d}"
                    n_roads = 1 if village else rng.randint(2, 4)
                    c_roads = [roads[(r_i + k) % len(roads)] for k in range(n_roads)]
                    r_i += n_roads
                    levels["community"] += 1
                    yield "unit", {"id": c_id, "code": c_code, "name": c_name, "level": "community",
                                   "parent_id": s_id, "path": c_path, "depth": root.depth + 3}
                    for g in range(grids_per[c_i]):
                        g_id = self._id("unit")
                        g_path = f"{c_path}{g_id}/"
                        g_name = f"{c_name}第{g + 1}网格"
                        g_code = f"{c_code}{g + 1:03d}"
                        levels["grid"] += 1
                        grid_roads = (c_roads if len(c_roads) <= 2
                                      else rng.sample(c_roads, rng.randint(1, 2)))
                        self._grids.append(_Grid(g_id, g_path, g_code, g_name, d_name,
                                                 s_name if village else None, c_name if village else None,
                                                 grid_roads, residents_per[g_i]))
                        g_i += 1
                        yield "unit", {"id": g_id, "code": g_code, "name": g_name, "level": "grid",
                                       "parent_id": c_id, "path": g_path, "depth": root.depth + 4}
                    c_i += 1
        self.stats.units = levels

    @staticmethod
    def _road_names(rng: random.Random, count: int) -> list[str]:
        """Distinct road names (幸福路, 延陵西路, 青洋北大道, 湖塘东三路 …); reused in turn beyond the supply."""
        plain = [s + d + k for s in names.ROAD_STEMS for d in (*names.ROAD_DIRECTIONS[1:], "")
                 for k in names.ROAD_KINDS
                 if not (k == "巷" and d)]
        ordinal = [s + d + o + "路" for s in names.ROAD_STEMS for d in ("", *names.ROAD_DIRECTIONS[1:])
                   for o in _CN_ORDINALS]
        rng.shuffle(plain)
        rng.shuffle(ordinal)
        return (plain + ordinal)[: max(count, 1)]

    # ----------------------------------------------------------------------------------- addresses

    def _address(self, text: str, grid: _Grid, *, home: bool = False) -> dict[str, Any]:
        self.stats.addresses += 1
        if home and self.arrays_only:  # a dwelling: the arrays need its id and grid only
            return {"id": self._id("address"), "text": text, "unit_id": grid.id, "unit_path": grid.path}
        parts = normalise_address(text)
        return {"id": self._id("address"), "text": text, "key": parts.key, "building_key": parts.building_key,
                "road": parts.road, "house_no": parts.house_no, "building": parts.building,
                "entrance": parts.entrance, "room": parts.room, "unit_id": grid.id, "unit_path": grid.path}

    def _house(self, rng: random.Random, grid: _Grid) -> str:
        """A new house-level address text on the grid: `幸福路12号`, or `湟里镇杨庄村3组15号` in a village."""
        if grid.village is not None:
            group = self._groups.get(grid.village, 1)
            no = self._house_no.get(grid.village, 0) + 1
            if no > 60 and rng.random() < 0.1:
                group, no = group + 1, 1
            self._groups[grid.village] = group
            self._house_no[grid.village] = no
            return f"{grid.town}{grid.village}{group}组{no}号"
        road = rng.choice(grid.roads)
        no = self._house_no.get(road, 0) + rng.randint(1, 4)
        self._house_no[road] = no
        return f"{road}{no}号"

    # -------------------------------------------------------------------------------------- places

    def _place_name(self, rng: random.Random, templates: Sequence[str], grid: _Grid, n: int, where: str) -> str:
        template = rng.choice(templates)
        base = template.format(stem=rng.choice(names.TRADE_STEMS), district=grid.district,
                               dshort=grid.district.removesuffix("区"), city=catalog.CITY_NAME, n=n)
        name = base
        for k in itertools.count(1):
            if name not in self._place_names:
                break
            name = f"{base}（{where}）" if k == 1 else f"{base}（{where}{k}）"
        self._place_names.add(name)
        return name

    def _place(self, rng: random.Random, kind: str, category: str, templates: Sequence[str], n: int,
               capacity: int, *, grid: _Grid | None = None, address: dict[str, Any] | None = None,
               name: str | None = None) -> tuple[list[Row], dict[str, Any]]:
        out: list[Row] = []
        if address is None:
            grid = grid or rng.choice(self._grids)
            address = self._address(self._house(rng, grid), grid)
            out.append(("address", address))
        else:
            grid = next(g for g in self._grids if g.id == address["unit_id"]) if grid is None else grid
        where = address["road"] or grid.name
        number = self.stats.places.get(kind, 0) + 1
        self.stats.places[kind] = number
        place = {"id": self._id("place"), "kind": kind, "category": category,
                 "code": f"{PLACE_CODE_PREFIX[kind]}{number:06d}",
                 "name": name or self._place_name(rng, templates, grid, n, where),
                 "address_id": address["id"], "address_text": address["text"], "capacity": capacity,
                 "ref": None, "unit_id": address["unit_id"], "unit_path": address["unit_path"]}
        out.append(("place", place))
        return out, place

    def _places(self) -> Iterator[Row]:
        rng = random.Random(f"{self.seed}:places")
        n = self.persons
        employed = max(1, round(n * 0.45))
        hospitals: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (place, its address row)
        weights: list[float] = []
        for cat in catalog.EMPLOYERS:
            if cat.code == "fever_clinic":
                count = len(hospitals)
            else:
                count = max(1, round(cat.share * employed / cat.size))
                if cat.limit is not None:
                    count = min(count, cat.limit)
            for i in range(count):
                size = max(3, round(cat.size * rng.uniform(0.5, 1.5)))
                if cat.code == "fever_clinic":
                    hospital, addr = hospitals[i]
                    rows, place = self._place(rng, "employer", cat.code, (), i + 1, size, address=addr,
                                              name=hospital["name"] + cat.label)
                else:
                    rows, place = self._place(rng, "employer", cat.code, cat.names, i + 1, size)
                if cat.code == "hospital":
                    hospitals.append((place, rows[0][1]))
                self._employers.append(place["id"])
                self.employer_headcount[place["id"]] = 0
                weights.append(size)
                yield from rows
        self._employer_cum = list(itertools.accumulate(weights))
        self._unstaffed = list(self._employers)
        rng.shuffle(self._unstaffed)

        for vcat in catalog.VENUES:
            for i in range(max(1, round(vcat.per_10k * n / 10_000))):
                rows, _ = self._place(rng, "venue", vcat.code, vcat.names, i + 1, rng.randint(*vcat.footfall))
                yield from rows

        n_districts = self.stats.units["district"]
        counts = {"highway_exit": n_districts, "rail_station": 1 + n // 400_000, "airport": 1,
                  "dock": 1 + n // 500_000, "coach_station": max(1, n_districts // 2)}
        for ccat in catalog.CHECKPOINTS:
            for i in range(counts[ccat.code]):
                rows, _ = self._place(rng, "checkpoint", ccat.code, ccat.names, i + 1, rng.randint(*ccat.volume))
                yield from rows

        total_points = max(3, n // 3000)
        for i, (hospital, addr) in enumerate(hospitals):
            rows, _ = self._place(rng, "sampling_point", "hospital", (), i + 1, rng.randint(500, 3000),
                                  address=addr, name=hospital["name"] + "核酸采样点")
            yield from rows
        rest = max(2, total_points - len(hospitals))
        for code, _label, template in catalog.SAMPLING_POINTS:
            if code == "hospital":
                continue
            k = max(1, round(rest * (0.7 if code == "community" else 0.3)))
            for i in range(k):
                rows, _ = self._place(rng, "sampling_point", code, (template,), i + 1, rng.randint(300, 2000))
                yield from rows

        for i, (hospital, addr) in enumerate(hospitals):
            rows, _ = self._place(rng, "sentinel", "fever_clinic", (), i + 1, rng.randint(30, 300),
                                  address=addr, name=hospital["name"] + "发热门诊（哨点）")
            yield from rows
        for i in range(max(2, n // 5000)):
            rows, _ = self._place(rng, "sentinel", "pharmacy", (catalog.SENTINELS[1][2],), i + 1,
                                  rng.randint(80, 400))
            yield from rows

        target = math.ceil(n * catalog.QUARANTINE_ROOMS_PER_10K / 10_000 * catalog.QUARANTINE_MARGIN)
        i = 0
        while self.stats.quarantine_rooms < target or i == 0:
            i += 1
            rooms = rng.randint(40, 200)
            self.stats.quarantine_rooms += rooms
            rows, _ = self._place(rng, "quarantine_site", "hotel", catalog.QUARANTINE_NAMES, i, rooms)
            yield from rows

    # ----------------------------------------------------------------------------------- residents

    def _employer(self, rng: random.Random) -> int:
        if self._unstaffed:
            return self._unstaffed.pop()
        return self._employers[bisect.bisect_right(self._employer_cum, rng.random() * self._employer_cum[-1])]

    def _residents(self) -> Iterator[Row]:
        rng = random.Random(f"{self.seed}:people")
        recent_adult_phones: list[str] = []
        stats = self.stats
        for grid in self._grids:
            left = grid.residents
            rural = grid.village is not None
            while left > 0:
                if rural:
                    houses: Iterable[str] = [self._house(rng, grid)]
                else:
                    base = self._house(rng, grid)
                    tall = rng.random() < 0.3
                    floors = rng.randint(11, 18) if tall else rng.randint(5, 7)
                    houses = (f"{base}{b}栋{u}单元{f}{r:02d}室"
                              for b in range(1, rng.randint(2, 8) + 1) for u in range(1, rng.randint(1, 3) + 1)
                              for f in range(1, floors + 1) for r in range(1, 3))
                for text in houses:
                    if left <= 0:
                        break
                    address = self._address(text, grid, home=True)
                    yield "address", address
                    if rng.random() >= (0.92 if rural else 0.88):
                        continue  # vacant
                    members = self.people.household(rng)[:left]
                    left -= len(members)
                    stats.households += 1
                    yield from self._people(rng, members, address, grid, recent_adult_phones)

    def _people(self, rng: random.Random, members: list[Member], address: dict[str, Any], grid: _Grid,
                recent_adult_phones: list[str]) -> Iterator[Row]:
        stats = self.stats
        head_phone: str | None = None
        for m in members:
            birth = self.people.birth(rng, m.age)
            id_number = self.people.id_number(rng, self.people.region(rng, m.age, birth.year), birth, m.sex,
                                              text=not self.arrays_only)
            phone: str | None
            shared = False
            if m.age < 12:
                phone = None
            elif m.age < 18:
                phone = self.people.new_phone(rng) if rng.random() < 0.6 else None
            elif m.age >= 65:
                r = rng.random()
                if r < 0.4 and m.role == "grandparent" and head_phone:
                    phone, shared = head_phone, True  # registered with the child's number
                elif r < 0.4 and m.role != "grandparent" and recent_adult_phones:
                    phone, shared = rng.choice(recent_adult_phones), True  # a child living elsewhere
                elif r < 0.55:
                    phone = None
                else:
                    phone = self.people.new_phone(rng)
            else:
                phone = self.people.new_phone(rng) if rng.random() < 0.98 else None
                if phone is not None and m.age < 55:
                    if len(recent_adult_phones) < 256:
                        recent_adult_phones.append(phone)
                    else:
                        recent_adult_phones[rng.randrange(256)] = phone
            if m.role in ("head", "spouse") and head_phone is None and phone is not None and not shared:
                head_phone = phone
            employer_id = None
            if 18 <= m.age < 60 and rng.random() < (0.45 if m.age < 23 else 0.8):
                employer_id = self._employer(rng)
                self.employer_headcount[employer_id] = self.employer_headcount.get(employer_id, 0) + 1
                stats.employed += 1
            stats.persons += 1
            if phone is None:
                stats.persons_without_phone += 1
            if shared:
                stats.persons_sharing_phone += 1
            yield "person", {
                "id": self._id("person"), "name": m.surname + self.people.given(rng, m.sex, birth.year),
                "sex": m.sex, "birth_date": birth, "id_number": id_number, "phone": phone,
                "address_id": address["id"], "address_text": address["text"],
                "unit_id": grid.id, "unit_path": grid.path, "employer_id": employer_id,
            }
