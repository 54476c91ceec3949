"""Scripted responders' working conditions (响应人员): per role, how long they take, when they work,
how much they can do in a day, how often they get it wrong, how often they work through their list;
and how many persons ignore a home measure.

`responders:` in the scenario is `instant` (no delay, around the clock, no limit, no errors), `default`
(city practice: each role's delay uniform between 0 and the pack's hours, grid workers and the district
on duty 08:00–22:00 working through their list every hour, labs reporting every hour, no daily limit, no
errors), `none` (no responder acts) or a mapping over the default:

```yaml
responders:
  grid: 12                       # longest delay in hours (or instant | none)
  lab: {delay_h: 24, round_h: 2} # or the full form
  district: {hours: "08-20", capacity: 400, errors: 0.05}
  noncompliance: 0.05            # share of persons who ignore a home measure (not a role)
```

Roles: `sampler` (samples at a fever clinic or pharmacy), `lab` (results), `epidemiologist` (cases and
their close contacts), `grid` (the four checks of each lead), `district` (finds the persons a grid worker
did not find at their address: the platform's locate task one level up). `errors` is the share of
a grid worker's checks that do not find the person at the address (the platform re-pushes the lead to
the unit above, where the district finds the person after its own delay); for other roles it is not
modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

ROLES = ("sampler", "lab", "epidemiologist", "grid", "district")
#: the pack's hours each role's default delay is drawn below (see setup.prepare)
PERSON_KEYS = ("noncompliance",)


@dataclass(frozen=True)
class RoleSpec:
    """A role's working conditions. `delay_h` None: the role does not act."""

    delay_h: float | None
    hours: tuple[int, int] | None = None  # local working hours [start, end); None: around the clock
    capacity: int | None = None  # actions per local day; None: no limit
    errors: float = 0.0  # share of actions done wrong (grid, district: person not found at the address)
    round_h: float = 0.0  # works through its list every round_h hours (0: each item when due)

    @property
    def acts(self) -> bool:
        return self.delay_h is not None


@dataclass(frozen=True)
class Responders:
    roles: dict[str, RoleSpec]
    noncompliance: float = 0.0

    def __getitem__(self, role: str) -> RoleSpec:
        return self.roles[role]


INSTANT = RoleSpec(delay_h=0.0)
NONE = RoleSpec(delay_h=None)


def _defaults(sla_hours: dict[str, float]) -> dict[str, RoleSpec]:
    def h(role: str) -> float:
        return float(sla_hours.get(role, 0.0))

    return {"sampler": RoleSpec(delay_h=0.0),
            "lab": RoleSpec(delay_h=h("lab"), round_h=1.0),
            "epidemiologist": RoleSpec(delay_h=h("epidemiologist")),
            "grid": RoleSpec(delay_h=h("grid"), hours=(8, 22), round_h=1.0),
            "district": RoleSpec(delay_h=h("district") or h("grid"), hours=(8, 22), round_h=1.0)}


def _hours(text: Any, path: str) -> tuple[int, int] | None:
    if text in (None, "", "all", "24h"):
        return None
    try:
        a, b = (int(x) for x in str(text).split("-"))
    except ValueError:
        raise ValueError(f"{path}: working hours as HH-HH, e.g. 08-22") from None
    if not 0 <= a < b <= 24:
        raise ValueError(f"{path}: working hours as HH-HH with 0 <= start < end <= 24")
    return (a, b)


def _number(value: Any, path: str, *, low: float = 0.0, high: float | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: must be a number") from None
    if not math.isfinite(x) or x < low or (high is not None and x > high):
        raise ValueError(f"{path}: must be >= {low:g}" + (f" and <= {high:g}" if high is not None else ""))
    return x


def _role(base: RoleSpec, value: Any, path: str) -> RoleSpec:
    if value in (None, "none"):
        return NONE
    if value == "instant":
        return INSTANT
    if isinstance(value, dict):
        known = {"delay_h", "hours", "capacity", "errors", "round_h"}
        for key in value:
            if key not in known:
                raise ValueError(f"{path}.{key}: unknown field; known: {', '.join(sorted(known))}")
        spec = base if base.acts else replace(base, delay_h=0.0)
        if "delay_h" in value:
            spec = replace(spec, delay_h=_number(value["delay_h"], f"{path}.delay_h"))
        if "hours" in value:
            spec = replace(spec, hours=_hours(value["hours"], f"{path}.hours"))
        if "capacity" in value:
            cap = value["capacity"]
            spec = replace(spec, capacity=None if cap in (None, "none") else int(_number(cap, f"{path}.capacity", low=1)))
        if "errors" in value:
            spec = replace(spec, errors=_number(value["errors"], f"{path}.errors", high=1.0))
        if "round_h" in value:
            spec = replace(spec, round_h=_number(value["round_h"], f"{path}.round_h", high=24.0))
        return spec
    return replace(base, delay_h=_number(value, path))


def parse_responders(spec: Any, sla_hours: dict[str, float]) -> Responders:
    """`responders:` → each role's working conditions; ValueError naming the field path when bad."""
    if spec == "instant":
        return Responders({r: INSTANT for r in ROLES})
    if spec == "none":
        return Responders({r: NONE for r in ROLES})
    roles = _defaults(sla_hours)
    noncompliance = 0.0
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "noncompliance":
                noncompliance = _number(value, "responders.noncompliance", high=1.0)
            elif key in ROLES:
                roles[key] = _role(roles[key], value, f"responders.{key}")
            else:
                raise ValueError(f"responders.{key}: unknown role; known: {', '.join(ROLES)}, noncompliance")
    elif spec != "default":
        raise ValueError("responders: instant, default, none or a mapping of roles")
    return Responders(roles, noncompliance)


def responder_hours(spec: Any, sla_hours: dict[str, float]) -> dict[str, float | None]:
    """Each role's longest delay in hours (None: the role does not act); validates `spec`."""
    parsed = parse_responders(spec, sla_hours)
    return {r: parsed[r].delay_h for r in ROLES}


class Roster:
    """When a role gets to an item due at `t` (days since the start; the start is local midnight + `offset_h`):
    the first moment on duty, on its round, with room left in that local day's capacity."""

    def __init__(self, spec: RoleSpec, offset_h: float) -> None:
        self.spec = spec
        self.offset_h = offset_h
        self.used: dict[int, int] = {}

    def _local_h(self, t: float) -> float:
        return t * 24 + self.offset_h

    def _to_t(self, local_h: float) -> float:
        return (local_h - self.offset_h) / 24

    def when(self, t: float) -> float:
        s = self.spec
        h = self._local_h(t)
        for _ in range(10_000):
            day = int(h // 24)
            if s.hours is not None:
                hod = h - day * 24
                if hod < s.hours[0]:
                    h = day * 24 + s.hours[0]
                elif hod >= s.hours[1]:
                    h, day = (day + 1) * 24 + s.hours[0], day + 1
            if s.round_h > 0:  # the next round (rounds start at the beginning of duty)
                start = day * 24 + (s.hours[0] if s.hours else 0)
                h = start + math.ceil(round((h - start) / s.round_h, 9)) * s.round_h
                if h >= day * 24 + (s.hours[1] if s.hours else 24):
                    h = (day + 1) * 24 + (s.hours[0] if s.hours else 0)
                    continue
            if s.capacity is None or self.used.get(day, 0) < s.capacity:
                if s.capacity is not None:
                    self.used[day] = self.used.get(day, 0) + 1
                return self._to_t(h)
            h = (day + 1) * 24 + (s.hours[0] if s.hours else 0)
        raise RuntimeError("no time on duty found")  # unreachable with a valid spec
