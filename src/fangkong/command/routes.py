"""The command centre over HTTP: indicators by unit (JSON). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fangkong.command import service
from fangkong.command.schemas import IndicatorOut, IndicatorsOut
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.web.deps import DbSession
from fangkong.kernel.web.schemas import ERROR_RESPONSES

api = APIRouter(tags=["command"], responses=ERROR_RESPONSES)

CanView = Annotated[Actor, Depends(requires("command.view"))]
UnitCode = Annotated[str | None, Query(max_length=32, description="the unit whose subtree to report (code)")]
Code = Annotated[str | None, Query(max_length=64, description="only this indicator")]


@api.get("/command/indicators", response_model=IndicatorsOut,
         summary="Indicators of a day by unit: the frozen snapshot, or live")
def get_indicators(session: DbSession, actor: CanView, day: dt.date | None = None, unit: UnitCode = None,
                   live: bool = False, indicator: Code = None) -> IndicatorsOut:
    t = service.indicators(session, actor, day=day, unit_code=unit, live=live, indicator=indicator)
    return IndicatorsOut(day=t.day.isoformat(), unit_code=t.unit_code, cutoff_at=clock.iso_local(t.cutoff_at),
                         pack_version=t.pack_version, frozen=t.frozen, version=t.version,
                         taken_at=clock.iso_local(t.taken_at) if t.taken_at else None,
                         rows=[IndicatorOut(**{k: v for k, v in r.as_dict().items()
                                               if k in IndicatorOut.model_fields}) for r in t.rows])
