"""Turnaround (检测时效): sampling → first result, per lab and sampling point, against the policy targets."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.places.models import Place
from fangkong.testing import rules
from fangkong.testing.models import Tube
from fangkong.testing.service import common


def _target(p: Any, setting: str, default: float) -> float:
    try:
        return p.turnaround(setting).total_seconds() / 3600
    except KeyError:
        return default


def turnaround(session: Session, actor: Actor, *, since: dt.datetime | None = None,
               until: dt.datetime | None = None, setting: str = "routine") -> dict[str, Any]:
    """Tubes sampled in [since, until) (default: the last 7 days) with a result: per lab, per sampling
    point, and per (lab, sampling point): count, median, 90th percentile and max hours, the share within
    the policy target (`turnaround_hours.<setting>`), and positives reported later than
    `turnaround_hours.positive_report`."""
    actor.require("testing.view")
    p = common.pack(session)
    target = _target(p, setting, 24.0)
    positive_target = _target(p, "positive_report", 12.0)
    until = until or clock.now()
    since = since or until - dt.timedelta(days=7)
    point = aliased(Place)
    stmt = scope.visible(
        select(Tube.lab, point.code, point.name, Tube.collected_at, Tube.reported_at, Tube.result)
        .outerjoin(point, point.id == Tube.sampling_point_id)
        .where(Tube.collected_at >= since, Tube.collected_at < until, Tube.reported_at.is_not(None)), actor, Tube)
    groups: dict[str, dict[tuple[str, ...], list[float]]] = {"lab": defaultdict(list), "sampling_point":
                                                             defaultdict(list), "lab_point": defaultdict(list)}
    late_positive: dict[tuple[str, ...], int] = defaultdict(int)
    names: dict[str, str] = {}
    all_hours: list[float] = []
    for lab, code, name, collected, reported, result in session.execute(stmt):
        hours = max(0.0, (reported - collected).total_seconds() / 3600)
        lab = lab or "?"
        code = code or "?"
        names[code] = name or code
        all_hours.append(hours)
        groups["lab"][(lab,)].append(hours)
        groups["sampling_point"][(code,)].append(hours)
        groups["lab_point"][(lab, code)].append(hours)
        if result == "positive" and hours > positive_target:
            late_positive[(lab,)] += 1

    def row(key: tuple[str, ...], hours: list[float], kind: str) -> dict[str, Any]:
        t = rules.turnaround(hours, target)
        out: dict[str, Any] = {}
        if kind in ("lab", "lab_point"):
            out["lab"] = key[0]
        if kind in ("sampling_point", "lab_point"):
            code = key[-1]
            out.update({"sampling_point": code, "sampling_point_name": names.get(code, code)})
        out.update({"tubes": t.tubes, "median_hours": t.median_hours, "p90_hours": t.p90_hours,
                    "max_hours": t.max_hours, "within_target": t.within_target,
                    "within_target_pct": t.within_target_pct})
        if kind == "lab":
            out["late_positives"] = late_positive.get(key, 0)
        return out

    overall = rules.turnaround(all_hours, target)
    return {
        "since": clock.iso_local(since), "until": clock.iso_local(until), "target_hours": target,
        "positive_target_hours": positive_target, "policy_version": p.version_tag,
        "overall": {"tubes": overall.tubes, "median_hours": overall.median_hours, "p90_hours": overall.p90_hours,
                    "max_hours": overall.max_hours, "within_target_pct": overall.within_target_pct},
        "by_lab": [row(k, v, "lab") for k, v in sorted(groups["lab"].items())],
        "by_sampling_point": [row(k, v, "sampling_point") for k, v in sorted(groups["sampling_point"].items())],
        "by_lab_and_point": [row(k, v, "lab_point") for k, v in sorted(groups["lab_point"].items())],
    }
