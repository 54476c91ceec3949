"""The detection algorithms against the outputs of R's `surveillance` 1.20.3 and `EpiEstim` 2.2-4 stored
in oracles/ (copied from shared/surveillance/oracles; `oracle_surveillance.R` made them): every alarm
exactly, every number within 1e-6 (|a − b| ≤ 1e-6·max(1, |b|))."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest

from fangkong.surveillance.algorithms import farrington as ff
from fangkong.surveillance.algorithms.methods import run
from fangkong.surveillance.algorithms.rt import discr_si, estimate_r

ORACLES = Path(__file__).parent / "oracles"


def _rows(name: str) -> list[dict[str, str]]:
    with open(ORACLES / name, newline="") as fh:
        return list(csv.DictReader(fh))


def _close(a: float, b: str | float) -> bool:
    b = float("nan") if b in ("NA", "") else float(b)
    if math.isnan(b):
        return math.isnan(a)
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _series(name: str, column: str) -> np.ndarray:
    return np.array([float(r[column]) for r in _rows(name)])


def _mismatches(det, expected: list[dict[str, str]], fields: dict[str, str]) -> list[tuple]:  # type: ignore[no-untyped-def]
    out = []
    for i, row in enumerate(expected):
        assert int(det.t[i]) + 1 == int(row["t"])
        for ours, theirs in fields.items():
            value = getattr(det, ours)[i] if hasattr(det, ours) else det.extra[ours][i]
            if not _close(float(value), row[theirs]):
                out.append((row["t"], theirs, float(value), row[theirs]))
    return out


@pytest.mark.parametrize("method", ["C1", "C2"])
def test_ears_c1_c2_reproduce_earsC(method: str) -> None:
    y = _series("oracle_daily_input.csv", "y")
    expected = [r for r in _rows("oracle_ears_output.csv") if r["method"] == method]
    det = run(f"ears-{method.lower()}", y)
    assert len(det.t) == len(expected)
    assert _mismatches(det, expected, {"observed": "observed", "upperbound": "upperbound"}) == []
    assert [bool(a) for a in det.alarm] == [r["alarm"] == "TRUE" for r in expected]
    assert [int(t) + 1 for t in det.t[det.alarm]] == ([26, 27, 28] if method == "C1" else [26, 27, 28, 29])


def _literature_c3() -> list[tuple[int, float]]:
    """The hand-computed literature C3 column of oracle_surveillance.out ([EARS] C3 table)."""
    text = (ORACLES / "oracle_surveillance.out").read_text()
    table = text.split("[EARS] C3")[1].split("\n\n")[0].splitlines()[2:]
    out = []
    for line in table:
        cells = re.split(r"\s+", line.strip())
        out.append((int(cells[1]), float(cells[5])))
    return out


def test_ears_c3_is_the_literature_statistic_not_earsC() -> None:
    y = _series("oracle_daily_input.csv", "y")
    det = run("ears-c3", y)
    lit = _literature_c3()
    assert [int(t) + 1 for t in det.t] == [t for t, _ in lit]
    for (t, c3), ours in zip(lit, det.statistic, strict=True):
        assert _close(float(ours), c3), t
    # alarms C3 > h = 2 on days 26–31 (earsC's own C3 alarms only from day 27)
    assert [int(t) + 1 for t in det.t[det.alarm]] == [26, 27, 28, 29, 30, 31]
    pkg = [int(r["t"]) for r in _rows("oracle_ears_output.csv") if r["method"] == "C3" and r["alarm"] == "TRUE"]
    assert pkg == [27, 28, 29, 30, 31]


def test_cusum_reproduces_algo_cusum() -> None:
    y = _series("oracle_daily_input.csv", "y")
    expected = _rows("oracle_cusum_output.csv")
    det = run("cusum", y, start=21)
    assert float(det.expected[0]) == pytest.approx(13.80952381, abs=1e-8)
    assert _mismatches(det, expected, {"statistic": "cusum", "upperbound": "upperbound"}) == []
    assert [bool(a) for a in det.alarm] == [r["alarm"] == "1" for r in expected]


VARIANT = {"default": "farrington", "noufaily": "farrington-noufaily", "orig1996": "farrington-1996"}


@pytest.mark.parametrize("variant", list(VARIANT))
def test_farrington_reproduces_farringtonFlexible(variant: str) -> None:
    y = _series("oracle_weekly_input.csv", "y")
    expected = [r for r in _rows("oracle_farrington_output.csv") if r["variant"] == variant]
    det = run(VARIANT[variant], y, start=299)
    assert len(det.t) == len(expected) == 65
    fields = {"observed": "observed", "expected": "expected", "upperbound": "upperbound",
              "statistic": "score", "phi": "phi", "trend": "trend"}
    assert _mismatches(det, expected, fields) == []
    assert [bool(a) for a in det.alarm] == [r["alarm"] == "TRUE" for r in expected]


def test_farrington_alarm_weeks_per_variant() -> None:
    y = _series("oracle_weekly_input.csv", "y")
    weeks = {}
    for variant, method in VARIANT.items():
        det = run(method, y, start=299)
        weeks[variant] = [int(t) + 1 for t in det.t[det.alarm]]
    assert weeks == {"default": [305, 322, 329, 345, 346, 347, 348, 349, 355],
                     "noufaily": [311, 322, 329, 346, 347, 348, 355],
                     "orig1996": [304, 305, 322, 324, 329, 345, 346, 347, 348, 349, 355]}


def test_farrington_batched_equals_one_at_a_time() -> None:
    y = _series("oracle_weekly_input.csv", "y")
    for name in VARIANT.values():
        settings = ff.VARIANTS[name]
        a = ff.farrington(y, settings=settings, start=299)
        b = ff.farrington_one_at_a_time(y, settings=settings, start=299)
        assert np.array_equal(a.alarm, b.alarm)
        np.testing.assert_allclose(a.upperbound, b.upperbound, rtol=1e-10)
        np.testing.assert_allclose(a.extra["phi"], b.extra["phi"], rtol=1e-10)


def test_farrington_default_range_starts_at_52b_plus_w_plus_1() -> None:
    y = _series("oracle_weekly_input.csv", "y")
    det = run("farrington", y)
    assert int(det.t[0]) + 1 == 52 * 5 + 3 + 1


def test_discr_si_matches_epiestim() -> None:
    w = discr_si(np.arange(7), 2.6, 1.5)
    for ours, theirs in zip(w, [0, 0.233172125, 0.358579400, 0.198110829, 0.103342655, 0.052905175,
                                0.026821462], strict=True):
        assert abs(ours - theirs) < 1e-9


def test_rt_reproduces_estimate_R() -> None:
    incidence = _series("oracle_flu2009_input.csv", "I")
    expected = _rows("oracle_epiestim_output.csv")
    est = estimate_r(incidence, si_mean=2.6, si_sd=1.5)
    assert len(est.t_start) == len(expected)
    keys = ["Quantile.0.025(R)", "Quantile.0.05(R)", "Quantile.0.25(R)", "Median(R)", "Quantile.0.75(R)",
            "Quantile.0.95(R)", "Quantile.0.975(R)"]
    bad = []
    for i, row in enumerate(expected):
        assert (int(est.t_start[i]), int(est.t_end[i])) == (int(row["t_start"]), int(row["t_end"]))
        values = [est.mean[i], est.std[i], *est.quantiles[i]]
        for value, key in zip(values, ["Mean(R)", "Std(R)", *keys], strict=True):
            if not _close(float(value), row[key]):
                bad.append((row["t_start"], key, value, row[key]))
    assert bad == []
