"""The indicator registry (指标注册表): a capability registers its indicators here, each a code, names,
a kind, a direction, a definition and a function that asks the owning capability's service.

The command centre lists every code of `PLANNED`; a planned code that no capability has registered
yet (a capability a deployment leaves out) is reported as not enabled (尚未启用, status
`none`), never as a zero. A capability plugs in later with `register(Indicator(...))` at import time
(its `command_indicators` module, imported by `load()`)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from fangkong.command.rules import DIRECTIONS, KINDS, Figure
from fangkong.kernel.jurisdictions.models import Unit


@dataclass
class Window:
    """Day D and its cut-off C: [start, cutoff) in UTC; `memo` lets indicators of one family share a
    read (the clocks' percentiles read the leads once)."""

    day: dt.date
    start: dt.datetime
    cutoff: dt.datetime
    memo: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, read: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = read()
        return self.memo[key]


#: `(session, base unit, window) → {owning unit path: Figure}`: the figures of `base`'s subtree by
#: the unit that owns them; the command centre adds them up the tree (`rules.rollup`)
Collect = Callable[[Session, Unit, Window], dict[str, Figure]]


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    kind: str
    direction: str
    definition: str
    collect: Collect
    #: the percentile (0–100) of an `hours` indicator
    quantile: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.direction not in DIRECTIONS:
            raise ValueError(f"indicator {self.code}: kind {self.kind!r} / direction {self.direction!r}")


@dataclass(frozen=True)
class Planned:
    """A code the command centre shows whether or not a capability provides it yet."""

    code: str
    name_zh: str
    name_en: str
    kind: str


_CLOCKS = [(f"clock.{step}_h.{q}", f"{zh}时长{q.upper()}(小时)", f"{en} hours {q}", "hours")
           for step, zh, en in (("known", "即知", "Known"), ("managed", "即管", "Managed"),
                                ("controlled", "即控", "Controlled")) for q in ("p50", "p90")]

#: every indicator of the first set, in the order reports list them
PLANNED: list[Planned] = [Planned(*p) for p in [
    ("leads.received", "接收线索", "Leads received", "count"),
    ("leads.cleared_same_day", "日产日清率", "Cleared the same day", "rate"),
    ("leads.overdue", "超时未核查", "Leads overdue", "count"),
    *_CLOCKS,
    ("testing.compliance", "应检尽检率", "Test compliance", "rate"),
    ("testing.coverage", "应纳尽纳率", "Enrolment coverage", "rate"),
    ("testing.tested", "采样人次", "Persons sampled", "count"),
    ("testing.positive_pools", "阳性混管", "Positive pools", "count"),
    ("cases.new", "新增病例", "New cases", "count"),
    ("cases.detected_in_control", "管控中发现率", "Cases detected under control", "rate"),
    ("contacts.under_control", "密接管控率", "Contacts under control", "rate"),
    ("checkpoints.inspected", "卡口查验", "Checkpoint inspections", "count"),
    ("trips.open", "未闭环行程", "Open trips", "count"),
    ("quarantine.occupancy", "隔离点使用率", "Quarantine occupancy", "rate"),
    ("signals.open", "未处置预警", "Open signals", "count"),
]]

_REGISTRY: dict[str, Indicator] = {}

#: modules that register indicators when imported (a capability adds its own `command_indicators`)
_PROVIDERS = ["fangkong.command.builtin"]


def register(indicator: Indicator) -> Indicator:
    """Add (or replace) an indicator; a code outside `PLANNED` is listed after the planned ones."""
    _REGISTRY[indicator.code] = indicator
    return indicator


_loaded: list[bool] = []


def load() -> None:
    """Import every module that registers indicators: ours, and each capability's
    `fangkong.<capability>.command_indicators` where one exists (once a process: a module not found
    is looked for again on every call otherwise, on the screen's hot path)."""
    from fangkong.registry import CAPABILITIES

    if _loaded:
        return

    for name in _PROVIDERS:
        importlib.import_module(name)
    for cap in CAPABILITIES:
        try:
            importlib.import_module(f"fangkong.{cap}.command_indicators")
        except ModuleNotFoundError as exc:
            if exc.name != f"fangkong.{cap}.command_indicators":
                raise
    _loaded.append(True)


def registered() -> dict[str, Indicator]:
    load()
    return dict(_REGISTRY)


def catalogue() -> list[tuple[Planned, Indicator | None]]:
    """Every code to report, planned ones first (with None where not enabled), then other registered ones."""
    reg = registered()
    planned = {p.code for p in PLANNED}
    extra = [Planned(i.code, i.name_zh, i.name_en, i.kind) for c, i in sorted(reg.items()) if c not in planned]
    return [(p, reg.get(p.code)) for p in [*PLANNED, *extra]]
