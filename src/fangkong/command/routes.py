"""The command centre over HTTP: indicators by unit and orders (JSON). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from fangkong.command import service
from fangkong.command.schemas import CompleteIn, IndicatorOut, IndicatorsOut, OrderIn, OrderOut, RelayIn
from fangkong.command.service import orders, panels
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.web.deps import DbSession, RowId
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import render

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


# ---------------------------------------------------------------------------------------------- orders

CanViewOrders = Annotated[Actor, Depends(requires("order.view"))]
CanIssue = Annotated[Actor, Depends(requires("order.issue"))]
CanWork = Annotated[Actor, Depends(requires("order.work"))]


@api.post("/orders", response_model=OrderOut, status_code=201, summary="Issue an order to units below yours")
def post_order(body: OrderIn, session: DbSession, actor: CanIssue) -> OrderOut:
    order = orders.issue_order(session, actor, title=body.title, body=body.body, to=body.to, to_level=body.to_level,
                               under=body.under, ack_hours=body.ack_hours, due_hours=body.due_hours,
                               evidence=body.evidence, attachments=body.attachments)
    return OrderOut(**orders.show(session, actor, order_id=order.id))


@api.get("/orders/{order_id}", response_model=OrderOut, summary="An order, its targets and their sub-orders")
def get_order(order_id: RowId, session: DbSession, actor: CanViewOrders) -> OrderOut:
    return OrderOut(**orders.show(session, actor, order_id=order_id))


@api.post("/orders/{order_id}/ack", response_model=OrderOut, summary="Acknowledge an order for your unit")
def ack_order(order_id: RowId, session: DbSession, actor: CanWork) -> OrderOut:
    orders.acknowledge(session, actor, order_id=order_id)
    return OrderOut(**orders.show(session, actor, order_id=order_id))


@api.post("/orders/{order_id}/complete", response_model=OrderOut, summary="Report an order carried out")
def complete_order(order_id: RowId, body: CompleteIn, session: DbSession, actor: CanWork) -> OrderOut:
    orders.complete(session, actor, order_id=order_id, evidence=body.evidence)
    return OrderOut(**orders.show(session, actor, order_id=order_id))


@api.post("/orders/{order_id}/relay", response_model=OrderOut, status_code=201,
          summary="Relay an order to units below yours (a linked sub-order)")
def relay_order(order_id: RowId, body: RelayIn, session: DbSession, actor: CanWork) -> OrderOut:
    sub = orders.relay(session, actor, order_id=order_id, to=body.to)
    return OrderOut(**orders.show(session, actor, order_id=sub.id))


# ------------------------------------------------------------------------------------------ big screen

pages = APIRouter(include_in_schema=False)
register_nav("command_screen", N_("Command screen"), "/command/screen", "command.view", 5)


@api.get("/command/panels/{panel}", summary="One panel of the big screen: kpis, trends, rankings or orders")
def get_panel(panel: Annotated[str, Path(max_length=16)], session: DbSession, actor: CanView,
              unit: UnitCode = None, day: dt.date | None = None) -> dict:
    return panels.panel(session, actor, panel, unit_code=unit, day=day)


@pages.get("/command/screen")
def screen_page(request: Request, session: DbSession, actor: CanView, unit: UnitCode = None) -> Response:
    base = scope.visible_unit(session, actor, code=unit) if unit else scope.base_unit(session, actor)
    chain = []
    u: Unit | None = base
    while u is not None and scope.sees(actor, u):
        chain.insert(0, u)
        u = session.get(Unit, u.parent_id) if u.parent_id else None
    return render(request, "command/screen.html", unit=base, chain=chain, today=clock.today().isoformat())
