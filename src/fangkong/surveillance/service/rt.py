"""R_t from the cases (实时再生数): the cases tracing registered, by local onset day (the sampling day
when a case has no onset), local and imported (found at an entry checkpoint), estimated as EpiEstim's
`estimate_R(method = "parametric_si")` does. Cases come through tracing's service, in the actor's
jurisdiction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.surveillance.algorithms import rt

#: serial interval of the page's default (Nishiura et al. 2020: mean 4.7 d, sd 2.9 d); the page takes others
SI_MEAN, SI_SD, WINDOW = 4.7, 2.9, 7
#: the detection channel of an imported case (输入病例: found at an entry checkpoint)
IMPORTED_CHANNELS = ("checkpoint",)


@dataclass
class RtCurve:
    """Daily cases from the first onset to `until` and each window's estimate (dated by its last day)."""

    days: list[dt.date] = field(default_factory=list)
    local: list[int] = field(default_factory=list)
    imported: list[int] = field(default_factory=list)
    ends: list[dt.date] = field(default_factory=list)
    mean: list[float | None] = field(default_factory=list)
    median: list[float | None] = field(default_factory=list)
    lower: list[float | None] = field(default_factory=list)
    upper: list[float | None] = field(default_factory=list)


def cases_by_onset(session: Session, actor: Actor) -> dict[dt.date, list[int]]:
    """Local day → [local, imported] of the cases the actor sees (needs `case.view`)."""
    from fangkong.tracing import service as tracing_service

    out: dict[dt.date, list[int]] = {}
    before: int | None = None
    while True:
        page = tracing_service.list_cases(session, actor, limit=500, before_id=before)
        for case, _person in page:
            at = case.onset_at or case.sampled_at or case.created_at
            local = clock.to_local(at)
            assert local is not None
            cell = out.setdefault(local.date(), [0, 0])
            cell[1 if case.detection_channel in IMPORTED_CHANNELS else 0] += 1
        if len(page) < 500:
            return out
        before = page[-1][0].id


def rt_curve(session: Session, actor: Actor, *, until: dt.date | None = None, si_mean: float = SI_MEAN,
             si_sd: float = SI_SD, window: int = WINDOW) -> RtCurve:
    """The cases and R_t with its 95% interval; no estimate while there are fewer than window + 1 days."""
    actor.require("surveillance.view")
    counts = cases_by_onset(session, actor)
    out = RtCurve()
    if not counts:
        return out
    until = until or clock.today()
    day = min(counts)
    while day <= until:
        local, imported = counts.get(day, [0, 0])
        out.days.append(day)
        out.local.append(local)
        out.imported.append(imported)
        day += dt.timedelta(days=1)
    if len(out.days) < window + 1:
        return out
    est = rt.estimate_r(np.array(out.local), np.array(out.imported), si_mean=si_mean, si_sd=si_sd, window=window)
    q = list(rt.QUANTILES)
    for i, end in enumerate(est.t_end):
        out.ends.append(out.days[int(end) - 1])
        out.mean.append(_num(est.mean[i]))
        out.median.append(_num(est.quantiles[i, q.index(0.5)]))
        out.lower.append(_num(est.quantiles[i, q.index(0.025)]))
        out.upper.append(_num(est.quantiles[i, q.index(0.975)]))
    return out


def _num(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None
