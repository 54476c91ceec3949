"""Intake decisions (管控判定): which measure a lead's person needs, by the active policy pack.

Pure: no session, no clock — the caller passes the pack, the risk areas, the measures in force and
the time of the decision. Every decision names the rule that fired (`categories.close_contact`,
`risk_areas.high`, `measures.in_force`) and explains itself in one Chinese sentence.

How a decision is made:
- candidates: the category the sender gave (`categories.<code>`), and the category a stay in a risk
  area maps to (`risk_areas.<level>`): the origin lies in an area active at the arrival time, and
  the arrival is within the level's `stay_window_days` of the decision; `categories.other` when
  neither applies;
- an origin lies in an area by code, never by substring: the origin's text resolves to one county
  (`kernel.jurisdictions.regions.resolve_region`; text naming several counties is an issue on
  `origin`, never a guess), that county is the area's, and when the area lists places (街道/小区/村)
  the origin's text after the county names one of them;
- the rest of a county that has an active high- or medium-risk area is low-risk (第九版: 低风险区 =
  中高风险区所在县区的其他地区), derived here, never typed: an origin in such a county outside its
  areas, or whose place is not given, is `risk_areas.low_derived`;
- the strongest candidate wins: strength = (strongest measure kind, days, number of tests);
- a measure already in force that is at least as strong in kind and lasts at least as long makes
  the decision `measures.in_force` (nothing new to start).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fangkong.control import service as control_service
from fangkong.kernel import clock
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.policy.schema import Category, Pack, RiskLevel

#: measure kinds from weakest to strongest (control owns the order)
KIND_RANK = control_service.KIND_RANK
LEVEL_RANK = {"low": 1, "medium": 2, "high": 3}
LEVEL_ZH = {"high": "高风险区", "medium": "中风险区", "low": "低风险区"}

ORIGIN_NOT_COUNTY = message("origin.not_county",
                            _("%(text)s names no county, and %(name)s has risk areas in force (%(areas)s): "
                              "give the county"))


def region_key(text: str | None) -> str:
    """NFKC, no whitespace, traditional → simplified: how area names are compared (kernel's key)."""
    return regions.region_key(text)


@dataclass(frozen=True)
class AreaSpan:
    """A risk area as a decision sees it (a row of `RiskArea`): a county (GB/T 2260 code) and, when the
    area is smaller than the county, the places inside it (街道/小区/村) it lists."""

    county_code: str | None
    level: str
    start_at: dt.datetime
    end_at: dt.datetime | None = None
    places: tuple[str, ...] = ()
    area_id: int | None = None

    def active_at(self, at: dt.datetime) -> bool:
        return self.start_at <= at and (self.end_at is None or at < self.end_at)

    def covers(self, origin: regions.Resolution) -> bool:
        """The origin lies in this area: the same county and, when the area lists places, one of them named
        in the origin's text after its county."""
        if not self.county_code or origin.code != self.county_code or not origin.is_county:
            return False
        return not self.places or any(regions.names_place(origin.remainder, p) for p in self.places)

    @property
    def places_text(self) -> str:
        return "、".join(self.places) if self.places else "全域"

    @property
    def label(self) -> str:
        """江苏省南京市鼓楼区宁海路街道XX小区 / 江苏省南京市鼓楼区（全域）"""
        county = regions.full_name(self.county_code) or (self.county_code or "")
        return county + ("、".join(self.places) if self.places else "（全域）")


class AreaIndex:
    """Risk areas by county, so a decision looks only at its origin's county (lists run to thousands)."""

    def __init__(self, areas: Iterable[AreaSpan]) -> None:
        self.by_county: dict[str, list[AreaSpan]] = {}
        for a in areas:
            if a.county_code:
                self.by_county.setdefault(a.county_code, []).append(a)

    def in_county(self, code: str | None) -> list[AreaSpan]:
        return self.by_county.get(code or "", [])

    def inside(self, code: str) -> list[AreaSpan]:
        """Areas in the counties of a province or prefecture code."""
        width = 2 if code[2:] == "0000" else 4
        return [a for c, areas in self.by_county.items() if c[:width] == code[:width] for a in areas]


@dataclass(frozen=True)
class AreaMatch:
    """Where an origin stood at a time: an area's level, or the derived low level of the rest of a county
    that has a high- or medium-risk area (`derived`; `area` is then the strongest area of the county)."""

    level: str
    area: AreaSpan
    derived: bool = False


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
    #: the county (GB/T 2260) the origin resolved to, when it named one
    origin_code: str | None = None
    #: the risk area that decided (for `risk_areas.low_derived`: the strongest area of the county)
    risk_area_id: int | None = None
    #: an issue on `origin` for the lead's report (ambiguous, no county where it matters, abolished)
    origin_issue: FieldIssue | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "pack_version": self.pack_version, "rule": self.rule, "category": self.category,
            "measure": self.measure, "kind": self.kind, "total_days": self.total_days,
            "test_days": list(self.test_days), "risk_level": self.risk_level,
            "in_force_id": self.in_force_id, "considered": list(self.considered),
            "origin_code": self.origin_code, "risk_area_id": self.risk_area_id,
            "phases": [{"measure": p.measure, "kind": p.kind, "first_day": p.first_day, "days": p.days,
                        "test_days": list(p.test_days)} for p in self.phases],
            "explanation_zh": self.explanation_zh,
        }


def risk_level_at(origin: str | regions.Resolution | None, at: dt.datetime,
                  areas: Sequence[AreaSpan] | AreaIndex) -> AreaMatch | None:
    """Where the origin stood at `at`: the highest-level active area that covers it, else the derived
    low level when its county has an active high- or medium-risk area; None otherwise (and always when
    the origin names no single county)."""
    index = areas if isinstance(areas, AreaIndex) else AreaIndex(areas)
    res = origin if isinstance(origin, regions.Resolution) else regions.resolve_region(origin)
    if not res.is_county:
        return None
    active = [a for a in index.in_county(res.code) if a.level in LEVEL_RANK and a.active_at(at)]
    found = [a for a in active if a.covers(res)]
    if found:
        best = max(found, key=lambda a: (LEVEL_RANK[a.level], -(a.area_id or 0)))
        if best.level != "low":
            return AreaMatch(best.level, best)
    strong = [a for a in active if a.level in ("high", "medium")]
    if strong:
        return AreaMatch("low", max(strong, key=lambda a: (LEVEL_RANK[a.level], -(a.area_id or 0))), derived=True)
    return AreaMatch("low", found[0]) if found else None


def _origin_issue(origin: str | None, res: regions.Resolution, at: dt.datetime,
                  index: AreaIndex) -> FieldIssue | None:
    """What the report says about an origin that could not be placed in one county, when it matters."""
    if not origin:
        return None
    if res.ambiguous or (res.code and res.abolished):
        return FieldIssue("origin", regions.county_problem(res) or "")
    if res.code and not res.is_county:
        strong = [a for a in index.inside(res.code) if a.level in ("high", "medium") and a.active_at(at)]
        if strong:
            shown = "、".join(dict.fromkeys(a.label for a in strong[:3])) + ("…" if len(strong) > 3 else "")
            return FieldIssue("origin", ORIGIN_NOT_COUNTY(text=origin, name=regions.full_name(res.code),
                                                          areas=shown))
    return None


def _pack_level(pack: Pack, level: str) -> RiskLevel | None:
    """The pack's rules for a level; None when the pack has no such level (a pack without medium)."""
    try:
        return pack.risk_level(level)
    except (KeyError, AttributeError):
        return None


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


def decide(pack: Pack, *, category: str | None, origin: str | None, arrival_at: dt.datetime | None,
           decided_at: dt.datetime, areas: Sequence[AreaSpan] | AreaIndex = (),
           in_force: Sequence[InForce] = ()) -> Decision:
    """Decide the measure for one lead (see the module docstring for the rules)."""
    candidates: list[tuple[str, str, str | None, AreaMatch | None]] = []  # (category, rule, level, match)
    if category and category in pack.categories:
        candidates.append((category, f"categories.{category}", None, None))
    stay_at = arrival_at or decided_at
    # a level the pack does not define (a medium area under the 二十条) decides nothing
    index = areas if isinstance(areas, AreaIndex) else AreaIndex([a for a in areas if pack.has_level(a.level)])
    res = regions.resolve_region(origin)
    found = risk_level_at(res, stay_at, index)
    level = _pack_level(pack, found.level) if found is not None else None
    if found is not None and level is not None and level.category in pack.categories \
            and decided_at - stay_at <= dt.timedelta(days=level.stay_window_days):
        rule = "risk_areas.low_derived" if found.derived else f"risk_areas.{found.level}"
        candidates.append((level.category, rule, found.level, found))
    if not candidates:
        candidates.append(("other", "categories.other", None, None))
    extra = {"origin_code": res.code if res.is_county else None,
             "origin_issue": _origin_issue(origin, res, stay_at, index)}

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
        when = (clock.to_local(stay_at) or stay_at).date().isoformat()  # the local day of the stay
        window = pack.risk_level(level_code).stay_window_days
        area = chosen_area.area
        if chosen_area.derived:
            why = (f"来源地「{origin}」在 {when} 属低风险区（{regions.full_name(area.county_code)}有"
                   f"{LEVEL_ZH[area.level]}「{area.places_text}」，该县区其他地区为低风险区），"
                   f"{window} 天内有旅居史，按{cat.name_zh}管理")
        else:
            why = (f"来源地「{origin}」在 {when} 属{LEVEL_ZH[level_code]}「{area.label}」，"
                   f"{window} 天内有旅居史，按{cat.name_zh}管理")
    elif rule == "categories.other" and res.ambiguous:
        why = f"未报类别，来源地「{origin}」对应多个县区，无法判定是否到过风险区域，按其他人员核查并问清来源地"
    elif rule == "categories.other":
        why = "未报类别,来源地不在风险区域内,按其他人员核查"
    if chosen_area is not None:
        extra["risk_area_id"] = chosen_area.area.area_id

    planned_end = decided_at + dt.timedelta(days=total) if total is not None else None
    # an equal or stronger measure already running, lasting at least as long: nothing new
    for m in sorted(in_force, key=lambda m: m.measure_id):
        lasts = m.planned_end_at is None or m.planned_end_at >= decided_at + dt.timedelta(days=effective)
        if KIND_RANK.get(m.kind, 0) >= rank and lasts:
            end = "不定期" if m.planned_end_at is None else m.planned_end_at.date().isoformat()
            text = (f"{why};已在执行同等或更强的管控措施(措施 #{m.measure_id},至 {end}),"
                    f"不另行采取措施。依据 {pack.version_tag} measures.in_force。")
            return Decision(pack.version_tag, "measures.in_force", chosen_cat, None, m.kind, (), None, (), None,
                            text, level_code, m.measure_id, considered, **extra)  # type: ignore[arg-type]

    text = f"{why}:{_days_zh(phases, pack)}。依据 {pack.version_tag} {rule}。"
    return Decision(pack.version_tag, rule, chosen_cat, phases[0].measure if phases else None, kind, phases,
                    total, tuple(d for p in phases for d in p.test_days), planned_end, text, level_code,
                    None, considered, **extra)  # type: ignore[arg-type]
