"""Rossi's standardised Poisson CUSUM as `surveillance::algo.cusum` 1.20.3 computes it (累积和).

m = the mean of every point before `start` (unless given); z_t = (y_t − m)/√m; S_t = max(0, S_{t−1} +
z_t − k) from S = 0; alarm when S_t ≥ h; never reset (the reset of 1.25.0 does not exist in 1.20.3).
upperbound = max(0, ceiling(√m·(h + k − S_{t−1}) + m)), the count that would signal. Pure.
"""

from __future__ import annotations

import math

import numpy as np

from fangkong.surveillance.algorithms.ears import Detection


def cusum(y: np.ndarray, *, start: int, k: float = 1.04, h: float = 2.26, m: float | None = None) -> Detection:
    """Judge y[start:], `start` ≥ 1 (0-based) when m is estimated from the points before it."""
    y = np.asarray(y, dtype=float)
    if m is None:
        if start < 1:
            raise ValueError("cusum needs at least one point before the first judged one")
        m = float(np.mean(y[:start]))
    t = np.arange(start, len(y))
    obs = y[t]
    root = math.sqrt(m)
    z = (obs - m) / root if m > 0 else np.where(obs > m, np.inf, 0.0)
    s = np.empty(len(t))
    prev = np.empty(len(t))
    acc = 0.0
    for i, zi in enumerate(z):
        prev[i] = acc
        acc = max(0.0, acc + zi - k)
        s[i] = acc
    with np.errstate(invalid="ignore"):
        upper = np.ceil(root * (h + k - prev) + m)
    upper = np.where(np.isnan(upper) | (upper < 0), 0.0, upper)
    return Detection(t=t, observed=obs, expected=np.full(len(t), m), upperbound=upper, statistic=s,
                     alarm=s >= h)
