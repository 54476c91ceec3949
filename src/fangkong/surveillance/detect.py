"""`fangkong surveillance detect` and `POST /api/v1/surveillance/detect`: judge series given as rows
(series, t, count) with one method, and estimate R_t from (series, t, local[, imported]).

A series is judged only if it is whole: every count a whole number ≥ 0 (`12.0` and full-width digits
too) and its periods consecutive (t = 1, 2, … or dates one day or one week apart), none repeated or
missing. Otherwise every row of the series is rejected, the offending ones naming `count` or `t`, the
others naming `series`. Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.tabular import ReportRow
from fangkong.surveillance.algorithms import methods
from fangkong.surveillance.algorithms.rt import QUANTILES, estimate_r

BAD_COUNT = message("surveillance.bad_count", _("not a whole number of at least 0: %(value)s"))
BAD_T = message("surveillance.bad_t", _("not a period number (1, 2, …) or a date: %(value)s"))
MIXED_T = message("surveillance.mixed_t", _("periods of one series must be all numbers or all dates"))
REPEATED_T = message("surveillance.repeated_t", _("period %(t)s appears more than once in series %(series)s"))
MISSING_T = message("surveillance.missing_t", _("period %(t)s is missing before this one"))
OFF_GRID_T = message("surveillance.off_grid_t", _("%(t)s is not %(step)s day(s) after the series' first date"))
NOT_JUDGED = message("surveillance.not_judged", _("series %(series)s not judged: %(reason)s"))
REASON_ROWS = message("surveillance.reason_rows", _("row(s) %(rows)s are bad"))
TOO_SHORT = message("surveillance.too_short", _("%(method)s needs %(needed)s periods before the first judged "
                                                "one; the series has %(have)s"))
FROM_NOT_IN = message("surveillance.from_not_in", _("--from %(value)s is not a period of this series"))
BAD_FROM = message("surveillance.bad_from", _("not a period number or a date: %(value)s"))

#: header aliases of the detect file
DETECT_COLUMNS: dict[str, list[str]] = {
    "series": ["系列", "序列", "监测序列", "series_id", "name"],
    "t": ["时间", "期", "周期", "日期", "date", "week", "period", "time"],
    "count": ["数量", "计数", "病例数", "y", "observed", "n"],
}
RT_COLUMNS: dict[str, list[str]] = {
    "series": ["系列", "序列", "series_id", "name"],
    "t": ["时间", "日期", "date", "day", "time"],
    "local": ["本地", "本地病例", "本土病例", "cases", "I", "incidence"],
    "imported": ["输入", "输入病例", "境外输入"],
}
STEP_DAYS = {"day": 1, "week": 7}


@dataclass
class InRow:
    number: int
    series: str
    t: str
    values: dict[str, str]


@dataclass
class Series:
    """One whole series: its name, periods (as given, in order) and counts."""

    name: str
    labels: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)


def parse_count(text: str) -> int | None:
    """A whole number ≥ 0 (`12`, `12.0`, `１２`), or None."""
    s = unicodedata.normalize("NFKC", str(text)).strip().replace(",", "")
    if not s:
        return None
    try:
        f = float(s)
    except ValueError:
        return None
    if not math.isfinite(f) or f < 0 or f != int(f):
        return None
    return int(f)


def parse_t(text: str) -> int | dt.date | None:
    """A period number ≥ 1 or a date (ISO, `YYYY/MM/DD`, `YYYY年M月D日`; a time of day is ignored)."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    if not s:
        return None
    n = parse_count(s)
    if n is not None:
        return n if n >= 1 else None
    s = s.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    s = s.split("T")[0].split(" ")[0]
    try:
        y, m, d = (int(p) for p in s.split("-"))
        return dt.date(y, m, d)
    except (ValueError, TypeError):
        return None


def assemble(rows: Iterable[InRow], value_fields: Sequence[str], *, period: str = "day",
             optional: Sequence[str] = ()) -> tuple[list[Series], dict[int, ReportRow]]:
    """Group rows into series and check each: the whole series, or every row of it rejected."""
    step = STEP_DAYS[period]
    groups: dict[str, list[InRow]] = {}
    reports: dict[int, ReportRow] = {}
    for r in rows:
        groups.setdefault(r.series, []).append(r)
        reports[r.number] = ReportRow(row=r.number, status="accepted", extra={"series": r.series, "t": r.t})
    out: list[Series] = []
    for name, members in groups.items():
        bad: dict[int, list[FieldIssue]] = {}
        parsed: list[tuple[Any, InRow, dict[str, int]]] = []
        for r in members:
            issues: list[FieldIssue] = []
            t = parse_t(r.t)
            if t is None:
                issues.append(FieldIssue("t", BAD_T(value=r.t)))
            vals: dict[str, int] = {}
            for f in value_fields:
                raw = r.values.get(f, "")
                if f in optional and raw == "":
                    vals[f] = 0
                    continue
                v = parse_count(raw)
                if v is None:
                    issues.append(FieldIssue(f, BAD_COUNT(value=raw or "''")))
                else:
                    vals[f] = v
            if issues:
                bad[r.number] = issues
            if t is not None:
                parsed.append((t, r, vals))
        kinds = {type(t) is int for t, _r, _v in parsed}
        if len(kinds) > 1:
            for _t, r, _v in parsed:
                bad.setdefault(r.number, []).append(FieldIssue("t", MIXED_T()))
            parsed = []
        ordinal: list[tuple[int, Any, InRow, dict[str, int]]] = []
        if parsed:
            is_date = isinstance(parsed[0][0], dt.date)
            first = min(t for t, _r, _v in parsed)
            for t, r, v in parsed:
                if is_date:
                    days = (t - first).days
                    if days % step:
                        bad.setdefault(r.number, []).append(FieldIssue("t", OFF_GRID_T(t=r.t, step=step)))
                        continue
                    ordinal.append((days // step, t, r, v))
                else:
                    ordinal.append((t, t, r, v))
            ordinal.sort(key=lambda x: (x[0], x[2].number))
            seen: dict[int, int] = {}
            prev: int | None = None
            for o, _t, r, _v in ordinal:
                if o in seen:
                    bad.setdefault(r.number, []).append(FieldIssue("t", REPEATED_T(t=r.t, series=name)))
                    bad.setdefault(seen[o], []).append(FieldIssue("t", REPEATED_T(t=r.t, series=name)))
                    continue
                if prev is not None and o > prev + 1:
                    bad.setdefault(r.number, []).append(FieldIssue("t", MISSING_T(t=_label(o - 1, ordinal,
                                                                                                 step))))
                seen[o] = r.number
                prev = o
        if bad:
            reason = REASON_ROWS(rows=sorted(bad))
            for r in members:
                rep = reports[r.number]
                rep.status = "rejected"
                rep.issues = list(bad.get(r.number) or [FieldIssue("series", NOT_JUDGED(series=name, reason=reason))])
            continue
        s = Series(name=name, labels=[r.t for _o, _t, r, _v in ordinal], rows=[r.number for _o, _t, r, _v in ordinal])
        for f in value_fields:
            s.values[f] = np.array([v[f] for _o, _t, _r, v in ordinal], dtype=float)
        s.values["_key"] = np.array([o for o, _t, _r, _v in ordinal])
        s.values["_t"] = np.array([t for _o, t, _r, _v in ordinal], dtype=object)
        out.append(s)
    return out, reports


def _label(ordinal: int, rows: list[tuple[int, Any, InRow, dict[str, int]]], step: int) -> str:
    first_o, first_t = rows[0][0], rows[0][1]
    if isinstance(first_t, dt.date):
        return (first_t + dt.timedelta(days=step * (ordinal - first_o))).isoformat()
    return str(ordinal)


def _cell(v: float) -> str | float:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def _start_index(s: Series, start: str | None) -> int | None:
    if start is None:
        return None
    t = parse_t(start)
    if t is None:
        raise methods.BadParameter("from", BAD_FROM(value=start))
    ts = list(s.values["_t"])
    if t in ts:
        return ts.index(t)
    if isinstance(t, type(ts[0])) and t < ts[0]:
        return 0
    return len(ts) if isinstance(t, type(ts[0])) and t > ts[-1] else -1


DETECT_OUT = ["series", "t", "observed", "expected", "upperbound", "statistic", "alarm"]


def detect(rows: Iterable[InRow], *, method: str, params: Mapping[str, Any], start: str | None = None,
           period: str = "day") -> tuple[list[dict[str, Any]], list[ReportRow]]:
    """Judge every whole series; the output rows (`DETECT_OUT` + `phi`, `trend` for Farrington) and one
    report line per input row (in input order)."""
    series, reports = assemble(rows, ["count"], period=period)
    farr = method in methods.FARRINGTON
    out: list[dict[str, Any]] = []
    first = methods.first_judged(method, params)
    for s in series:
        y = s.values["count"]
        k = _start_index(s, start)
        if k == -1:
            _reject_series(reports, s, FieldIssue("t", FROM_NOT_IN(value=start)))
            continue
        k = first if k is None else max(k, first if method != "cusum" or "m" in params else 1)
        if k >= len(y):
            if len(y) <= first:
                _reject_series(reports, s, FieldIssue("series", TOO_SHORT(method=method, needed=first, have=len(y))))
            continue
        det = methods.run(method, y, params, start=k)
        for i, ti in enumerate(det.t):
            row: dict[str, Any] = {"series": s.name, "t": s.labels[ti], "observed": int(det.observed[i]),
                                   "expected": _cell(det.expected[i]), "upperbound": _cell(det.upperbound[i]),
                                   "statistic": _cell(det.statistic[i]), "alarm": bool(det.alarm[i])}
            if farr and det.extra:
                row["phi"] = _cell(det.extra["phi"][i])
                row["trend"] = "" if not math.isfinite(det.extra["phi"][i]) else int(det.extra["trend"][i])
            out.append(row)
    return out, [reports[n] for n in sorted(reports)]


def _reject_series(reports: dict[int, ReportRow], s: Series, issue: FieldIssue) -> None:
    for n in s.rows:
        reports[n].status = "rejected"
        reports[n].issues = [issue]


RT_OUT = ["series", "t_start", "t_end", "mean", "std", *[f"q{q:g}" if q != 0.5 else "median" for q in QUANTILES]]


def rt(rows: Iterable[InRow], *, si_mean: float, si_sd: float, window: int = 7, prior_mean: float = 5.0,
       prior_sd: float = 5.0, only: str | None = None) -> tuple[list[dict[str, Any]], list[ReportRow]]:
    """R_t per whole series (`only`: one series by name); t_start/t_end as the file gives its periods."""
    series, reports = assemble(rows, ["local", "imported"], optional=["imported"])
    out: list[dict[str, Any]] = []
    for s in series:
        if only is not None and s.name != only:
            continue
        if len(s.labels) < window + 1:
            _reject_series(reports, s, FieldIssue("series", TOO_SHORT(method="rt", needed=window + 1,
                                                                      have=len(s.labels))))
            continue
        est = estimate_r(s.values["local"], s.values["imported"], si_mean=si_mean, si_sd=si_sd, window=window,
                         prior_mean=prior_mean, prior_sd=prior_sd)
        for i in range(len(est.t_start)):
            row: dict[str, Any] = {"series": s.name, "t_start": s.labels[est.t_start[i] - 1],
                                   "t_end": s.labels[est.t_end[i] - 1], "mean": _cell(est.mean[i]),
                                   "std": _cell(est.std[i])}
            for q, v in zip(RT_OUT[5:], est.quantiles[i], strict=True):
                row[q] = _cell(v)
            out.append(row)
    return out, [reports[n] for n in sorted(reports)]
