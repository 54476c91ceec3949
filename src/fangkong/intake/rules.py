"""Intake decisions (管控判定): which measure a lead's person needs, by the active policy pack.

Pure: no session, no clock — the caller passes the pack, the risk areas, the measures in force and
the time of the decision. Every decision names the rule that fired (`categories.close_contact`,
`risk_areas.high`, `measures.in_force`) and explains itself in one Chinese sentence.

How a decision is made:
- candidates: the category the sender gave (`categories.<code>`), and the category a stay in a risk
  area maps to (`risk_areas.<level>`): the origin lies in an area active at the arrival time, and
  the arrival is within the level's `stay_window_days` of the decision; `categories.other` when
  neither applies;
- the strongest candidate wins: strength = (strongest measure kind, days, number of tests);
- a measure already in force that is at least as strong in kind and lasts at least as long makes
  the decision `measures.in_force` (nothing new to start).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from fangkong.control import service as control_service
from fangkong.kernel.messages import translate
from fangkong.kernel.policy.labels import rule_label
from fangkong.kernel.policy.schema import Category, Pack

#: measure kinds from weakest to strongest (control owns the order)
KIND_RANK = control_service.KIND_RANK
LEVEL_RANK = {"low": 1, "medium": 2, "high": 3}
LEVEL_ZH = {"high": "高风险区", "medium": "中风险区", "low": "低风险区"}


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def region_key(text: str | None) -> str:
    """NFKC, whitespace removed, traditional → simplified: how origins and area names compare."""
    if not text:
        return ""
    s = "".join(unicodedata.normalize("NFKC", text).split())
    return _t2s().convert(s).upper()


@dataclass(frozen=True)
class AreaSpan:
    """A risk area as a decision sees it (a row of `RiskArea`)."""

    name_key: str
    level: str
    start_at: dt.datetime
    end_at: dt.datetime | None = None
    region_code: str | None = None
    region_name: str = ""

    def active_at(self, at: dt.datetime) -> bool:
        return self.start_at <= at and (self.end_at is None or at < self.end_at)

    def contains(self, origin_key: str) -> bool:
        if not origin_key:
            return False
        if self.region_code and origin_key.isdigit():
            return origin_key.startswith(self.region_code)
        return bool(self.name_key) and self.name_key in origin_key


@dataclass(frozen=True)
class InForce:
    """A measure already running on the person."""

    measure_id: int
    category: str
    kind: str
    planned_end_at: dt.datetime | None


@dataclass(frozen=True)
class PhasePlan:
    measure: str
    kind: str
    #: first day of the phase counted from the measure's start (day 1)
    first_day: int
    days: int | None
    #: test days counted from the measure's start
    test_days: tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    """The outcome of `decide`: a category and its phases, or nothing new (`measure` is None)."""

    pack_version: str
    rule: str
    category: str
    measure: str | None
    kind: str
    phases: tuple[PhasePlan, ...]
    #: days from the start to the planned end (None: open-ended, until the negatives the pack asks)
    total_days: int | None
    test_days: tuple[int, ...]
    planned_end_at: dt.datetime | None
    explanation_zh: str
    risk_level: str | None = None
    in_force_id: int | None = None
    considered: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "pack_version": self.pack_version, "rule": self.rule, "category": self.category,
            "measure": self.measure, "kind": self.kind, "total_days": self.total_days,
            "test_days": list(self.test_days), "risk_level": self.risk_level,
            "in_force_id": self.in_force_id, "considered": list(self.considered),
            "phases": [{"measure": p.measure, "kind": p.kind, "first_day": p.first_day, "days": p.days,
                        "test_days": list(p.test_days)} for p in self.phases],
            "explanation_zh": self.explanation_zh,
        }


def risk_level_at(origin: str | None, at: dt.datetime, areas: Sequence[AreaSpan]) -> AreaSpan | None:
    """The highest-level area active at `at` that contains the origin (None when none)."""
    key = region_key(origin)
    found = [a for a in areas if a.level in LEVEL_RANK and a.active_at(at) and a.contains(key)]
    if not found:
        return None
    return max(found, key=lambda a: (LEVEL_RANK[a.level], a.name_key))


def plan(pack: Pack, category: str) -> tuple[tuple[PhasePlan, ...], int | None, int]:
    """Phases of a category with days counted from the start; (phases, total days, effective days).

    Effective days make open-ended categories comparable: the fixed days plus the window in which
    the negatives are expected (`until_negatives.within_days`), else the fixed days alone.
    """
    cat: Category = pack.category(category)
    phases: list[PhasePlan] = []
    offset = 0
    for phase in cat.phases:
        kind = pack.measure(phase.measure).kind
        phases.append(PhasePlan(phase.measure, kind, offset + 1, phase.days,
                                tuple(offset + d for d in phase.test_days)))
        offset += phase.days or 0
    total = cat.total_days
    effective = total if total is not None else offset + ((cat.until_negatives.within_days or 0)
                                                         if cat.until_negatives else 0)
    return tuple(phases), total, effective


def strength(pack: Pack, category: str) -> tuple[int, int, int]:
    """(strongest kind, effective days, number of tests): the larger, the stronger."""
    phases, _total, effective = plan(pack, category)
    rank = max((KIND_RANK.get(p.kind, 0) for p in phases), default=0)
    return rank, effective, sum(len(p.test_days) for p in phases)


def _days_zh(phases: Sequence[PhasePlan], pack: Pack) -> str:
    parts = []
    for p in phases:
        name = pack.measure(p.measure).name_zh
        parts.append(f"{name} {p.days} 天" if p.days else f"{name}(至检测阴性)")
    text = " + ".join(parts)
    tests = [d for p in phases for d in p.test_days]
    if tests:
        text += ",第 " + "、".join(str(d) for d in tests) + " 天核酸检测"
    return text


def _rule_zh(pack: Pack, rule: str) -> str:
    """The rule that fired, named for people (高风险区旅居规则), not by its code (`risk_areas.high`)."""
    return translate(rule_label(pack, rule), "zh_CN")


def decide(pack: Pack, *, category: str | None, origin: str | None, arrival_at: dt.datetime | None,
           decided_at: dt.datetime, areas: Sequence[AreaSpan] = (), in_force: Sequence[InForce] = ()
           ) -> Decision:
    """Decide the measure for one lead (see the module docstring for the rules)."""
    candidates: list[tuple[str, str, str | None, AreaSpan | None]] = []  # (category, rule, level, area)
    if category and category in pack.categories:
        candidates.append((category, f"categories.{category}", None, None))
    stay_at = arrival_at or decided_at
    area = risk_level_at(origin, stay_at, areas)
    if area is not None:
        level = pack.risk_level(area.level)
        if decided_at - stay_at <= dt.timedelta(days=level.stay_window_days):
            candidates.append((level.category, f"risk_areas.{area.level}", area.level, area))
    if not candidates:
        candidates.append(("other", "categories.other", None, None))

    # strongest first; on a tie the sender's category (listed first) stays first (stable sort)
    ranked = sorted(candidates, key=lambda c: strength(pack, c[0]), reverse=True)
    chosen_cat, rule, level_code, chosen_area = ranked[0]
    phases, total, effective = plan(pack, chosen_cat)
    rank = max((KIND_RANK.get(p.kind, 0) for p in phases), default=0)
    kind = max((p.kind for p in phases), key=lambda k: KIND_RANK.get(k, 0), default="none")
    cat = pack.category(chosen_cat)
    considered = tuple(c[1] for c in ranked)

    why = f"类别:{cat.name_zh}"
    if level_code and chosen_area is not None:
        when = stay_at.date().isoformat()
        why = (f"来源地「{origin}」在 {when} 属{LEVEL_ZH[level_code]}({chosen_area.region_name or chosen_area.name_key}),"
               f"{pack.risk_level(level_code).stay_window_days} 天内有旅居史,按{cat.name_zh}管理")
    elif rule == "categories.other":
        why = "未报类别,来源地不在风险区域内,按其他人员核查"

    planned_end = decided_at + dt.timedelta(days=total) if total is not None else None
    # an equal or stronger measure already running, lasting at least as long: nothing new
    for m in sorted(in_force, key=lambda m: m.measure_id):
        lasts = m.planned_end_at is None or m.planned_end_at >= decided_at + dt.timedelta(days=effective)
        if KIND_RANK.get(m.kind, 0) >= rank and lasts:
            end = "不定期" if m.planned_end_at is None else m.planned_end_at.date().isoformat()
            text = (f"{why};已在执行同等或更强的管控措施(措施 #{m.measure_id},至 {end}),"
                    f"不另行采取措施。依据 {pack.version_tag} {_rule_zh(pack, 'measures.in_force')}。")
            return Decision(pack.version_tag, "measures.in_force", chosen_cat, None, m.kind, (), None, (), None,
                            text, level_code, m.measure_id, considered)

    text = f"{why}:{_days_zh(phases, pack)}。依据 {pack.version_tag} {_rule_zh(pack, rule)}。"
    return Decision(pack.version_tag, rule, chosen_cat, phases[0].measure if phases else None, kind, phases,
                    total, tuple(d for p in phases for d in p.test_days), planned_end, text, level_code,
                    None, considered)
