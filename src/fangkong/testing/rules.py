"""Pure testing rules (检测规则): result words, a tube's standing result, due times and overdue hours,
opening hours, and the arithmetic of pooled testing (Dorfman). No session, no clock: callers pass
times in.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: result words a lab may send (decisions.md, "Results, pools, compliance"); anything else rejects
RESULT_WORDS: dict[str, str] = {
    "阴性": "negative", "negative": "negative", "neg": "negative", "-": "negative",
    "阳性": "positive", "positive": "positive", "pos": "positive", "+": "positive",
}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$|^24:00$")


def parse_result(text: str | None) -> str | None:
    """`negative` | `positive` for a known result word (after NFKC, trimming and case folding), else None."""
    if text is None:
        return None
    word = unicodedata.normalize("NFKC", str(text)).strip().casefold()
    return RESULT_WORDS.get(word)


def tube_result(versions: Iterable[str]) -> str | None:
    """A tube's standing result over its versions: positive while any version is positive."""
    seen = set(versions)
    if "positive" in seen:
        return "positive"
    if "negative" in seen:
        return "negative"
    return None


def classify_result(stored: Sequence[str], new: str) -> str:
    """Report status of a new result for a tube with `stored` versions: `accepted` (first result),
    `duplicate` (a version already says this) or `conflict` (contradicts what is stored)."""
    if not stored:
        return "accepted"
    return "duplicate" if new in stored else "conflict"


def parse_ct(text: str | None) -> tuple[dict[str, float] | None, str | None]:
    """Ct values: `28.5`, `ORF1ab:28.5; N:30.1` or `ORF1ab 28.5, N 30.1` → ({target: value}, issue)."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s:
        return None, None
    try:
        return {"ct": float(s)}, None
    except ValueError:
        pass
    out: dict[str, float] = {}
    for part in re.split(r"[;,，；/]+", s):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z0-9_\-]+)\s*[:=\s]\s*(\d+(?:\.\d+)?)$", part)
        if not m:
            return None, f"not a Ct value: {part!r}"
        out[m.group(1)] = float(m.group(2))
    return (out or None), None


# ------------------------------------------------------------------------------------------- due times

def next_due(*, last_negative_at: dt.datetime | None, enrolled_at: dt.datetime, frequency_days: int) -> dt.datetime:
    """A frequency group's next due time: one period after the last negative's sampling time, or one
    period after enrolment for a member never tested negative."""
    return (last_negative_at or enrolled_at) + dt.timedelta(days=frequency_days)


def next_test_day_due(*, test_dates: Sequence[str | dt.date], last_negative_at: dt.datetime | None,
                      tz: dt.tzinfo) -> dt.datetime | None:
    """A rule member's next due time (under a home measure, tested on its test days): the end (local
    24:00) of the first test day after the local day of the last negative; None when none is left."""
    last_day = last_negative_at.astimezone(tz).date() if last_negative_at is not None else None
    days = sorted(d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in test_dates)
    for day in days:
        if last_day is None or day > last_day:
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    return None


def overdue_hours(next_due_at: dt.datetime | None, now: dt.datetime) -> float:
    """Hours past the due time (0 when not yet due), one decimal."""
    if next_due_at is None or now <= next_due_at:
        return 0.0
    return round((now - next_due_at).total_seconds() / 3600, 1)


def compliance_status(next_due_at: dt.datetime | None, now: dt.datetime, grace: dt.timedelta) -> str:
    """`compliant` (not yet due), `grace` (past due, inside the grace period), `overdue` (past due and
    grace: escalated) or `not_due` (nothing more to test)."""
    if next_due_at is None:
        return "not_due"
    if now <= next_due_at:
        return "compliant"
    if now <= next_due_at + grace:
        return "grace"
    return "overdue"


# ---------------------------------------------------------------------------------------- opening hours

def parse_hours(text: str) -> tuple[str, str]:
    """`08:00-20:00` (also `8:00–20:00`, `08:00~20:00`) → ("08:00", "20:00"); ValueError otherwise."""
    s = unicodedata.normalize("NFKC", text or "").replace(" ", "")
    parts = re.split(r"[-–—~至到]", s)
    if len(parts) != 2:
        raise ValueError("expected opening hours as HH:MM-HH:MM")
    out = []
    for p in parts:
        if not _HHMM.match(p):
            raise ValueError(f"not a time of day: {p!r}")
        hh, mm = p.split(":")
        out.append(f"{int(hh):02d}:{mm}")
    if out[0] >= out[1]:
        raise ValueError("opening time must come before closing time")
    return out[0], out[1]


def is_open(*, opens: str, closes: str, days: str, at_local: dt.datetime) -> bool:
    """Open at this local time (ISO weekday in `days`, opens ≤ HH:MM < closes)."""
    if str(at_local.isoweekday()) not in (days or "1234567"):
        return False
    hhmm = at_local.strftime("%H:%M")
    return opens <= hhmm < closes


def tree_distance(path_a: str, path_b: str) -> int:
    """Steps between two units through their nearest common ancestor ("/1/4/9/" and "/1/4/7/" → 2)."""
    a = [p for p in path_a.split("/") if p]
    b = [p for p in path_b.split("/") if p]
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return (len(a) - common) + (len(b) - common)


# ------------------------------------------------------------------------------------------ turnaround

@dataclass(frozen=True)
class Turnaround:
    tubes: int
    median_hours: float | None
    p90_hours: float | None
    max_hours: float | None
    within_target: int

    @property
    def within_target_pct(self) -> float | None:
        return round(100 * self.within_target / self.tubes, 1) if self.tubes else None


def turnaround(hours: Sequence[float], target_hours: float) -> Turnaround:
    """Sampling → result figures for a set of tubes against a target."""
    if not hours:
        return Turnaround(0, None, None, None, 0)
    xs = sorted(hours)
    p90 = xs[min(len(xs) - 1, math.ceil(0.9 * len(xs)) - 1)]  # nearest-rank percentile
    return Turnaround(len(xs), round(statistics.median(xs), 1), round(p90, 1), round(xs[-1], 1),
                      sum(1 for h in xs if h <= target_hours))


# ------------------------------------------------------------------------------------------- pooling

def dorfman_tests_per_person(prevalence: float, pool_size: int, *, sensitivity: float = 1.0,
                             specificity: float = 1.0) -> float:
    """Expected tests per person with Dorfman two-stage pooling (混采后阳性单管复核).

    One pooled test per `pool_size` persons, then each member of a positive pool alone:
    E = 1/k + P(pool positive), with P = sens·(1 − (1−p)^k) + (1 − spec)·(1−p)^k. k = 1 is one test.
    """
    if not 0 <= prevalence <= 1 or pool_size < 1:
        raise ValueError("prevalence in [0, 1] and pool size ≥ 1")
    if pool_size == 1:
        return 1.0
    clean = (1 - prevalence) ** pool_size
    p_positive = sensitivity * (1 - clean) + (1 - specificity) * clean
    return 1 / pool_size + p_positive


def optimal_pool_size(prevalence: float, *, max_size: int = 50) -> int:
    """The pool size with the fewest expected tests per person (ties: the smaller pool)."""
    return min(range(1, max_size + 1), key=lambda k: (round(dorfman_tests_per_person(prevalence, k), 12), k))


def simulate_pooling(persons: int, prevalence: float, pool_size: int, *, seed: int) -> float:
    """Tests per person from pooling `persons` with independent infections at `prevalence` (perfect test)."""
    rng = random.Random(seed)
    tests = 0
    for start in range(0, persons, pool_size):
        size = min(pool_size, persons - start)
        positive = any(rng.random() < prevalence for _ in range(size))
        tests += 1 + (size if positive and size > 1 else 0)
    return tests / persons


# ------------------------------------------------------------------------------ single tubes (单管单采)

#: measure kinds that put a person "under a measure" for pooling (管控人员 单管单采): quarantine, home
#: health monitoring and temporary control; self health monitoring and test-only schedules do not
UNDER_MEASURE_KINDS: frozenset[str] = frozenset(
    {"centralised_quarantine", "home_quarantine", "home_health_monitoring", "temporary_control"})
UNDER_MEASURE = "under_measure"


@dataclass(frozen=True)
class TubeLimit:
    """The largest tube a person may be put into, and why: the pooling setting (`pooling.<setting>`),
    and the category or measure kind that asked for it."""

    size: int
    setting: str
    category: str | None
    kind: str | None = None

    @property
    def rule(self) -> str:
        return f"pooling.{self.setting}"


def tube_limit(pack: Any, *, measures: Iterable[tuple[str, str]] = (), lead_categories: Iterable[str] = ()
               ) -> TubeLimit | None:
    """The tightest pooling limit for a person from the active pack, or None when any tube will do.

    `measures` are (category, kind) of the measures in force: the category's `pool` setting applies,
    and `pooling.under_measure` for a measure of a kind in `UNDER_MEASURE_KINDS`. `lead_categories`
    are the decided categories of the person's open leads (a close contact not yet verified): the
    category's `pool` setting applies. A category or setting the pack lacks asks for nothing.
    """
    found: list[TubeLimit] = []

    def add(setting: str | None, category: str | None, kind: str | None = None) -> None:
        if setting is not None and setting in pack.pooling:
            found.append(TubeLimit(pack.pooling[setting].size, setting, category, kind))

    def pool_of(category: str) -> str | None:
        cat = pack.categories.get(category)
        return cat.pool if cat is not None else None

    for category, kind in measures:
        add(pool_of(category), category, kind)
        if kind in UNDER_MEASURE_KINDS:
            add(UNDER_MEASURE, category, kind)
    for category in lead_categories:
        add(pool_of(category), category)
    if not found:
        return None
    # the smallest size; on a tie, a category's own setting before `under_measure` (it says more)
    return min(found, key=lambda t: (t.size, t.setting == UNDER_MEASURE))
