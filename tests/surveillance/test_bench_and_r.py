"""The surveillance bench at its quick size (batched Farrington agrees with the naive loop), and — where
`Rscript` with R's `surveillance` package is installed — our verdicts against R on fresh random series
(skipped without R: the stored oracles in test_oracles.py run always)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fangkong.kernel.bench import QUICK
from fangkong.surveillance import bench
from fangkong.surveillance.algorithms import farrington as ff
from fangkong.surveillance.algorithms.methods import run


def test_bench_quick_agrees_with_the_naive_loop() -> None:
    result = bench.bench_surveillance(**QUICK["surveillance"])
    (job,) = result.figures["jobs"]
    assert job["equal"] is True and job["max_rel_diff"] <= 1e-9
    assert job["rows"] == QUICK["surveillance"]["naive"] * 52
    assert result.figures["fits"] == QUICK["surveillance"]["series"] * 52
    assert result.figures["speedup_vs_naive"] > 0


def test_seeded_series_are_reproducible_and_hold_outbreaks() -> None:
    a, b = bench.seeded_series(10), bench.seeded_series(10)
    assert np.array_equal(a, b) and a.shape == (10, 364)
    dets = ff.farrington_many(a, start=364 - 52)
    assert any(d.alarm.any() for d in dets[::5])


RSCRIPT = shutil.which("Rscript")
needs_r = pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed (apt-get install r-base-core "
                             "r-cran-surveillance); the stored R oracles are tested in test_oracles.py")

_R = """
suppressPackageStartupMessages(library(surveillance))
a <- commandArgs(trailingOnly = TRUE)
y <- scan(a[1], quiet = TRUE)
s <- sts(observed = matrix(y, ncol = 1), frequency = 365, start = c(2024, 1))
r <- earsC(s, control = list(method = "C1"))
w <- scan(a[2], quiet = TRUE)
sw <- sts(observed = matrix(w, ncol = 1), frequency = 52, start = c(2015, 1))
f <- farringtonFlexible(sw, control = list(range = 300:length(w), glmWarnings = FALSE))
write.csv(data.frame(u = c(as.vector(upperbound(r)), as.vector(upperbound(f))),
                     a = c(as.vector(alarms(r)), as.vector(alarms(f)))), a[3], row.names = FALSE)
"""


@needs_r
def test_against_r_on_fresh_series(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    daily = rng.poisson(20, 60)
    weekly = bench.seeded_series(1, seed=11)[0]
    np.savetxt(tmp_path / "d.txt", daily, fmt="%d")
    np.savetxt(tmp_path / "w.txt", weekly, fmt="%d")
    (tmp_path / "x.R").write_text(_R)
    subprocess.run([RSCRIPT, str(tmp_path / "x.R"), str(tmp_path / "d.txt"), str(tmp_path / "w.txt"),
                    str(tmp_path / "o.csv")], check=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"}, timeout=300)
    lines = (tmp_path / "o.csv").read_text().splitlines()[1:]
    theirs = [(float("nan") if u == "NA" else float(u), a == "TRUE") for u, a in (ln.split(",") for ln in lines)]
    c1 = run("ears-c1", daily)
    f = run("farrington", weekly, start=299)
    ours = list(zip(c1.upperbound, c1.alarm, strict=True)) + list(zip(f.upperbound, f.alarm, strict=True))
    assert len(ours) == len(theirs)
    for (u, a), (v, b) in zip(ours, theirs, strict=True):
        assert bool(a) == b
        assert (np.isnan(u) and np.isnan(v)) or abs(u - v) <= 1e-6 * max(1.0, abs(v))
