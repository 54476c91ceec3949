"""Pure rules of the indicators (指标口径): subtree rollups, values by kind, colours by threshold.

No session, no clock: the service hands in figures per owning unit path and the tree's paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

KINDS = ("count", "rate", "hours")
#: `up`: higher is better; `down`: lower is better
DIRECTIONS = ("up", "down")
STATUSES = ("green", "amber", "red", "none")


@dataclass
class Figure:
    """What one unit contributes to an indicator: a numerator, a denominator (rates) and the events'
    hours (percentiles are taken over pooled events, never over the children's percentiles)."""

    numerator: float = 0
    denominator: float = 0
    hours: list[float] = field(default_factory=list)

    def add(self, other: Figure) -> None:
        self.numerator += other.numerator
        self.denominator += other.denominator
        self.hours.extend(other.hours)


def ancestors(path: str) -> list[str]:
    """The paths of a unit and every unit above it: "/1/4/9/" → ["/1/", "/1/4/", "/1/4/9/"]."""
    steps = [s for s in path.split("/") if s]
    return ["/" + "/".join(steps[:i]) + "/" for i in range(1, len(steps) + 1)]


def rollup(own: dict[str, Figure], paths: Iterable[str]) -> dict[str, Figure]:
    """Each unit's figure over its subtree: the figures owned by it and by every unit below it, added
    (counts and numerators and denominators summed, hours pooled). A figure owned by a path outside
    `paths` still counts for those of its ancestors that are in `paths`."""
    out = {p: Figure() for p in paths}
    for path, fig in own.items():
        for anc in ancestors(path):
            target = out.get(anc)
            if target is not None:
                target.add(fig)
    return out


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation, as numpy does by default; None for none."""
    if not values:
        return None
    return percentile_of_sorted(sorted(values), q)


def percentile_of_sorted(ordered: list[float], q: float) -> float | None:
    """`percentile` of values already sorted (numpy's "linear" method: the rank (n − 1)·q/100,
    interpolated between its two neighbours), without numpy's per-call overhead: a snapshot asks
    for thousands of them (two quantiles of three clocks for every unit)."""
    n = len(ordered)
    if n == 0:
        return None
    h = (n - 1) * (q / 100.0)
    lo = int(h)
    if lo >= n - 1:
        return float(ordered[-1])
    a, b, t = float(ordered[lo]), float(ordered[lo + 1]), h - lo
    # numpy's _lerp, to the last bit: from the nearer neighbour
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def value_of(kind: str, fig: Figure, quantile: float | None = None) -> float | None:
    """An indicator's value: a count is its numerator; a rate numerator / denominator (None for a zero
    denominator); hours the `quantile` percentile of the pooled hours (None without events)."""
    if kind == "count":
        return fig.numerator
    if kind == "rate":
        return fig.numerator / fig.denominator if fig.denominator else None
    if kind == "hours":
        return percentile(fig.hours, quantile if quantile is not None else 50)
    raise ValueError(f"unknown kind {kind!r}")


@dataclass(frozen=True)
class Colour:
    """A status and the rule that set it (`≥ 0.99 → green`), in words a reader checks."""

    status: str
    rule: str


def colour(value: float | None, direction: str, band: tuple[float, float] | None, *, source: str = "") -> Colour:
    """green when the value meets the green bound, amber the amber bound, red otherwise (in the
    indicator's direction: ≥ for `up`, ≤ for `down`); `none` without a value; no status ("") without
    thresholds."""
    if value is None:
        return Colour("none", "no value (zero denominator or no events)")
    if band is None:
        return Colour("", "")
    green, amber = band
    op = "≥" if direction == "up" else "≤"

    def meets(bound: float) -> bool:
        return value >= bound if direction == "up" else value <= bound

    where = f" ({source})" if source else ""
    if meets(green):
        return Colour("green", f"{op} {_num(green)} → green{where}")
    if meets(amber):
        return Colour("amber", f"{op} {_num(amber)} → amber{where}")
    return Colour("red", f"not {op} {_num(amber)} → red{where}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def rounded(kind: str, value: float | None) -> float | int | None:
    """How a value is stored and shown: counts as integers, rates to 4 places (0.9545), hours to 2."""
    if value is None:
        return None
    if kind == "count":
        return round(value)
    return round(value, 4 if kind == "rate" else 2)
