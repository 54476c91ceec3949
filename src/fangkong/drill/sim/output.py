"""A run's files and its platform-free scores (演练结果).

Files (UTF-8, `\\n` line ends, times in the scenario's local offset, ISO 8601 to the second):
`truth_infections.csv`, `contacts.csv`, `travellers.csv` (the columns issue #17 fixes) and
`daily.csv` (`day,date,infections,infectious,detected,controlled`: new infections, persons
infectious, new detections and new measures per day, for the curves). Everything is derived from the
run's arrays in a fixed order, so the same scenario and seed give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from fangkong.drill.sim.engine import SETTINGS, Engine, Truth

TRUTH_COLUMNS = ("person_id,infected_at,infector_id,setting,infectious_from,onset_at,asymptomatic,imported,"
                 "detected_at,controlled_at")
CONTACT_COLUMNS = "case_id,contact_person_id,category,listed_at,controlled_at,infected"
TRAVELLER_COLUMNS = "person_id,arrived_at,infected,controlled_at"
DAILY_COLUMNS = "day,date,infections,infectious,detected,controlled"
#: R reached over the earliest infections making up this share of the population
EARLY_SHARE = 0.01


def _times(engine: Engine, days: np.ndarray) -> np.ndarray:
    """Local ISO 8601 strings of `days` since the start ('' for NaN)."""
    start = engine.scenario.start
    offset = start.utcoffset() or dt.timedelta(0)
    base = np.datetime64(start.replace(tzinfo=None), "s")
    out = np.full(len(days), "", dtype=object)
    ok = ~np.isnan(days)
    if ok.any():
        secs = np.round(days[ok] * 86400).astype(np.int64).astype("timedelta64[s]")
        total = int(offset.total_seconds()) // 60
        sign = "+" if total >= 0 else "-"
        suffix = f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
        out[ok] = np.char.add(np.datetime_as_string(base + secs, unit="s"), suffix)
    return out


def _bool(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false").astype(object)


def _write(path: Path, header: str, columns: list[np.ndarray]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(header + "\n")
        if columns and len(columns[0]):
            for row in zip(*[c.tolist() for c in columns], strict=True):
                f.write(",".join("" if v is None else str(v) for v in row) + "\n")


def write_files(engine: Engine, truth: Truth, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    w, c = engine.world, engine.courses
    pid = w.person_id
    idx = np.flatnonzero(~np.isnan(truth.infected_at))
    idx = idx[np.lexsort((pid[idx], truth.infected_at[idx]))]
    t0 = truth.infected_at[idx]
    infector = truth.infector[idx]
    asym = c.asymptomatic[idx]
    onset = np.where(asym, np.nan, t0 + c.onset[idx])
    _write(out / "truth_infections.csv", TRUTH_COLUMNS, [
        pid[idx], _times(engine, t0),
        np.where(infector >= 0, pid[np.maximum(infector, 0)].astype(str), "").astype(object),  # seeds, imports: empty
        np.array(SETTINGS, dtype=object)[truth.setting[idx]], _times(engine, t0 + c.infectious_from[idx]),
        _times(engine, onset), _bool(asym), _bool(truth.imported[idx]), _times(engine, truth.detected_at[idx]),
        _times(engine, truth.controlled_at[idx])])

    index = {int(p): i for i, p in enumerate(pid.tolist())} if truth.contacts else {}
    rows = sorted(truth.contacts, key=lambda k: (k.listed_at, k.case_id, k.contact_person_id, k.category))
    if rows:
        ci = np.array([index.get(k.contact_person_id, -1) for k in rows])
        case_i = np.array([index.get(k.case_id, -1) for k in rows])
        ctrl = np.where(ci >= 0, truth.controlled_at[np.maximum(ci, 0)], np.nan)
        inf_at = np.where(ci >= 0, truth.infected_at[np.maximum(ci, 0)], np.nan)
        case_at = np.where(case_i >= 0, truth.infected_at[np.maximum(case_i, 0)], np.nan)
        infected = ~np.isnan(inf_at) & ~(inf_at < case_at)
        _write(out / "contacts.csv", CONTACT_COLUMNS, [
            np.array([k.case_id for k in rows]), np.array([k.contact_person_id for k in rows]),
            np.array([k.category for k in rows], dtype=object), _times(engine, np.array([k.listed_at for k in rows])),
            _times(engine, ctrl), _bool(infected)])
    else:
        _write(out / "contacts.csv", CONTACT_COLUMNS, [])

    if truth.travellers:
        who = np.array([tr[0] for tr in truth.travellers], dtype=np.int64)
        at = np.array([tr[1] for tr in truth.travellers])
        infected = np.array([tr[2] for tr in truth.travellers])
        ctrl = truth.controlled_at[who]
        ctrl = np.where(ctrl >= at - 1, ctrl, np.nan)  # a measure long before the journey is not its control
        _write(out / "travellers.csv", TRAVELLER_COLUMNS,
               [pid[who], _times(engine, at), _bool(infected), _times(engine, ctrl)])
    else:
        _write(out / "travellers.csv", TRAVELLER_COLUMNS, [])

    daily = daily_rows(engine, truth)
    _write(out / "daily.csv", DAILY_COLUMNS, [np.array(col, dtype=object) for col in zip(*daily, strict=True)])


def _per_day(values: np.ndarray, days: int) -> list[int]:
    v = values[~np.isnan(values)]
    return np.bincount(np.clip(np.floor(v).astype(np.int64), 0, days - 1), minlength=days).tolist()


def daily_rows(engine: Engine, truth: Truth) -> list[tuple[Any, ...]]:
    days = engine.scenario.days
    start = engine.scenario.start.date()
    inf = _per_day(truth.infected_at, days)
    det = _per_day(truth.detected_at, days)
    ctl = _per_day(truth.controlled_at, days)
    return [(d, (start + dt.timedelta(days=d)).isoformat(), inf[d], truth.infectious[d], det[d], ctl[d])
            for d in range(days)]


def scores(engine: Engine, truth: Truth) -> dict[str, Any]:
    """The scores a run has without a platform: size, attack rate, the early R and R by generation."""
    n = engine.n
    infected = np.flatnonzero(~np.isnan(truth.infected_at))
    total = len(infected)
    offspring = np.bincount(truth.infector[truth.infector >= 0], minlength=n)
    order = infected[np.lexsort((infected, truth.infected_at[infected]))]
    early = order[: min(total, max(1, math.ceil(EARLY_SHARE * n)))]
    gens = truth.generation[infected]
    counts = np.bincount(gens) if total else np.zeros(0, dtype=np.int64)
    by_gen = [{"generation": g, "infections": int(counts[g]),
               "r": round(float(counts[g + 1] / counts[g]), 4) if g + 1 < len(counts) else None}
              for g in range(len(counts)) if counts[g]]
    pairs = infected[truth.infector[infected] >= 0]
    gi = truth.infected_at[pairs] - truth.infected_at[truth.infector[pairs]]
    setting = np.bincount(truth.setting[infected].astype(np.int64), minlength=len(SETTINGS)) if total else \
        np.zeros(len(SETTINGS), dtype=np.int64)
    daily = _per_day(truth.infected_at, engine.scenario.days)
    return {
        "infections": total,
        "attack_rate": round(total / n, 6),
        "seeded": int((truth.setting == 0).sum()),
        "imported_infections": int(truth.imported.sum()),
        "travellers": len(truth.travellers),
        "r_first_1pct": round(float(offspring[early].mean()), 4) if len(early) else None,
        "r_first_1pct_cases": len(early),
        "r_eff_by_generation": by_gen,
        "generation_interval_mean_d": round(float(gi.mean()), 4) if len(gi) else None,
        "infections_by_setting": {s: int(setting[i]) for i, s in enumerate(SETTINGS)},
        "peak_day": int(np.argmax(daily)) if total else None,
        "peak_infections": int(max(daily)) if total else 0,
        "detected": int((~np.isnan(truth.detected_at)).sum()),
        "controlled": int((~np.isnan(truth.controlled_at)).sum()),
        "tests_used": truth.samples,
        **response_scores(engine, truth),
    }


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 6) if total else None


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None}
    a = np.array(values)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p90": round(float(np.percentile(a, 90)), 3)}


def response_scores(engine: Engine, truth: Truth) -> dict[str, Any]:
    """The response's scores (issue #17), from the truth alone (a baseline has them too: nobody
    controlled). Shares are None when there is nothing to count.

    - `imports_controlled_24h`: travellers arrived ≥ 24 h before the end, under a measure within 24 h
      of arrival;
    - `contacts_before_infectious`: infected, listed close contacts (each once, earliest control)
      controlled no later than the start of their infectious period;
    - `infectees_of_cases_controlled_before_infectious`: the same over everyone infected by a detected
      case; a person never listed as a contact is a miss;
    - `first_positive_to_all_contacts_h`: per detected case with listed contacts, hours from its
      detection to its last contact listed (p50, p90);
    - `cases_detected_in_control`: detected cases already under a measure when detected;
    - `quarantine_person_days`: days under a measure up to the end of the run."""
    days, c = engine.scenario.days, engine.courses
    ctrl, inf = truth.controlled_at, truth.infected_at
    eligible = [(i, at) for i, at, _inf in truth.travellers if at <= days - 1]
    hits = sum(1 for i, at in eligible if not np.isnan(ctrl[i]) and at - 1 <= ctrl[i] <= at + 1)
    index = {int(p): i for i, p in enumerate(engine.world.person_id.tolist())} if truth.contacts else {}
    infectious_start = inf + c.infectious_from
    listed: set[int] = set()
    last_listed: dict[int, float] = {}
    infected_contacts: set[int] = set()
    for k in truth.contacts:
        j, case = index.get(k.contact_person_id), index.get(k.case_id)
        if j is None or case is None:
            continue
        listed.add(j)
        last_listed[case] = max(last_listed.get(case, k.listed_at), k.listed_at)
        if not np.isnan(inf[j]) and not (inf[j] < inf[case]):
            infected_contacts.add(j)
    before = [j for j in infected_contacts if not np.isnan(ctrl[j]) and ctrl[j] <= infectious_start[j]]
    detected = ~np.isnan(truth.detected_at)
    infectees = np.flatnonzero((truth.infector >= 0) & detected[np.maximum(truth.infector, 0)])
    ok = [int(j) for j in infectees.tolist()
          if j in listed and not np.isnan(ctrl[j]) and ctrl[j] <= infectious_start[j]]
    clocks = [(t - truth.detected_at[case]) * 24 for case, t in sorted(last_listed.items())
              if not np.isnan(truth.detected_at[case])]
    det = np.flatnonzero(detected)
    in_control = int(np.sum(~np.isnan(ctrl[det]) & (ctrl[det] < truth.detected_at[det])))
    under = np.clip(days - np.nan_to_num(ctrl, nan=days), 0, None)
    return {
        "imports_controlled_24h": _share(hits, len(eligible)),
        "imports_eligible": len(eligible),
        "contacts_before_infectious": _share(len(before), len(infected_contacts)),
        "infected_contacts_listed": len(infected_contacts),
        "infectees_of_cases_controlled_before_infectious": _share(len(ok), len(infectees)),
        "infectees_of_detected_cases": len(infectees),
        "first_positive_to_all_contacts_h": _quantiles(clocks),
        "cases_detected_in_control": _share(in_control, len(det)),
        "quarantine_person_days": round(float(under.sum()), 3),
    }
