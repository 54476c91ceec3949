"""The improved Farrington method as `surveillance::farringtonFlexible` (1.20.3) computes it.

For each judged week t0 the reference weeks of the `b` previous years (52 weeks a year, t0 − 52j ± w,
or with `no_periods` > 1 every week from the oldest window on, grouped into seasonal blocks) without
the last `past_weeks_not_included` weeks feed a quasi-Poisson GLM `y ~ 1 + wtime [+ seasgroups]`; past
outbreaks are down-weighted with Anscombe residuals and the model refitted; the trend is kept only if
significant (`p_threshold_trend`), b ≥ 3 and the prediction no higher than the largest baseline count.
The bound is the 2/3-power delta method (`"delta"`) or the negative binomial quantile (`"nbPlugin"`,
Noufaily 2013). U and expected are empty when the last `limit54[1]` weeks hold fewer than
`limit54[0]` cases; an alarm needs y > U, y ≠ 0 and enough cases.

Two quirks of the package are copied on purpose (see docs/surveillance.md): `glm.fit`'s IRLS stopping
rule and last-iteration weights (glm.py), and `model$weights <- omega` after reweighting, so that the
trend's p-value and the prediction's standard error use Σ ωᵢrᵢ²/(n − p) as dispersion while φ (the
bound's overdispersion) keeps Σ wᵢrᵢ²/(n − p) with the working weights.

Every judged week of a series is fitted in one batch (`fit_batch`); `farrington_one_at_a_time` is the
plain loop the benchmark compares against. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from fangkong.surveillance.algorithms import special
from fangkong.surveillance.algorithms.ears import Detection
from fangkong.surveillance.algorithms.glm import GlmBatch, fit_batch

FREQ = 52
#: fits per batch: arrays of a few MB stay in cache (larger batches are slower, not faster)
CHUNK = 4096


@dataclass(frozen=True)
class FarringtonSettings:
    """`farringtonFlexible`'s control list, snake_case (R's defaults)."""

    b: int = 5
    w: int = 3
    reweight: bool = True
    weights_threshold: float = 2.58
    alpha: float = 0.05
    trend: bool = True
    p_threshold_trend: float = 0.05
    limit54: tuple[int, int] = (5, 4)
    powertrans: str = "2/3"
    no_periods: int = 1
    past_weeks_not_included: int | None = None
    threshold_method: str = "delta"

    @property
    def past_excluded(self) -> int:
        return self.w if self.past_weeks_not_included is None else self.past_weeks_not_included


#: the three settings of the oracle script (oracle_surveillance.R)
VARIANTS: dict[str, FarringtonSettings] = {
    "farrington": FarringtonSettings(),
    "farrington-noufaily": FarringtonSettings(no_periods=10, past_weeks_not_included=26, p_threshold_trend=1.0,
                                              threshold_method="nbPlugin"),
    "farrington-1996": FarringtonSettings(weights_threshold=1.0, past_weeks_not_included=3),
}


def first_judged(settings: FarringtonSettings) -> int:
    """The first 0-based index judged by default (R's range starts at freq·b + w + 1)."""
    return FREQ * settings.b + settings.w


@lru_cache(maxsize=64)
def reference_offsets(settings: FarringtonSettings) -> tuple[np.ndarray, np.ndarray]:
    """The weeks of the model relative to t0 (negative offsets, ascending) and their seasonal block
    (`blocks()` of the package with the last weeks removed)."""
    b, w, p = settings.b, settings.w, settings.no_periods
    lo = -(FREQ * b + w)
    level = np.full(-lo + 1, -1, dtype=int)  # index = offset − lo
    level[-w - lo: 1 - lo] = p
    period = FREQ - 2 * w - 1
    if p != 1 and period < p - 1:
        raise ValueError("no_periods is too large for the window")
    for i in range(1, b + 1):
        ref = -FREQ * i
        level[ref - w - lo: ref + w + 1 - lo] = p
        if p != 1:
            lengths = [period // (p - 1) + (1 if j < period % (p - 1) else 0) for j in range(p - 1)]
            pos = ref + w + 1
            for j, length in enumerate(lengths, start=1):
                level[pos - lo: pos + length - lo] = j
                pos += length
    level[-settings.past_excluded - lo:] = -1
    keep = np.flatnonzero(level >= 0)
    return keep + lo, level[keep]


@lru_cache(maxsize=128)
def _designs(settings: FarringtonSettings, trend: bool) -> tuple[np.ndarray, np.ndarray]:
    offsets, levels = reference_offsets(settings)
    return _design(offsets, levels, settings, trend)


def _design(offsets: np.ndarray, levels: np.ndarray, settings: FarringtonSettings, trend: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """Columns of one model (intercept, wtime − t0, one dummy per block but the first) and the row
    that predicts t0. wtime is centred on t0: the fitted values and the trend's test are the same."""
    cols = [np.ones(len(offsets))]
    x0 = [1.0]
    if trend:
        cols.append(offsets.astype(float))
        x0.append(0.0)
    if settings.no_periods != 1:
        present = sorted(set(levels.tolist()))
        for lev in present[1:]:
            cols.append((levels == lev).astype(float))
            x0.append(1.0 if lev == settings.no_periods else 0.0)
    return np.column_stack(cols), np.array(x0)


@dataclass
class _Fit:
    glm: GlmBatch
    phi: np.ndarray
    dispersion: np.ndarray  # Σ ω r² /(n−p): the dispersion after `model$weights <- omega`
    ok: np.ndarray  # the unweighted fit converged


def _fit_flexible(x: np.ndarray, y: np.ndarray, settings: FarringtonSettings) -> _Fit:
    """`algo.farrington.fitGLM.flexible` for a batch (no fallback: the caller handles non-convergence)."""
    n, p = x.shape
    df = n - p
    m = fit_batch(x, y)
    phi = np.maximum(np.sum(m.weights * m.residuals**2, axis=1) / df, 1.0)
    if not settings.reweight:
        return _Fit(m, phi, np.sum(m.weights * m.residuals**2, axis=1) / df, m.converged)
    hat = m.hat(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1.5 * (y ** (2.0 / 3.0) * m.mu ** (-1.0 / 6.0) - np.sqrt(m.mu)) / np.sqrt(phi[:, None] * (1.0 - hat))
        big = s > settings.weights_threshold
        inv_s2 = np.where(big, s ** -2.0, 1.0)
    gamma = n / np.sum(inv_s2, axis=1)
    omega = gamma[:, None] * inv_s2
    m2 = fit_batch(x, y, omega)
    phi2 = np.maximum(np.sum(m2.weights * m2.residuals**2, axis=1) / df, 1.0)
    disp = np.sum(omega * m2.residuals**2, axis=1) / df
    return _Fit(m2, phi2, disp, m.converged)


def _predict(fit: _Fit, x0: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """η̂(t0) and its standard error (dispersion after the weights overwrite) for the given rows."""
    eta = fit.glm.coef[rows] @ x0
    var = np.einsum("i,bij,j->b", x0, fit.glm.xtwx_inv[rows], x0) * fit.dispersion[rows]
    return eta, np.sqrt(var)


@lru_cache(maxsize=256)
def _t_critical(df: int, threshold: float) -> float:
    """|t| with 2·pt(−|t|, df) = threshold, by bisection (the p-value falls as |t| grows)."""
    lo, hi = 0.0, 1e6
    for _i in range(200):
        mid = (lo + hi) / 2.0
        if 2.0 * special.pt(-mid, df) > threshold:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return hi


def _trend_significant(fit: _Fit, rows: np.ndarray, df: int, threshold: float) -> np.ndarray:
    """p(wtime) < threshold, with p = 2·pt(−|t|, df) as `summary.glm` gives it for a quasi family;
    decided as |t| > the t quantile, found once, so a batch needs no p-value per fit."""
    se = np.sqrt(fit.dispersion[rows] * fit.glm.xtwx_inv[rows, 1, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        tval = np.abs(fit.glm.coef[rows, 1] / se)
    if threshold >= 1.0:
        return tval > 0  # p < 1 unless t = 0
    if threshold <= 0.0:
        return np.zeros(len(rows), dtype=bool)
    crit = _t_critical(df, threshold)
    undecided = np.abs(tval - crit) <= 1e-9 * crit
    out = tval > crit
    for i in np.flatnonzero(undecided):  # within rounding of the quantile: the p-value itself decides
        out[i] = 2.0 * special.pt(-float(tval[i]), df) < threshold
    return out


def _threshold(settings: FarringtonSettings, eta: float, se_eta: float, phi: float, y: float
               ) -> tuple[float, float, float]:
    """(expected, upper bound, exceedance score) of one week."""
    z = special.qnorm(1.0 - settings.alpha)
    if settings.threshold_method == "delta":
        mu0 = max(math.exp(eta), np.finfo(float).eps)
        se_mu = se_eta * mu0
        tau = phi + se_mu**2 / mu0
        if settings.powertrans == "2/3":
            se, ex = math.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau), 2.0 / 3.0
        elif settings.powertrans == "1/2":
            se, ex = math.sqrt(0.25 * tau), 0.5
        else:
            se, ex = math.sqrt(mu0 * tau), 1.0
        upper = (mu0**ex + z * se) ** (1.0 / ex)
        score = (y - mu0) / (upper - mu0) if upper != mu0 else math.nan
        return mu0, upper, score
    mu_q = math.exp(eta) if settings.threshold_method == "nbPlugin" else math.exp(special.qnorm(
        1.0 - settings.alpha, eta, se_eta))
    if not math.isfinite(mu_q):
        return math.exp(eta), math.nan, math.nan
    upper = float(special.qnbinom_dispersion(1.0 - settings.alpha, mu_q, phi) if phi > 1
                  else special.qpois(1.0 - settings.alpha, mu_q))
    score = (y - eta) / (upper - eta) if upper != eta else math.nan
    return math.exp(eta), upper, score


def farrington(y: np.ndarray, *, settings: FarringtonSettings | None = None, start: int | None = None,
               stop: int | None = None) -> Detection:
    """Judge weeks `start` … `stop − 1` (0-based; default from `first_judged` to the end)."""
    settings = settings or FarringtonSettings()
    y = np.asarray(y, dtype=float)
    first = first_judged(settings)
    start = first if start is None else start
    stop = len(y) if stop is None else stop
    if start < first:
        raise ValueError(f"Farrington needs {first} earlier weeks (b = {settings.b}, w = {settings.w})")
    t = np.arange(start, stop)
    return _judge(y, t, settings)


def farrington_one_at_a_time(y: np.ndarray, *, settings: FarringtonSettings | None = None,
                             start: int | None = None) -> Detection:
    """The same verdicts, one GLM at a time (the naive loop the benchmark compares against)."""
    settings = settings or FarringtonSettings()
    y = np.asarray(y, dtype=float)
    start = first_judged(settings) if start is None else start
    parts = [_judge(y, np.array([k]), settings) for k in range(start, len(y))]
    cat = {f: np.concatenate([getattr(d, f) for d in parts]) for f in
           ("t", "observed", "expected", "upperbound", "statistic", "alarm")}
    extra = {f: np.concatenate([d.extra[f] for d in parts if d.extra]) for f in ("phi", "trend")}
    return Detection(**cat, extra=extra)


def _judge(y: np.ndarray, t: np.ndarray, settings: FarringtonSettings) -> Detection:
    offsets, _levels = reference_offsets(settings)
    period = settings.limit54[1]
    csum = np.concatenate([[0.0], np.cumsum(y)])
    recent = csum[t + 1] - csum[np.maximum(0, t + 1 - period)]
    out = _judge_windows(y[t[:, None] + offsets[None, :]], y[t], recent, settings)
    return Detection(t=t, **out)  # type: ignore[arg-type]


def farrington_many(ys: np.ndarray, *, settings: FarringtonSettings | None = None, start: int | None = None
                    ) -> list[Detection]:
    """Every series of `ys` (S, n), weeks `start` … n − 1 of each, fitted in one batch across series."""
    settings = settings or FarringtonSettings()
    ys = np.asarray(ys, dtype=float)
    s_count, n = ys.shape
    start = first_judged(settings) if start is None else start
    if start < first_judged(settings):
        raise ValueError("too few earlier weeks")
    offsets, _levels = reference_offsets(settings)
    t = np.arange(start, n)
    period = settings.limit54[1]
    csum = np.concatenate([np.zeros((s_count, 1)), np.cumsum(ys, axis=1)], axis=1)
    recent = csum[:, t + 1] - csum[:, np.maximum(0, t + 1 - period)]
    windows = ys[:, t[:, None] + offsets[None, :]].reshape(s_count * len(t), len(offsets))
    obs, recent = ys[:, t].reshape(-1), recent.reshape(-1)
    parts = [_judge_windows(windows[i:i + CHUNK], obs[i:i + CHUNK], recent[i:i + CHUNK], settings)
             for i in range(0, len(obs), CHUNK)]
    out: dict[str, object] = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "extra"}
    out["extra"] = {k: np.concatenate([p["extra"][k] for p in parts]) for k in ("phi", "trend")}  # type: ignore[index]
    return [Detection(t=t, **{k: (v[i * len(t):(i + 1) * len(t)] if not isinstance(v, dict) else
                                  {kk: vv[i * len(t):(i + 1) * len(t)] for kk, vv in v.items()})
                              for k, v in out.items()})  # type: ignore[arg-type]
            for i in range(s_count)]


def _judge_windows(yy: np.ndarray, obs: np.ndarray, recent: np.ndarray, settings: FarringtonSettings
                   ) -> dict[str, object]:
    """The verdicts of B weeks from their reference data `yy` (B, n), their counts and the sums of
    their last `limit54[1]` weeks."""
    bsize = len(obs)
    x_tr, x0_tr = _designs(settings, True)
    x_no, x0_no = _designs(settings, False)
    n = len(x_tr)
    eta = np.full(bsize, np.nan)
    se = np.full(bsize, np.nan)
    phi = np.full(bsize, np.nan)
    trend = np.zeros(bsize)
    need_plain = np.ones(bsize, dtype=bool)
    if settings.trend:
        fit_tr = _fit_flexible(x_tr, yy, settings)
        rows = np.flatnonzero(fit_tr.ok)
        if rows.size:
            e_resp, _se = _predict(fit_tr, x0_tr, rows)
            pred = np.maximum(np.exp(e_resp), np.finfo(float).eps)
            significant = _trend_significant(fit_tr, rows, n - x_tr.shape[1], settings.p_threshold_trend)
            keep = (settings.b >= 3) & significant & (pred <= yy[rows].max(axis=1))
            kept = rows[keep]
            eta[kept], se[kept] = e_resp[keep], _se[keep]
            phi[kept] = fit_tr.phi[kept]
            trend[kept] = 1
            need_plain[kept] = False
    plain = np.flatnonzero(need_plain)
    if plain.size:
        fit_no = _fit_flexible(x_no, yy[plain], settings)
        ok = fit_no.ok
        e0, s0 = _predict(fit_no, x0_no, np.arange(plain.size))
        eta[plain[ok]], se[plain[ok]], phi[plain[ok]] = e0[ok], s0[ok], fit_no.phi[ok]
    expected = np.full(bsize, np.nan)
    upper = np.full(bsize, np.nan)
    score = np.full(bsize, np.nan)
    fitted = np.isfinite(eta)
    if settings.threshold_method == "delta":
        mu0, u, x = _delta_threshold(settings, eta, se, phi, obs)
        score[fitted] = x[fitted]
    else:
        mu0, u = np.full(bsize, np.nan), np.full(bsize, np.nan)
        for i in np.flatnonzero(fitted):
            mu0[i], u[i], score[i] = _threshold(settings, float(eta[i]), float(se[i]), float(phi[i]),
                                                float(obs[i]))
    enough = fitted & (recent >= settings.limit54[0]) & ~np.isnan(u)
    upper[enough], expected[enough] = u[enough], mu0[enough]
    with np.errstate(invalid="ignore"):
        alarm = enough & (score > 1) & (obs != 0)
    return {"observed": obs, "expected": expected, "upperbound": upper, "statistic": score, "alarm": alarm,
            "extra": {"phi": phi, "trend": trend}}


def _delta_threshold(settings: FarringtonSettings, eta: np.ndarray, se_eta: np.ndarray, phi: np.ndarray,
                     y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_threshold` for the delta method, vectorised."""
    z = special.qnorm(1.0 - settings.alpha)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mu0 = np.maximum(np.exp(eta), np.finfo(float).eps)
        tau = phi + (se_eta * mu0) ** 2 / mu0
        if settings.powertrans == "2/3":
            se, ex = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau), 2.0 / 3.0
        elif settings.powertrans == "1/2":
            se, ex = np.sqrt(0.25 * tau), 0.5
        else:
            se, ex = np.sqrt(mu0 * tau), 1.0
        upper = (mu0**ex + z * se) ** (1.0 / ex)
        score = np.where(upper != mu0, (y - mu0) / (upper - mu0), np.nan)
    return mu0, upper, score


def with_params(name: str, **params: object) -> FarringtonSettings:
    """A variant's settings with some parameters replaced (`--param b=4`)."""
    return replace(VARIANTS[name], **params)  # type: ignore[arg-type]
