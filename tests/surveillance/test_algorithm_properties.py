"""Properties of the detection algorithms that hold for any series (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.surveillance.algorithms import farrington as ff
from fangkong.surveillance.algorithms import special
from fangkong.surveillance.algorithms.methods import run
from fangkong.surveillance.algorithms.rt import estimate_r

counts = st.lists(st.integers(min_value=0, max_value=200), min_size=12, max_size=60)


@given(counts, st.sampled_from(["ears-c1", "ears-c2"]), st.floats(0, 3))
def test_ears_alarm_is_count_above_bound(y: list[int], method: str, min_sigma: float) -> None:
    det = run(method, np.array(y), {"min_sigma": min_sigma})
    lag = 1 if method == "ears-c1" else 3
    for i, t in enumerate(det.t):
        base = np.array(y[t - lag - 6: t - lag + 1], dtype=float)
        bound = base.mean() + special.qnorm(0.999) * max(base.std(ddof=1), min_sigma)
        assert math.isclose(det.upperbound[i], bound, rel_tol=1e-12, abs_tol=1e-12)
        assert bool(det.alarm[i]) == (y[t] > det.upperbound[i])


@given(counts, st.integers(0, 1000))
def test_ears_c3_shift_invariant(y: list[int], shift: int) -> None:
    a = run("ears-c3", np.array(y), {"min_sigma": 0.5})
    b = run("ears-c3", np.array(y) + shift, {"min_sigma": 0.5})
    assert np.array_equal(a.alarm, b.alarm)
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-9, atol=1e-9)


@given(counts)
def test_ears_c3_alarm_when_today_reaches_its_bound(y: list[int]) -> None:
    det = run("ears-c3", np.array(y), {"min_sigma": 1.0})
    for i in range(len(det.t)):
        if not math.isnan(det.upperbound[i]) and det.observed[i] > det.upperbound[i] + 1e-9:
            assert det.alarm[i]


@given(counts, st.integers(1, 10))
def test_cusum_alarm_iff_count_reaches_upperbound(y: list[int], start: int) -> None:
    det = run("cusum", np.array(y), start=start)
    assert (det.statistic >= 0).all()
    if det.expected[0] == 0:  # m = 0: the first count above 0 makes S infinite, and S never resets
        assert np.array_equal(det.alarm, np.cumsum(det.observed) > 0)
        return
    for i in range(len(det.t)):
        margin = det.observed[i] - det.upperbound[i]
        if abs(margin) > 1e-9 or det.upperbound[i] == 0:
            assert bool(det.alarm[i]) == (margin >= 0), (i, det)


weekly = st.lists(st.integers(min_value=0, max_value=80), min_size=52 * 5 + 3 + 6, max_size=52 * 5 + 3 + 12)


@settings(max_examples=25, deadline=None)
@given(weekly, st.sampled_from(list(ff.VARIANTS)))
def test_farrington_batched_is_the_naive_loop(y: list[int], name: str) -> None:
    arr = np.array(y, dtype=float)
    a = ff.farrington(arr, settings=ff.VARIANTS[name])
    b = ff.farrington_one_at_a_time(arr, settings=ff.VARIANTS[name])
    assert np.array_equal(a.alarm, b.alarm)
    np.testing.assert_allclose(a.upperbound, b.upperbound, rtol=1e-9, equal_nan=True)
    for i in range(len(a.t)):
        if a.alarm[i]:
            assert a.observed[i] > a.upperbound[i] and a.observed[i] > 0
        recent = arr[a.t[i] - 3: a.t[i] + 1].sum()
        assert math.isnan(a.upperbound[i]) == (recent < 5 or math.isnan(a.extra["phi"][i]))


@given(st.lists(st.integers(0, 300), min_size=10, max_size=40), st.floats(1.5, 8), st.floats(0.5, 5))
def test_rt_posterior_is_consistent(cases: list[int], si_mean: float, si_sd: float) -> None:
    est = estimate_r(np.array(cases), si_mean=si_mean, si_sd=si_sd)
    for i in range(len(est.t_start)):
        if math.isnan(est.mean[i]):
            assert est.t_end[i] <= si_mean + 1e-9 or est.t_end[i] <= 30
            continue
        q = est.quantiles[i]
        assert (np.diff(q) >= -1e-12).all()
        assert q[0] <= est.mean[i] <= q[-1] or est.std[i] < 1e-6


@given(st.floats(0.5, 500), st.floats(0.01, 0.99))
def test_qgamma_inverts_pgamma(shape: float, p: float) -> None:
    x = special.qgamma(p, shape, 2.0)
    assert math.isclose(special.pgamma(x, shape, 2.0), p, rel_tol=1e-9, abs_tol=1e-12)


@given(st.floats(0.1, 500), st.floats(1.0001, 10), st.floats(0.5, 0.999))
def test_qnbinom_is_the_smallest_count_reaching_p(mu: float, phi: float, p: float) -> None:
    q = special.qnbinom_dispersion(p, mu, phi)
    size, prob = mu / (phi - 1), 1 / phi

    def cdf(x: int) -> float:
        return special.pbeta(prob, size, x + 1) if x >= 0 else 0.0

    assert cdf(q) >= p * (1 - 1e-12)
    assert cdf(q - 1) < p * (1 + 1e-12)
