"""The detection methods by name, with their parameters (R's, in snake_case) and defaults.

`run(method, counts, params, start)` is what the CLI, the API and the series run call; `PARAMS` lists
each method's parameters and types so a bad `--param` is refused by name. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

import numpy as np

from fangkong.kernel.messages import _, message
from fangkong.surveillance.algorithms import cusum as _cusum
from fangkong.surveillance.algorithms import ears, farrington
from fangkong.surveillance.algorithms.ears import Detection

METHODS = ("ears-c1", "ears-c2", "ears-c3", "cusum", "farrington", "farrington-noufaily", "farrington-1996")
FARRINGTON = ("farrington", "farrington-noufaily", "farrington-1996")

_EARS = {"baseline": int, "alpha": float, "min_sigma": float}
_FARRINGTON_TYPES: dict[str, Any] = {
    "b": int, "w": int, "reweight": bool, "weights_threshold": float, "alpha": float, "trend": bool,
    "p_threshold_trend": float, "powertrans": str, "no_periods": int, "past_weeks_not_included": int,
    "threshold_method": str, "limit54_cases": int, "limit54_period": int,
}
#: method → parameter → type
PARAMS: dict[str, dict[str, Any]] = {
    "ears-c1": dict(_EARS), "ears-c2": dict(_EARS), "ears-c3": {**_EARS, "h": float},
    "cusum": {"k": float, "h": float, "m": float},
    **{m: dict(_FARRINGTON_TYPES) for m in FARRINGTON},
}
_CHOICES = {"powertrans": ("2/3", "1/2", "none"), "threshold_method": ("delta", "nbPlugin", "muan")}


UNKNOWN_METHOD = message("surveillance.unknown_method", _("unknown method %(method)s; one of %(methods)s"))
UNKNOWN_PARAM = message("surveillance.unknown_param", _("%(method)s has no parameter %(name)s (it has %(names)s)"))
BAD_VALUE = message("surveillance.bad_param_value", _("not a valid %(kind)s: %(value)s"))
ONE_OF = message("surveillance.param_one_of", _("one of %(choices)s"))
ABOVE_ZERO = message("surveillance.param_above_zero", _("must be greater than 0"))
BELOW_ONE = message("surveillance.param_below_one", _("must be below 1"))
AT_LEAST = message("surveillance.param_at_least", _("must be at least %(n)s"))
NOT_NEGATIVE = message("surveillance.param_not_negative", _("must not be negative"))
W_TOO_LARGE = message("surveillance.w_too_large", _("must be below 26"))
PERIODS_TOO_MANY = message("surveillance.periods_too_many", _("too large for the window"))


class BadParameter(ValueError):
    """A parameter the method does not have, or a value of the wrong type (`message` is a Message)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def parse_params(method: str, raw: Mapping[str, str | int | float | bool]) -> dict[str, Any]:
    """Typed parameters from `NAME=VALUE` strings (or JSON values); unknown names are refused."""
    if method not in PARAMS:
        raise BadParameter("method", UNKNOWN_METHOD(method=method, methods=list(METHODS)))
    out: dict[str, Any] = {}
    for name, value in raw.items():
        kind = PARAMS[method].get(name)
        if kind is None:
            raise BadParameter(name, UNKNOWN_PARAM(method=method, name=name, names=list(PARAMS[method])))
        try:
            if kind is bool:
                text = str(value).strip().lower()
                if text not in ("true", "false", "1", "0"):
                    raise ValueError
                out[name] = text in ("true", "1")
            elif kind is int:
                f = float(value)
                if f != int(f):
                    raise ValueError
                out[name] = int(f)
            elif kind is float:
                out[name] = float(value)
                if not np.isfinite(out[name]):
                    raise ValueError
            else:
                out[name] = str(value)
        except (TypeError, ValueError):
            raise BadParameter(name, BAD_VALUE(kind=kind.__name__, value=repr(value))) from None
        if name in _CHOICES and out[name] not in _CHOICES[name]:
            raise BadParameter(name, ONE_OF(choices=list(_CHOICES[name])))
    _check_ranges(method, out)
    return out


def _check_ranges(method: str, p: dict[str, Any]) -> None:
    positive = ("alpha", "h", "k", "m", "b", "limit54_period")
    for name in positive:
        if name in p and p[name] <= 0:
            raise BadParameter(name, ABOVE_ZERO())
    if "alpha" in p and p["alpha"] >= 1:
        raise BadParameter("alpha", BELOW_ONE())
    if "baseline" in p and p["baseline"] < 3:
        raise BadParameter("baseline", AT_LEAST(n=3))
    for name in ("min_sigma", "w", "past_weeks_not_included", "limit54_cases"):
        if name in p and p[name] < 0:
            raise BadParameter(name, NOT_NEGATIVE())
    if "no_periods" in p and p["no_periods"] < 1:
        raise BadParameter("no_periods", AT_LEAST(n=1))


def farrington_settings(method: str, params: Mapping[str, Any]) -> farrington.FarringtonSettings:
    base = farrington.VARIANTS[method]
    p = dict(params)
    cases = p.pop("limit54_cases", base.limit54[0])
    period = p.pop("limit54_period", base.limit54[1])
    names = {f.name for f in fields(base)}
    settings = replace(base, limit54=(cases, period), **{k: v for k, v in p.items() if k in names})
    if settings.w >= 26 or 2 * settings.w + 1 > 52:
        raise BadParameter("w", W_TOO_LARGE())
    if settings.no_periods != 1 and 52 - 2 * settings.w - 1 < settings.no_periods - 1:
        raise BadParameter("no_periods", PERIODS_TOO_MANY())
    return settings


def first_judged(method: str, params: Mapping[str, Any] | None = None) -> int:
    """The first 0-based index the method judges by default: C1 baseline, C2 baseline + 2, C3
    baseline + 4, CUSUM 1, Farrington 52·b + w."""
    params = params or {}
    if method.startswith("ears"):
        return ears.first_judged(method, int(params.get("baseline", 7)))
    if method == "cusum":
        return 1 if "m" not in params else 0
    return farrington.first_judged(farrington_settings(method, params))


def run(method: str, counts: np.ndarray, params: Mapping[str, Any] | None = None,
        start: int | None = None) -> Detection:
    """Judge `counts` from `start` (0-based; default `first_judged`) to the end."""
    params = dict(params or {})
    y = np.asarray(counts, dtype=float)
    if method in ("ears-c1", "ears-c2"):
        return ears.ears_c(y, method=method, start=start, **params)
    if method == "ears-c3":
        return ears.ears_c3(y, start=start, **params)
    if method == "cusum":
        first = first_judged(method, params)
        return _cusum.cusum(y, start=first if start is None else start, **params)
    if method in FARRINGTON:
        return farrington.farrington(y, settings=farrington_settings(method, params), start=start)
    raise BadParameter("method", UNKNOWN_METHOD(method=method, methods=list(METHODS)))
