"""The simulated city as arrays (模拟城市): the demo city's rows turned into households, work and school
groups, venues with popularity and position, and grids.

Built from `CityGenerator` with the ids a freshly initialised drill database gives it (root unit 1, no
address, place or person yet), so `person_id` and `place_id` here are the ids `fangkong demo` stores:
the response side can name persons and venues to the platform by them.

Positions: the generator's grids come in jurisdiction order (district, street, community), so
neighbours in that order are neighbours on the map; they are laid on a square lattice in serpentine
order, `GRID_SPACING_KM` apart. Places sit at their grid's point.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from fangkong.drill.generator import AS_OF, CityGenerator, IdBase, Root
from fangkong.drill.scenario_schema import Movement
from fangkong.drill.sim.draws import Draws

#: distance between neighbouring grids' points
GRID_SPACING_KM = 0.6
#: school-age children attend a school (学校)
SCHOOL_AGES = (6, 18)
#: venue visit hours (08:00 to 21:59): visits in the same venue and hour overlap
VISIT_HOURS = np.arange(8, 22)
#: checkpoint category → arrival mode
CHECKPOINT_MODES = {"rail_station": "rail", "airport": "air", "highway_exit": "road", "coach_station": "road",
                    "dock": "dock"}


@dataclass
class World:
    """The city as arrays; persons, places and grids are indexed 0..n-1."""

    person_id: np.ndarray  # int64, the platform's person id
    household: np.ndarray  # int32, household index
    grid: np.ndarray  # int32, the person's home grid index
    age: np.ndarray  # int16, years at the generator's reference date
    group: np.ndarray  # int32, work group or school class index, -1 for none
    group_is_school: np.ndarray  # bool per group
    household_size: np.ndarray  # int32 per household
    grid_size: np.ndarray  # int32 per grid
    grid_xy: np.ndarray  # float64 (grids, 2), km
    grid_unit_id: np.ndarray  # int64 per grid
    place_id: np.ndarray  # int64 per place
    place_kind: np.ndarray  # str per place
    place_category: np.ndarray  # str per place
    place_grid: np.ndarray  # int32 per place
    venues: np.ndarray  # place indexes of venues
    venue_scan_p: np.ndarray  # float64 per venue: probability a visit is scanned
    venue_flat: np.ndarray  # float64 (grids × venues): grid g's cumulative choice probabilities, plus g
    checkpoints: dict[str, np.ndarray]  # mode → place indexes of its checkpoints
    sentinels: np.ndarray  # place indexes of sentinels (fever clinics, pharmacies)

    @property
    def persons(self) -> int:
        return len(self.person_id)

    def choose_venue(self, grid: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Venue indexes (into `venues`) chosen from each home `grid` with uniforms `u` (vectorised)."""
        n_v = len(self.venues)
        keys = grid + u
        order = np.argsort(keys, kind="stable")  # sorted needles: 7× faster at a million persons
        pos = np.empty(len(keys), dtype=np.int64)
        pos[order] = np.searchsorted(self.venue_flat, keys[order], side="right")
        return np.clip(pos - grid.astype(np.int64) * n_v, 0, n_v - 1)


def _serpentine(n: int) -> np.ndarray:
    side = max(1, int(np.ceil(np.sqrt(n))))
    i = np.arange(n)
    row, col = i // side, i % side
    col = np.where(row % 2 == 1, side - 1 - col, col)
    return np.stack([col, row], axis=1).astype(np.float64) * GRID_SPACING_KM


def _groups(keys: np.ndarray, size: int) -> np.ndarray:
    """Split the members of each key (≥ 0) into consecutive groups of about `size`; -1 stays -1."""
    out = np.full(len(keys), -1, dtype=np.int32)
    members = np.flatnonzero(keys >= 0)
    if not len(members):
        return out
    order = members[np.argsort(keys[members], kind="stable")]
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    counts = np.diff(np.r_[starts, len(k)])
    rank = np.arange(len(k)) - np.repeat(starts, counts)
    n_groups = np.maximum(1, np.round(counts / size).astype(np.int64))
    sub = (rank * np.repeat(n_groups, counts)) // np.repeat(counts, counts)  # balanced split
    base = np.r_[0, np.cumsum(n_groups)[:-1]]
    out[order] = (np.repeat(base, counts) + sub).astype(np.int32)
    return out


def build_world(*, persons: int, seed: int, movement: Movement, draws: Draws) -> World:
    """The city of `fangkong demo --persons persons --seed seed` as arrays."""
    gen = CityGenerator(persons=persons, seed=seed, root=Root(1, "/1/", 0), ids=IdBase(unit=1), as_of=AS_OF,
                        arrays_only=True)
    grid_units: list[int] = []
    place_rows: list[tuple[int, str, str, int, int]] = []
    pid: list[int] = []
    addr: list[int] = []
    unit: list[int] = []
    birth: list[int] = []
    employer: list[int] = []
    epoch = dt.date(1900, 1, 1)
    for table, row in gen.rows():
        if table == "person":
            pid.append(row["id"])
            addr.append(row["address_id"])
            unit.append(row["unit_id"])
            birth.append((row["birth_date"] - epoch).days)
            employer.append(row["employer_id"] or 0)
        elif table == "unit" and row["level"] == "grid":
            grid_units.append(row["id"])
        elif table == "place":
            place_rows.append((row["id"], row["kind"], row["category"], row["unit_id"], row["capacity"] or 0))
    grid_unit_id = np.array(grid_units, dtype=np.int64)
    unit_to_grid = {u: i for i, u in enumerate(grid_units)}
    person_id = np.array(pid, dtype=np.int64)
    _, household = np.unique(np.array(addr, dtype=np.int64), return_inverse=True)
    household = household.astype(np.int32)
    grid = np.array([unit_to_grid[u] for u in unit], dtype=np.int32)
    age = ((AS_OF - epoch).days - np.array(birth, dtype=np.int64)) // 365.25
    age = age.astype(np.int16)

    place_id = np.array([r[0] for r in place_rows], dtype=np.int64)
    place_kind = np.array([r[1] for r in place_rows])
    place_category = np.array([r[2] for r in place_rows])
    place_grid = np.array([unit_to_grid.get(r[3], 0) for r in place_rows], dtype=np.int32)
    place_capacity = np.array([r[4] for r in place_rows], dtype=np.float64)
    place_index = {p: i for i, p in enumerate(place_id.tolist())}
    grid_xy = _serpentine(len(grid_units))

    # work groups: the employees of each employer; school classes: children by nearest school and age
    emp = np.array([place_index.get(e, -1) if e else -1 for e in employer], dtype=np.int64)
    work = _groups(emp, movement.work_group)
    schools = np.flatnonzero((place_kind == "employer") & (place_category == "school"))
    school_key = np.full(persons, -1, dtype=np.int64)
    pupils = np.flatnonzero((age >= SCHOOL_AGES[0]) & (age < SCHOOL_AGES[1]))
    if len(schools) and len(pupils):
        d2 = ((grid_xy[:, None, :] - grid_xy[place_grid[schools]][None, :, :]) ** 2).sum(axis=2)
        nearest = schools[np.argmin(d2, axis=1)]  # grid → its nearest school
        school_key[pupils] = nearest[grid[pupils]] * 64 + age[pupils]
    classes = _groups(school_key, movement.school_class)
    n_work = int(work.max()) + 1 if (work >= 0).any() else 0
    group = np.where(work >= 0, work, np.where(classes >= 0, classes + n_work, -1)).astype(np.int32)
    n_groups = int(group.max()) + 1 if (group >= 0).any() else 0
    group_is_school = np.zeros(n_groups, dtype=bool)
    group_is_school[n_work:] = True

    # venues: popularity by rank of footfall (Zipf), weighted by distance from each grid
    venues = np.flatnonzero(place_kind == "venue")
    rank = np.empty(len(venues), dtype=np.float64)
    rank[np.argsort(-place_capacity[venues], kind="stable")] = np.arange(1, len(venues) + 1)
    popularity = rank ** -movement.zipf
    dist = np.sqrt(((grid_xy[:, None, :] - grid_xy[place_grid[venues]][None, :, :]) ** 2).sum(axis=2))
    weight = popularity[None, :] * np.exp(-dist / movement.distance_km)
    venue_cum = np.cumsum(weight, axis=1)
    venue_cum /= venue_cum[:, -1:]
    venue_cum[:, -1] = 1.0
    venue_cum += np.arange(len(grid_units))[:, None]
    enforced = draws.uniform("venue_enforced", len(venues)) < movement.scan_enforced_share
    venue_scan_p = np.where(enforced, movement.scan_enforced, movement.scan_not_enforced)

    checkpoints: dict[str, list[int]] = {}
    for i in np.flatnonzero(place_kind == "checkpoint"):
        checkpoints.setdefault(CHECKPOINT_MODES.get(str(place_category[i]), "road"), []).append(int(i))
    return World(
        person_id=person_id, household=household, grid=grid, age=age, group=group,
        group_is_school=group_is_school, household_size=np.bincount(household).astype(np.int32),
        grid_size=np.bincount(grid, minlength=len(grid_units)).astype(np.int32), grid_xy=grid_xy,
        grid_unit_id=grid_unit_id, place_id=place_id, place_kind=place_kind, place_category=place_category,
        place_grid=place_grid, venues=venues, venue_scan_p=venue_scan_p, venue_flat=venue_cum.ravel(),
        checkpoints={m: np.array(v, dtype=np.int64) for m, v in sorted(checkpoints.items())},
        sentinels=np.flatnonzero(place_kind == "sentinel"),
    )
