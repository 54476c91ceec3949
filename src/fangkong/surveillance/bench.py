"""`fangkong bench surveillance [series=1000] [naive=200] [with_r=1]`: Farrington on the last 52 weeks of
seeded 7-year weekly series (series × 52 fits).

Timed in the same run: the project's code (every fit of every series in one batch: IRLS vectorised
across fits, `farrington_many`) and the naive loop (one GLM at a time, `farrington_one_at_a_time`) on
the first `naive` series, whose verdicts must agree (alarms equal, bounds within 1e-9 relative; the
job fails otherwise). `with_r=1` also times R's `farringtonFlexible` on `r_series` series when `Rscript`
with the `surveillance` package is installed, and checks its alarms and bounds (1e-6) against ours.
Figures are per series-week. Goals: ≥ 5× the naive loop, ≥ 50× R.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from fangkong.kernel.bench import BenchResult, benchmark, compare
from fangkong.surveillance.algorithms import farrington as ff

WEEKS = 7 * 52
JUDGED = 52


def seeded_series(count: int, seed: int = 20220418) -> np.ndarray:
    """`count` weekly series of 7 years: negative binomial counts around a seasonal mean of 2 … 200
    cases a week with a slight trend, and an outbreak in one series in five."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, WEEKS + 1)
    base = np.exp(rng.uniform(np.log(2), np.log(200), count))
    amp = rng.uniform(0.1, 0.8, count)
    slope = rng.uniform(-0.001, 0.002, count)
    mu = base[:, None] * np.exp(amp[:, None] * np.sin(2 * np.pi * t / 52) + slope[:, None] * t)
    size = rng.uniform(5, 50, count)[:, None]
    y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    for i in range(0, count, 5):
        at = int(rng.integers(WEEKS - JUDGED, WEEKS - 5))
        y[i, at: at + 5] += np.round(base[i] * np.array([0.5, 1, 1.5, 1, 0.5]))
    return y


def _rows(dets: list[Any], first: int = 0) -> list[tuple[int, int, bool]]:
    return [(first + i, int(t), bool(a)) for i, d in enumerate(dets) for t, a in zip(d.t, d.alarm, strict=True)]


def _max_rel_diff(a: list[Any], b: list[Any]) -> float:
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        for f in ("upperbound", "expected"):
            u, v = getattr(x, f), getattr(y, f)
            both = np.isfinite(u) & np.isfinite(v)
            if (np.isfinite(u) != np.isfinite(v)).any():
                return float("inf")
            if both.any():
                worst = max(worst, float(np.max(np.abs(u[both] - v[both]) / np.maximum(1.0, np.abs(v[both])))))
    return worst


_R_SCRIPT = """
suppressPackageStartupMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
y <- as.matrix(read.csv(args[1], header = FALSE))
rng <- (ncol(y) - 51):ncol(y)
out <- NULL
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(y))) {
  s <- sts(observed = matrix(y[i, ], ncol = 1), frequency = 52, start = c(2015, 1))
  r <- farringtonFlexible(s, control = list(range = rng, glmWarnings = FALSE))
  out <- rbind(out, data.frame(series = i - 1, t = rng - 1, upperbound = as.vector(upperbound(r)),
                               alarm = as.vector(alarms(r))))
}
elapsed <- proc.time()[["elapsed"]] - t0
write.csv(out, args[2], row.names = FALSE)
cat(elapsed, "\\n")
"""


def _with_r(ys: np.ndarray, ours: list[Any], figures: dict[str, Any], notes: list[str]) -> None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        notes.append("Rscript not found: R's farringtonFlexible not timed (install r-base-core and "
                      "r-cran-surveillance, see docs/surveillance.md)")
        figures["r_timed"] = False
        return
    with tempfile.TemporaryDirectory() as tmp:
        src, out, script = Path(tmp) / "y.csv", Path(tmp) / "out.csv", Path(tmp) / "ff.R"
        np.savetxt(src, ys, fmt="%d", delimiter=",")
        script.write_text(_R_SCRIPT)
        run = subprocess.run([rscript, str(script), str(src), str(out)], capture_output=True, text=True,
                             timeout=3600, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})
        if run.returncode != 0:
            notes.append(f"R failed: {run.stderr.strip()[:300]}")
            figures["r_timed"] = False
            return
        elapsed = float(run.stdout.strip().split()[-1])
        with out.open() as fh:
            r_rows = list(csv.DictReader(fh))
    figures["r_timed"] = True
    figures["r_series"] = len(ys)
    figures["r_us_per_series_week"] = round(elapsed / (len(ys) * JUDGED) * 1e6, 1)
    worst, alarms_equal = 0.0, True
    for row in r_rows:
        d = ours[int(row["series"])]
        i = int(np.flatnonzero(d.t == int(row["t"]))[0])
        alarms_equal &= (row["alarm"] == "TRUE") == bool(d.alarm[i])
        if row["upperbound"] not in ("NA", ""):
            b = float(row["upperbound"])
            worst = max(worst, abs(float(d.upperbound[i]) - b) / max(1.0, abs(b)))
        elif np.isfinite(d.upperbound[i]):
            worst = float("inf")
    figures["r_alarms_equal"] = alarms_equal
    figures["r_max_rel_diff"] = worst
    figures["r_agrees"] = alarms_equal and worst <= 1e-6


@benchmark("surveillance", quick={"series": 20, "naive": 5, "r_series": 3})
def bench_surveillance(series: int = 1000, naive: int = 200, with_r: int = 0, r_series: int = 20,
                       seed: int = 20220418) -> BenchResult:
    """Farrington on the last 52 weeks of seeded 7-year weekly series: batched vs one GLM at a time (vs R)."""
    series, naive, r_series = int(series), min(int(naive), int(series)), min(int(r_series), int(series))
    ys = seeded_series(series, int(seed))
    settings = ff.VARIANTS["farrington"]
    start = WEEKS - JUDGED
    figures: dict[str, Any] = {"series": series, "fits": series * JUDGED}
    notes: list[str] = []
    t0 = time.perf_counter()
    batched = ff.farrington_many(ys, settings=settings, start=start)
    elapsed = time.perf_counter() - t0
    figures["product_s"] = round(elapsed, 3)
    figures["product_us_per_series_week"] = round(elapsed / (series * JUDGED) * 1e6, 2)
    figures["alarms"] = int(sum(int(d.alarm.sum()) for d in batched))

    sample = ys[:naive]
    naive_dets: list[Any] = []

    def naive_rows() -> list[tuple[int, int, bool]]:
        naive_dets[:] = [ff.farrington_one_at_a_time(y, settings=settings, start=start) for y in sample]
        return _rows(naive_dets)

    def product_rows() -> list[tuple[int, int, bool]]:
        # the job compares like with like: the batched fit of the same sample the naive loop fits
        return _rows(ff.farrington_many(sample, settings=settings, start=start))

    job = compare(figures, "farrington_last_52_weeks", product_rows, {"naive_loop": naive_rows}, ordered=True)
    diff = _max_rel_diff(batched[:naive], naive_dets)
    job["max_rel_diff"] = diff
    if not diff <= 1e-9:
        job["equal"] = False
        job.setdefault("differs", {})["naive_loop"] = {"max_rel_diff": diff}
    naive_s = job["baselines"]["naive_loop"]
    figures["naive_series"] = naive
    figures["naive_us_per_series_week"] = round(naive_s / (naive * JUDGED) * 1e6, 2)
    figures["speedup_vs_naive"] = round(figures["naive_us_per_series_week"]
                                        / max(figures["product_us_per_series_week"], 1e-9), 1)
    if int(with_r):
        _with_r(ys[:r_series], batched[:r_series], figures, notes)
        if figures.get("r_timed"):
            figures["speedup_vs_r"] = round(figures["r_us_per_series_week"]
                                            / max(figures["product_us_per_series_week"], 1e-9), 1)
            if not figures["r_agrees"]:
                job["equal"] = False
                job.setdefault("differs", {})["R"] = {"max_rel_diff": figures["r_max_rel_diff"],
                                                      "alarms_equal": figures["r_alarms_equal"]}
    notes.append("goals per series-week: >= 5x the naive loop, >= 50x R's farringtonFlexible")
    return BenchResult("surveillance", figures, notes)
