"""The detection run (预警研判运行): every day up to a date of every site × indicator and unit ×
indicator series that lacks a verdict or whose data changed is judged by the pack's rule; alarms open
or extend signals, each new signal gets a review task. A second run changes nothing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service
from fangkong.surveillance import kinds, rules
from fangkong.surveillance.algorithms import methods
from fangkong.surveillance.models import AntigenResult, SentinelCount, SentinelSite, Verdict
from fangkong.surveillance.service.signals import attach_alarms


@dataclass
class _Series:
    key: str
    level: str
    site: SentinelSite | None
    unit_id: int
    unit_path: str
    indicator: str
    kind: str | None
    days: list[dt.date]
    values: list[int | None] = field(default_factory=list)


def _series(session: Session, pack: Any, until: dt.date) -> list[_Series]:
    sites = list(session.execute(select(SentinelSite).where(SentinelSite.active_from <= until)
                                 .order_by(SentinelSite.id)).scalars())
    counts: dict[tuple[int, str], dict[dt.date, int]] = defaultdict(dict)
    for site_id, day, indicator, count in session.execute(select(
            SentinelCount.site_id, SentinelCount.day, SentinelCount.indicator, SentinelCount.count)
            .where(SentinelCount.day <= until)):
        counts[(site_id, indicator)][day] = count
    holidays = pack.surveillance.school_holidays
    out: list[_Series] = []
    # unit sums: unit id → indicator → day → [total, missing?]
    unit_sum: dict[tuple[int, str], dict[dt.date, list[int]]] = defaultdict(dict)
    for site in sites:
        days = rules.reporting_days(site.kind, site.active_from, until, holidays)
        ancestors = [int(p) for p in site.unit_path.strip("/").split("/") if p]
        for indicator in pack.surveillance.indicators.get(site.kind, []):
            got = counts.get((site.id, indicator), {})
            values = [got.get(d) for d in days]
            out.append(_Series(f"site:{site.id}", "site", site, site.unit_id, site.unit_path, indicator, site.kind,
                               days, values))
            for unit_id in ancestors:
                acc = unit_sum[(unit_id, indicator)]
                for d, v in zip(days, values, strict=True):
                    cell = acc.setdefault(d, [0, 0])
                    if v is None:
                        cell[1] = 1
                    else:
                        cell[0] += v
    paths = dict(session.execute(select(Unit.id, Unit.path)).all())
    _antigen_sums(session, until, paths, unit_sum)
    for (unit_id, indicator), acc in sorted(unit_sum.items()):
        days = sorted(acc)
        out.append(_Series(f"unit:{unit_id}", "unit", None, unit_id, paths[unit_id], indicator, None, days,
                           [None if acc[d][1] else acc[d][0] for d in days]))
    return out


def _antigen_sums(session: Session, until: dt.date, paths: dict[int, str],
                  unit_sum: dict[tuple[int, str], dict[dt.date, list[int]]]) -> None:
    """Daily positive antigen results per unit and every unit above it (`antigen_positive`): every day
    from the first antigen result to `until`, 0 on a day without one (a test count, never missing)."""
    from fangkong.surveillance.service.antigen import INDICATOR, daily_positives

    first = session.execute(select(func.min(AntigenResult.day))).scalar()
    if first is None or first > until:
        return
    days = [first + dt.timedelta(days=n) for n in range((until - first).days + 1)]
    for unit_id, by_day in daily_positives(session, until).items():
        for anc in [int(p) for p in paths[unit_id].strip("/").split("/") if p]:
            acc = unit_sum[(anc, INDICATOR)]
            for d in days:
                acc.setdefault(d, [0, 0])[0] += by_day.get(d, 0)


def run_detection(session: Session, actor: Actor, *, until: dt.date | None = None) -> dict[str, int]:
    """Judge every series up to `until` (default yesterday, local). Returns counts of what changed."""
    pack = policy_service.active_pack(session)
    until = until or clock.today() - dt.timedelta(days=1)
    stats = {"series": 0, "judged": 0, "insufficient": 0, "unchanged": 0, "alarms": 0, "signals_opened": 0,
             "signals_extended": 0, "missing_tasks": 0}
    existing = {(v.series_key, v.indicator, v.day): v for v in session.execute(
        select(Verdict).where(Verdict.day <= until)).scalars()}
    alarms: list[Verdict] = []
    missing_sites: dict[int, SentinelSite] = {}
    now = clock.now()
    from fangkong.surveillance.service.antigen import resolve_antigen_followups

    stats["antigen_resolved"] = sum(resolve_antigen_followups(session, actor).values())
    for s in _series(session, pack, until):
        if s.site is not None and any(v is None for v in s.values):
            missing_sites[s.site.id] = s.site
        rule = pack.surveillance.rule_for(level=s.level, site_kind=s.kind, indicator=s.indicator, period="day")
        if rule is not None and rule.method in rules.DAILY_METHODS:
            stats["series"] += 1
            _judge(session, s, s.key, s.days, s.values, rule, existing, alarms, stats, now)
        # weekly: the week's sums, judged once the series holds the history the method needs (five years)
        rule = pack.surveillance.rule_for(level=s.level, site_kind=s.kind, indicator=s.indicator, period="week")
        if rule is not None and rule.method in rules.WEEKLY_METHODS:
            weeks, sums = rules.weekly(s.days, s.values, until)
            params = methods.parse_params(rule.method, dict(rule.params))
            if len(weeks) > rules.needed_before(rule.method, params):
                stats["series"] += 1
                _judge(session, s, s.key + rules.WEEK_SUFFIX, weeks, sums, rule, existing, alarms, stats, now)
    session.flush()
    stats["alarms"] = len(alarms)
    opened, extended = attach_alarms(session, actor, alarms, pack)
    stats["signals_opened"], stats["signals_extended"] = opened, extended
    stats["missing_tasks"] = _missing_tasks(session, actor, list(missing_sites.values()))
    if any(stats[k] for k in ("judged", "insufficient", "signals_opened", "signals_extended", "missing_tasks",
                              "antigen_resolved")):
        audit.record(session, actor, "surveillance.run", object_type="surveillance_verdict", until=until.isoformat(),
                     **{k: v for k, v in stats.items() if v})
    session.flush()
    return stats


def _judge(session: Session, s: _Series, key: str, days: list[dt.date], values: list[int | None], rule: Any,
           existing: dict[Any, Verdict], alarms: list[Verdict], stats: dict[str, int], now: dt.datetime) -> None:
    """Judge every point of one series that lacks a verdict or whose window changed."""
    params = methods.parse_params(rule.method, dict(rule.params))
    need = rules.needed_before(rule.method, params)
    # EARS judges a point from its window alone: one pass over the whole series gives every point's
    # verdict exactly as the window would (computed once, when the first point needs it)
    whole: Any = None
    for i in range(need, len(days)):
        window = values[i - need: i + 1]
        print_ = rules.fingerprint(rule.method, params, window)
        old = existing.get((key, s.indicator, days[i]))
        if old is not None and old.inputs == print_ and old.algorithm == rule.method:
            stats["unchanged"] += 1
            continue
        v = old or Verdict(series_key=key, level=s.level, site_id=s.site.id if s.site else None,
                           indicator=s.indicator, day=days[i], unit_id=s.unit_id, unit_path=s.unit_path)
        v.algorithm, v.inputs, v.judged_at = rule.method, print_, now
        was_alarm = bool(old is not None and old.alarm)
        if any(x is None for x in window):
            v.status, v.alarm = "insufficient", False
            v.observed = window[-1]
            v.expected = v.upperbound = v.statistic = None
            stats["insufficient"] += 1
        else:
            if rule.method in WINDOW_METHODS:
                if whole is None:
                    whole = methods.run(rule.method, np.array([np.nan if x is None else x for x in values],
                                                              dtype=float), params, start=need)
                det, j = whole, i - need
            else:
                det, j = methods.run(rule.method, np.array(window, dtype=float), params, start=need), 0
            v.status = "judged"
            v.observed = int(det.observed[j])
            v.expected = _f(det.expected[j])
            v.upperbound = _f(det.upperbound[j])
            v.statistic = _f(det.statistic[j])
            v.alarm = bool(det.alarm[j])
            stats["judged"] += 1
        if old is None:
            session.add(v)
        if v.alarm and not (was_alarm and v.signal_id):
            alarms.append(v)
        if not v.alarm and was_alarm:
            v.signal_id = None


#: methods whose verdict at a point depends on the point's window only (batched over a series)
WINDOW_METHODS = frozenset({"ears-c1", "ears-c2", "ears-c3"})


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _missing_tasks(session: Session, actor: Actor, sites: list[SentinelSite]) -> int:
    """One open reporting task per site with a missing day (none while one is open)."""
    from fangkong.kernel.tasks.models import Task

    if not sites:
        return 0
    open_ = set(session.execute(select(Task.subject_id).where(
        Task.kind == kinds.MISSING, Task.subject_type == "sentinel_site", Task.status == "open")).scalars())
    new = [tasks_service.NewTask(kind=kinds.MISSING, title=f"哨点缺报:{s.name}({s.ref})", unit_id=s.unit_id,
                                 subject_type="sentinel_site", subject_id=s.id,
                                 due_at=clock.now() + dt.timedelta(hours=24))
           for s in sites if s.id not in open_]
    if new:
        tasks_service.create_tasks(session, actor, new)
    return len(new)
