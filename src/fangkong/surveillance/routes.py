"""Surveillance routes: the JSON API under /api/v1 (detection on posted series)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.tabular import summarise
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.surveillance import detect
from fangkong.surveillance.algorithms import methods
from fangkong.surveillance.schemas import DetectIn, DetectOut

BAD_PARAMS = message("surveillance.bad_params", _("invalid parameters of the method"))

api = APIRouter(tags=["surveillance"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)

CanView = Annotated[Actor, Depends(requires("surveillance.view"))]


def _num(v: Any) -> Any:
    return None if v == "" or (isinstance(v, float) and not math.isfinite(v)) else v


@api.post("/surveillance/detect", response_model=DetectOut)
def detect_series(body: DetectIn, actor: CanView) -> dict[str, Any]:
    """Judge posted series (`series, t, count`) with one method; rows of a series with a bad count or a
    repeated or missing period are rejected (the series is not judged), as in `fangkong surveillance
    detect`. Nothing is stored."""
    try:
        params = methods.parse_params(body.method, body.params)
        if body.method in methods.FARRINGTON:
            methods.farrington_settings(body.method, params)
        rows = [detect.InRow(number=i + 1, series=p.series, t=str(p.t), values={"count": str(p.count)})
                for i, p in enumerate(body.items)]
        results, reports = detect.detect(rows, method=body.method, params=params,
                                         start=None if body.from_ is None else str(body.from_), period=body.period)
    except methods.BadParameter as exc:
        field = exc.name if exc.name in ("method", "from") else f"params.{exc.name}"
        raise ValidationFailed(BAD_PARAMS(), [FieldError(field, exc.message)]) from None
    return {
        "counts": summarise(reports),
        "results": [{k: _num(v) for k, v in r.items()} for r in results],
        "items": [{"row": r.row, "status": r.status, "issues": [str(i) for i in r.issues]} for r in reports],
    }
