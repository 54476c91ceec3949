"""The instantaneous reproduction number R_t of Cori et al. 2013, as `EpiEstim::estimate_R(method =
"parametric_si")` computes it (实时再生数).

I_t ~ Poisson(R_t Λ_t) with Λ_t = Σ_{s≥1} w_s (local + imported)_{t−s}; a Gamma(shape a, scale b) prior
(mean 5, sd 5 by default) gives over the window [t_s, t_e] the posterior Gamma(a + Σ local, 1/(1/b +
Σ Λ)). The serial interval w is the gamma distribution shifted by one day and discretised as in the
Cori web appendix (`discr_si`). Default windows are 7 days sliding from day 2; a window is undefined
(NaN) while t_e ≤ the discretised SI's mean. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.surveillance.algorithms import special

QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


def discr_si(k: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """P(serial interval = k days) for a gamma of mean `mu` > 1 and sd `sigma`, shifted by one day."""
    if mu <= 1:
        raise ValueError("the mean serial interval must be greater than 1")
    if sigma <= 0:
        raise ValueError("the serial interval's standard deviation must be positive")
    a = ((mu - 1.0) / sigma) ** 2
    b = sigma**2 / (mu - 1.0)

    def cdf(x: float, shape: float) -> float:
        return special.pgamma(x, shape, b) if x > 0 else 0.0

    out = []
    for kk in np.asarray(k, dtype=float):
        r = kk * cdf(kk, a) + (kk - 2) * cdf(kk - 2, a) - 2 * (kk - 1) * cdf(kk - 1, a)
        r += a * b * (2 * cdf(kk - 1, a + 1) - cdf(kk - 2, a + 1) - cdf(kk, a + 1))
        out.append(max(0.0, r))
    return np.array(out)


@dataclass(frozen=True)
class RtEstimate:
    """One row per window: posterior mean, sd and the quantiles of `QUANTILES` (NaN where undefined)."""

    t_start: np.ndarray  # 1-based days, as EpiEstim reports them
    t_end: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    quantiles: np.ndarray  # (windows, len(QUANTILES))


def estimate_r(local: np.ndarray, imported: np.ndarray | None = None, *, si_mean: float, si_sd: float,
               window: int = 7, prior_mean: float = 5.0, prior_sd: float = 5.0) -> RtEstimate:
    """Sliding windows of `window` days from day 2 to the last day."""
    local = np.asarray(local, dtype=float)
    imported = np.zeros_like(local) if imported is None else np.asarray(imported, dtype=float)
    n = len(local)
    if n < window + 1:
        raise ValueError(f"at least {window + 1} days are needed")
    if prior_mean <= 0 or prior_sd <= 0:
        raise ValueError("the prior's mean and sd must be positive")
    total = local + imported
    w = discr_si(np.arange(n), si_mean, si_sd)
    mean_si = float(np.sum(w * np.arange(n)))
    lam = np.full(n, np.nan)
    for t in range(1, n):
        lam[t] = float(np.sum(w[1: t + 1] * total[t - 1:: -1][:t]))
    a = (prior_mean / prior_sd) ** 2
    b = prior_sd**2 / prior_mean
    t_start = np.arange(2, n - window + 2)
    t_end = t_start + window - 1
    k = len(t_start)
    mean, std = np.full(k, np.nan), np.full(k, np.nan)
    qs = np.full((k, len(QUANTILES)), np.nan)
    for i, (ts, te) in enumerate(zip(t_start, t_end, strict=True)):
        if te <= mean_si:
            continue
        shape = a + float(np.sum(local[ts - 1: te]))
        scale = 1.0 / (1.0 / b + float(np.sum(lam[ts - 1: te])))
        mean[i], std[i] = shape * scale, np.sqrt(shape) * scale
        qs[i] = [special.qgamma(q, shape, scale) for q in QUANTILES]
    return RtEstimate(t_start=t_start, t_end=t_end, mean=mean, std=std, quantiles=qs)
