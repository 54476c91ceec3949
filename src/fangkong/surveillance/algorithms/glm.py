"""Quasi-Poisson log-link GLMs fitted exactly as R's `glm.fit` does, many at once.

Farrington's bounds must match `surveillance::farringtonFlexible` within 1e-6, and a fully converged
GLM does not: R stops IRLS as soon as |dev − dev_old|/(|dev| + 0.1) < 1e-8 (at most 25 iterations),
starting from μ₀ = y + 0.1, and reports the *working weights and QR of the last iteration* (computed
from the μ before its final update) beside residuals from the final μ. This module copies that loop.

`fit_batch` fits B models of one design (n points, p columns) with numpy on stacked arrays; each
model leaves the loop at its own iteration (its state frozen there), so the answers are those of B
separate `glm.fit` calls. The least squares step solves the normal equations X'WX β = X'Wz: callers
centre their columns (see farrington.py), which keeps X'WX well conditioned. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOUBLE_EPS = np.finfo(float).eps
EPSILON = 1e-8
MAXIT = 25


@dataclass
class GlmBatch:
    """B fitted models of one design. `weights` are the working weights of the last iteration,
    `residuals` the working residuals (y − μ)/μ at the final μ, `xtwx_inv` (X'WX)⁻¹ with those weights."""

    coef: np.ndarray  # (B, p)
    mu: np.ndarray  # (B, n)
    weights: np.ndarray  # (B, n)
    residuals: np.ndarray  # (B, n)
    xtwx_inv: np.ndarray  # (B, p, p)
    converged: np.ndarray  # (B,) bool
    iterations: np.ndarray  # (B,) int
    deviance: np.ndarray  # (B,)

    def hat(self, x: np.ndarray) -> np.ndarray:
        """Leverages h_i = w_i x_i'(X'WX)⁻¹x_i, set to 1 within 10ε of 1 as `lm.influence` does."""
        p = x.shape[1]
        outer = (x[:, :, None] * x[:, None, :]).reshape(len(x), p * p)
        h = self.weights * (self.xtwx_inv.reshape(len(self.weights), p * p) @ outer.T)
        return np.where(h > 1 - 10 * DOUBLE_EPS, 1.0, h)


def _dev(y: np.ndarray, mu: np.ndarray, prior: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Σ 2·prior·(y log(y/μ) − (y − μ)), y log(y/μ) = 0 where y = 0 (R's `dev.resids` of poisson)."""
    ylog = np.zeros_like(mu)
    np.log(np.divide(y, mu, where=positive, out=np.ones_like(mu)), out=ylog, where=positive)
    ylog *= y
    return np.sum(2.0 * prior * (ylog - (y - mu)), axis=-1)


def _solve(x: np.ndarray, outer: np.ndarray, w2: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """β and (X'WX)⁻¹ of the weighted least squares step for every model (one design x, n × p)."""
    b, p = len(w2), x.shape[1]
    a = (w2 @ outer).reshape(b, p, p)
    rhs = (w2 * z) @ x
    if p == 1:
        inv = 1.0 / a
        return inv[:, 0] * rhs, inv
    if p == 2:
        det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
        inv = np.empty_like(a)
        inv[:, 0, 0] = a[:, 1, 1] / det
        inv[:, 1, 1] = a[:, 0, 0] / det
        inv[:, 0, 1] = -a[:, 0, 1] / det
        inv[:, 1, 0] = -a[:, 1, 0] / det
    else:
        inv = np.linalg.inv(a)
    return np.einsum("bij,bj->bi", inv, rhs), inv


def fit_batch(x: np.ndarray, y: np.ndarray, prior: np.ndarray | None = None) -> GlmBatch:
    """Fit `response ~ x` (quasi-Poisson, log link) for B models of one design: x (n, p), y and
    prior weights (B, n)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    b, n = y.shape
    p = x.shape[1]
    outer = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
    prior = np.ones((b, n)) if prior is None else np.asarray(prior, dtype=float)
    positive = y > 0
    mu = y + 0.1
    eta = np.log(mu)
    devold = _dev(y, mu, prior, positive)
    coef = np.zeros((b, p))
    weights = np.zeros((b, n))
    inv = np.zeros((b, p, p))
    converged = np.zeros(b, dtype=bool)
    iterations = np.zeros(b, dtype=int)
    dev = devold.copy()
    active = np.arange(b)
    for it in range(1, MAXIT + 1):
        every = active.size == b
        ya = y if every else y[active]
        pa = prior if every else prior[active]
        eta_a = eta if every else eta[active]
        mu_a = mu if every else mu[active]
        mu_eta = np.maximum(np.exp(eta_a), DOUBLE_EPS)
        z = eta_a + (ya - mu_a) / mu_eta
        w2 = pa * mu_eta**2 / mu_a
        beta, inv_a = _solve(x, outer, w2, z)
        new_eta = beta @ x.T
        new_mu = np.maximum(np.exp(new_eta), DOUBLE_EPS)
        new_dev = _dev(ya, new_mu, pa, positive if every else positive[active])
        coef[active], weights[active], inv[active] = beta, w2, inv_a
        eta[active], mu[active], dev[active] = new_eta, new_mu, new_dev
        iterations[active] = it
        done = np.abs(new_dev - devold[active]) / (np.abs(new_dev) + 0.1) < EPSILON
        converged[active[done]] = True
        devold[active] = new_dev
        active = active[~done]
        if active.size == 0:
            break
    mu_eta = np.maximum(np.exp(eta), DOUBLE_EPS)
    return GlmBatch(coef=coef, mu=mu, weights=weights, residuals=(y - mu) / mu_eta, xtwx_inv=inv,
                    converged=converged, iterations=iterations, deviance=dev)
