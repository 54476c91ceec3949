"""The command centre over HTTP: indicators by unit and orders (JSON). Thin: parse, call the service, shape."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

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
register_nav("command_screen", N_("Command screen"), "/command/screen", "command.view", 5, group="command")


@api.get("/command/panels/{panel}", summary="One panel of the big screen: kpis, trends, rankings or orders")
def get_panel(panel: Annotated[str, Path(max_length=16)], session: DbSession, actor: CanView,
              unit: UnitCode = None, day: dt.date | None = None) -> dict:
    return panels.panel(session, actor, panel, unit_code=unit, day=day)


@api.get("/command/geometry", summary="Outlines of a unit's children (GeoJSON) for the screen's map")
def get_geometry(session: DbSession, actor: CanView, unit: UnitCode = None) -> dict:
    from fangkong.command.service import geometry

    return geometry.children_map(session, actor, unit_code=unit)


@pages.get("/command/screen")
def screen_page(request: Request, session: DbSession, actor: CanView, unit: UnitCode = None) -> Response:
    base = scope.visible_unit(session, actor, code=unit) if unit else scope.base_unit(session, actor)
    chain = []
    u: Unit | None = base
    while u is not None and scope.sees(actor, u):
        chain.insert(0, u)
        u = session.get(Unit, u.parent_id) if u.parent_id else None
    return render(request, "command/screen.html", unit=base, chain=chain, today=clock.today().isoformat(),
                  yesterday=(clock.today() - dt.timedelta(days=1)).isoformat())


# ---------------------------------------------------------------------------------------------- order pages

register_nav("command_orders", N_("Orders"), "/orders", "order.view", 6, group="command")
#: how an order target's status reads (translated in the template)
ORDER_STATUS = {"issued": N_("Awaiting acknowledgement"), "acknowledged": N_("Acknowledged"),
                "completed": N_("Carried out"), "overdue": N_("Overdue, not carried out"),
                "escalated": N_("Not acknowledged in time (chased)")}


@pages.get("/orders")
def orders_page(request: Request, session: DbSession, actor: CanViewOrders) -> Response:
    return render(request, "command/orders.html", actor=actor, rows=orders.list_orders(session, actor))


@pages.post("/orders")
def orders_issue_page(session: DbSession, actor: CanIssue, title: Annotated[str, Form(max_length=200)] = "",
                      body: Annotated[str, Form(max_length=4000)] = "", to: Annotated[str, Form(max_length=4000)] = "",
                      ack_hours: Annotated[float, Form(ge=0.1, le=720)] = 2,
                      due_hours: Annotated[float, Form(ge=0.1, le=720)] = 24,
                      evidence: Annotated[str, Form(max_length=3)] = "") -> Response:
    order = orders.issue_order(session, actor, title=title, body=body, to=_codes(to), ack_hours=ack_hours,
                               due_hours=due_hours, evidence=evidence == "1")
    return RedirectResponse(f"/orders/{order.id}", status_code=303)


@pages.get("/orders/{order_id}")
def order_page(request: Request, order_id: RowId, session: DbSession, actor: CanViewOrders) -> Response:
    view = orders.show(session, actor, order_id=order_id)
    own = session.get(Unit, actor.unit_id) if actor.unit_id else None
    mine = next((t for t in view["targets"] if own is not None and t["unit_code"] == own.code), None)
    children = session.execute(select(Unit).where(Unit.parent_id == own.id).order_by(Unit.code)).scalars().all() \
        if own is not None else []
    return render(request, "command/order.html", actor=actor, o=view, mine=mine, children=children,
                  statuses=ORDER_STATUS)


def _codes(text: str) -> list[str] | None:
    return [c.strip() for c in text.replace("，", ",").split(",") if c.strip()] or None


def _to_order(order_id: int) -> Response:
    return RedirectResponse(f"/orders/{order_id}", status_code=303)


@pages.post("/orders/{order_id}/ack")
def order_ack_page(order_id: RowId, session: DbSession, actor: CanWork) -> Response:
    orders.acknowledge(session, actor, order_id=order_id)
    return _to_order(order_id)


@pages.post("/orders/{order_id}/complete")
def order_complete_page(order_id: RowId, session: DbSession, actor: CanWork,
                        evidence: Annotated[str, Form(max_length=2000)] = "") -> Response:
    orders.complete(session, actor, order_id=order_id, evidence=evidence)
    return _to_order(order_id)


@pages.post("/orders/{order_id}/relay")
def order_relay_page(order_id: RowId, session: DbSession, actor: CanWork,
                     to: Annotated[list[str] | None, Form(max_length=500)] = None) -> Response:
    sub = orders.relay(session, actor, order_id=order_id, to=to or [])
    return _to_order(sub.id)


@pages.get("/command/report/daily.{fmt}")
def daily_report_file(fmt: Annotated[str, Path(pattern="^(xlsx|pdf)$")], session: DbSession, actor: CanView,
                      day: dt.date | None = None, unit: UnitCode = None) -> Response:
    """The daily report (日报) of a day (default yesterday) as XLSX or PDF, as `fangkong report daily`
    writes it (audited)."""
    day = day or clock.today() - dt.timedelta(days=1)
    import tempfile
    from pathlib import Path as FilePath

    from fangkong.command.service.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        out = FilePath(tmp) / f"daily.{fmt}"
        report = write_report(session, actor, day=clock.check_day(day), unit_code=unit, out=out)
        content = out.read_bytes()
    media = "application/pdf" if fmt == "pdf" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"daily-{report.table.unit_code}-{day.isoformat()}.{fmt}"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


from fangkong.command import home as _home  # noqa: E402,F401  (registers the role home pages)
