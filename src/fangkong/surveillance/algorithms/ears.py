"""CDC EARS C1, C2 and the literature C3 (早期异常报告系统), as `surveillance::earsC` computes C1/C2.

C1 compares day t with the `baseline` days just before it, C2 with the `baseline` days before a 2-day
guard band; U = mean + z·max(sd, min_sigma) with z = qnorm(1 − alpha) and an alarm when y > U
(strict). C3 is the literature statistic Σ_{i=t−2..t} max(0, C2_i − 1), alarm C3 > h — not `earsC`'s
C3, which ignores today's C2 (see docs/surveillance.md). Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.surveillance.algorithms.special import qnorm


@dataclass(frozen=True)
class Detection:
    """One method's verdicts over the judged points `t` (0-based indices into the series); NaN where
    a value is undefined."""

    t: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    upperbound: np.ndarray
    statistic: np.ndarray
    alarm: np.ndarray
    extra: dict[str, np.ndarray] | None = None


def first_judged(method: str, baseline: int = 7) -> int:
    """The first 0-based index `earsC` judges by default (C1: baseline, C2: baseline+2, C3: baseline+4)."""
    return {"ears-c1": baseline, "ears-c2": baseline + 2, "ears-c3": baseline + 4}[method]


def _window_stats(y: np.ndarray, t: np.ndarray, lag: int, baseline: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD (n−1) of y[t−lag−baseline+1 … t−lag] for every t."""
    idx = t[:, None] - lag - np.arange(baseline)[None, :]
    w = y[idx]
    return w.mean(axis=1), w.std(axis=1, ddof=1)


def _check(y: np.ndarray, baseline: int, start: int, min_start: int) -> np.ndarray:
    if baseline < 3:
        raise ValueError("baseline must be at least 3")
    if start < min_start:
        raise ValueError(f"the first judged point needs {min_start} earlier points")
    return np.arange(start, len(y))


def ears_c(y: np.ndarray, *, method: str = "ears-c1", baseline: int = 7, alpha: float = 0.001,
           min_sigma: float = 0.0, start: int | None = None) -> Detection:
    """C1 (`method="ears-c1"`, lag 1) or C2 (`"ears-c2"`, lag 3) from `start` (0-based, default
    `first_judged`) to the end."""
    y = np.asarray(y, dtype=float)
    lag = 1 if method == "ears-c1" else 3
    min_start = baseline + lag - 1
    t = _check(y, baseline, min_start if start is None else start, min_start)
    mean, sd = _window_stats(y, t, lag, baseline)
    sigma = np.maximum(sd, min_sigma)
    z = qnorm(1.0 - alpha)
    upper = mean + z * sigma
    obs = y[t]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(sigma > 0, (obs - mean) / np.where(sigma > 0, sigma, 1.0),
                        np.where(obs > mean, np.inf, 0.0))
    return Detection(t=t, observed=obs, expected=mean, upperbound=upper, statistic=stat, alarm=obs > upper)


def ears_c3(y: np.ndarray, *, baseline: int = 7, alpha: float = 0.001, min_sigma: float = 0.0,
            h: float = 2.0, start: int | None = None) -> Detection:
    """The literature C3: the sum over today and the two days before of max(0, C2 − 1); alarm > h.
    `upperbound` is the count today that would make C3 reach h (NaN when no count can, i.e. the lag
    terms alone exceed h, or the baseline has no spread); `alpha` only sets C2's own bound, unused here."""
    del alpha
    y = np.asarray(y, dtype=float)
    min_start = baseline + 4
    t = _check(y, baseline, min_start if start is None else start, min_start)
    c2_t = np.arange(t[0] - 2, len(y))
    c2 = ears_c(y, method="ears-c2", baseline=baseline, min_sigma=min_sigma, start=int(c2_t[0]))
    p = np.maximum(0.0, c2.statistic - 1.0)
    stat = p[2:] + p[1:-1] + p[:-2]
    lag_terms = p[1:-1] + p[:-2]
    mean, sd = _window_stats(y, t, 3, baseline)
    sigma = np.maximum(sd, min_sigma)
    with np.errstate(invalid="ignore"):
        upper = np.where((sigma > 0) & (lag_terms <= h), mean + sigma * (1.0 + h - lag_terms), np.nan)
    return Detection(t=t, observed=y[t], expected=mean, upperbound=upper, statistic=stat, alarm=stat > h)
