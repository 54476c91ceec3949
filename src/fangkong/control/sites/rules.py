"""Pure rules of quarantine sites (集中隔离点): a room's state at a moment, whether a person (or a
household) fits in a room, the order rooms are proposed in, and capacity figures. No session, no clock:
callers pass the moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StayFact:
    """A stay as the rules read it: who (`household` or alone), when, and the room's cleaning after it."""

    person_id: int
    household: str | None
    from_at: dt.datetime
    until_at: dt.datetime | None = None
    needs_cleaning: bool = False
    cleaned_at: dt.datetime | None = None
    bed: int = 1

    def open_at(self, at: dt.datetime) -> bool:
        return self.from_at <= at and (self.until_at is None or at < self.until_at)


def room_state(status: str, stays: Iterable[StayFact], at: dt.datetime) -> str:
    """`out_of_service`, `occupied` (someone holds a bed: assigned, on the way or in), `cleaning` (left
    empty and not yet marked clean, 终末消毒) or `free`, at `at`."""
    if status == "out_of_service":
        return "out_of_service"
    stays = list(stays)
    if any(s.open_at(at) for s in stays):
        return "occupied"
    if any(s.needs_cleaning and s.until_at is not None and s.until_at <= at
           and (s.cleaned_at is None or s.cleaned_at > at) for s in stays):
        return "cleaning"
    return "free"


def free_beds(beds: int, status: str, stays: Iterable[StayFact], at: dt.datetime, *, household: str | None
              ) -> list[int]:
    """The beds (1..beds) this person may take at `at`: every bed of a free room; in an occupied room
    only the beds left when everyone in it is of the same household as the person (a room holds one
    person, or one household up to its beds). None of a room being cleaned or out of service."""
    stays = list(stays)
    state = room_state(status, stays, at)
    if state in ("out_of_service", "cleaning"):
        return []
    inside = [s for s in stays if s.open_at(at)]
    if inside and (household is None or any(s.household != household for s in inside)):
        return []
    taken = {s.bed for s in inside}
    return [b for b in range(1, beds + 1) if b not in taken]


def nearness(person_unit_path: str, site_unit_path: str) -> int:
    """How near a site is to a person, from the jurisdiction tree alone (the data has no coordinates):
    the depth of their nearest common unit — a site of the person's own community beats one of their
    street, which beats one of their district, then the rest of the city. Higher is nearer."""
    a = [p for p in person_unit_path.split("/") if p]
    b = [p for p in site_unit_path.split("/") if p]
    depth = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        depth += 1
    return depth


@dataclass(frozen=True)
class Candidate:
    """A room that could be proposed: its site, where the site is, and the room."""

    room_id: int
    site_id: int
    site_unit_path: str
    site_free_rooms: int
    building: str
    floor: int
    number: str
    free_beds: int


def proposal_order(person_unit_path: str, candidates: Sequence[Candidate], *, persons: int = 1) -> list[Candidate]:
    """Rooms to propose, best first: only rooms with beds for all `persons` (a household kept
    together); the nearest site first (`nearness`), then the site with most free rooms (spreading the
    load), then the smallest room that fits (keeping large rooms for households), then by building,
    floor and number (rooms filled in order)."""
    fit = [c for c in candidates if c.free_beds >= persons]
    return sorted(fit, key=lambda c: (-nearness(person_unit_path, c.site_unit_path), -c.site_free_rooms, c.site_id,
                                      c.free_beds, c.building, c.floor, _natural(c.number)))


def _natural(text: str) -> tuple[int, str]:
    digits = "".join(ch for ch in text if ch.isdigit())
    return (int(digits) if digits and len(digits) < 12 else 0, text)


@dataclass
class Counts:
    """Rooms of a site or unit by state (capacity): `usable` = rooms − out of service, `free` = usable −
    occupied − cleaning."""

    rooms: int = 0
    occupied: int = 0
    cleaning: int = 0
    out_of_service: int = 0

    @property
    def usable(self) -> int:
        return self.rooms - self.out_of_service

    @property
    def free(self) -> int:
        return self.usable - self.occupied - self.cleaning

    @property
    def occupancy(self) -> float:
        """Occupied share of usable rooms (0 when none is usable)."""
        return self.occupied / self.usable if self.usable else 0.0

    def add(self, state: str, n: int = 1) -> None:
        self.rooms += n
        if state == "occupied":
            self.occupied += n
        elif state == "cleaning":
            self.cleaning += n
        elif state == "out_of_service":
            self.out_of_service += n

    def merge(self, other: Counts) -> None:
        self.rooms += other.rooms
        self.occupied += other.occupied
        self.cleaning += other.cleaning
        self.out_of_service += other.out_of_service


def rooms_per_10k(rooms: int, population: int | None) -> float | None:
    """Rooms per 10,000 residents (None when the population is unknown or zero)."""
    if not population:
        return None
    return round(rooms * 10_000 / population, 2)


def below_target(per_10k: float | None, target: float) -> bool:
    """Flag a unit whose rooms per 10,000 residents fall short of the pack's figure (unknown: no flag)."""
    return per_10k is not None and per_10k < target
