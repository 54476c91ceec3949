"""The big screen's panels (大屏): KPIs against yesterday, 14-day trends, worst-first rankings of the
child units (the tile map uses the same), open orders. Each panel is one JSON answer
(`GET /api/v1/command/panels/{panel}`), refreshed by the screen every 30 s; all figures come from
`indicators` (the frozen snapshot of a past day, live for today), so the screen, the API and the
report agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from fangkong.command.models import Order, OrderTarget
from fangkong.command.service import cache
from fangkong.command.service.indicators import (
    IndicatorRow,
    IndicatorTable,
    check_day,
    indicators,
    latest_snapshot_ids,
)
from fangkong.command.service.indicators import (
    compute as compute_indicators,
)
from fangkong.kernel import clock, db, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import NotFound, record_not_found
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.policy import service as policy_service

PANELS = ("kpis", "trends", "rankings", "funnel", "cases", "orders")
#: the clock funnel (三个时钟): leads received today, then the steps that fell today, with their hours
FUNNEL = [("received", "leads.received", None), ("known", "clock.known_h.p50", "clock.known_h.p90"),
          ("managed", "clock.managed_h.p50", "clock.managed_h.p90"),
          ("controlled", "clock.controlled_h.p50", "clock.controlled_h.p90")]
KPIS = ["leads.received", "leads.cleared_same_day", "leads.overdue", "clock.managed_h.p90",
        "clock.controlled_h.p90", "testing.compliance", "testing.tested", "cases.new", "contacts.under_control",
        "checkpoints.inspected", "quarantine.occupancy", "signals.open"]
TRENDS = ["leads.received", "leads.cleared_same_day", "cases.new", "testing.tested"]
#: where each KPI's number leads: the scoped, masked list behind it
LISTS = {"leads.received": "/leads?day={day}&unit={unit}", "leads.cleared_same_day": "/leads?day={day}&unit={unit}",
         "leads.overdue": "/leads?overdue=1&unit={unit}", "cases.new": "/cases", "testing.compliance": "/compliance"}


def _row(r: IndicatorRow | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"indicator": r.indicator, "name_zh": r.name_zh, "kind": r.kind, "value": r.value, "shown": r.shown(),
            "numerator": r.numerator, "denominator": r.denominator, "status": r.status, "rule": r.rule,
            "enabled": r.enabled}


class Indexed:
    """A cached day's table with its rows indexed by unit code, then indicator (built once, on compute)."""

    def __init__(self, table: IndicatorTable) -> None:
        self.table = table
        self.by_unit: dict[str, dict[str, IndicatorRow]] = {}
        for r in table.rows:
            self.by_unit.setdefault(r.unit_code, {})[r.indicator] = r


def _tables(session: Session, actor: Actor, days: list[dt.date], base: Unit, *, subtree: bool
            ) -> dict[dt.date, Indexed]:
    """Each day's table of `base` (its own rows, or its subtree's), through the per-day cache: a frozen
    day by its snapshot's id, a live one by day, pack version and the write generation (`cache`)."""
    snaps = latest_snapshot_ids(session, days)
    pack = policy_service.active_pack(session)
    bind = session.get_bind()
    where = str(bind.engine.url) if isinstance(bind, Engine | Connection) else repr(bind)
    out: dict[dt.date, Indexed] = {}
    for d in days:
        sid = snaps.get(d)
        if sid is not None:
            key: tuple[Any, ...] = ("frozen", where, sid, base.path, subtree)
            ttl = None
        else:
            # live: always the whole subtree (KPIs and rankings share one computation)
            key = ("live", where, d, pack.version_tag, base.path)
            ttl = float(pack.command.screen_live_seconds)

        def compute(d: dt.date = d, live: bool = sid is None) -> Indexed:
            return Indexed(indicators(session, actor, day=d, unit_code=base.code, subtree=subtree or live))

        refresh = _background(bind, base.id, d) if sid is None and _threads_ok(bind) else None
        out[d] = cache.get_or_compute(session, key, compute, ttl_s=ttl,
                                      stale_s=float(pack.command.screen_stale_seconds), refresh=refresh)
    return out


def _threads_ok(bind: Any) -> bool:
    """Whether a background thread may open its own connection: not over one shared connection (an
    in-memory SQLite database, a session bound to a connection)."""
    return isinstance(bind, Engine) and not isinstance(bind.pool, StaticPool | SingletonThreadPool)


def _background(engine: Engine, unit_id: int, day: dt.date) -> Callable[[], Indexed]:
    """The live day's whole-subtree table of a unit recomputed in a session of its own (the screen's
    background refresh). The permission and scope were checked by the request that asked; the figures
    depend only on the unit."""
    def refresh() -> Indexed:
        with Session(engine) as s:
            db.read_only(s)  # a reader: on SQLite a deferred BEGIN, writers go on meanwhile
            base = s.get(Unit, unit_id)
            if base is None:
                raise LookupError(unit_id)
            rows, cutoff, version = compute_indicators(s, base, day, subtree=True)
            return Indexed(IndicatorTable(day, base.code, cutoff, version, False, None, None, rows))
    return refresh


def _own(session: Session, actor: Actor, day: dt.date, base: Unit, *, subtree: bool = False
         ) -> tuple[str, dict[str, IndicatorRow], Indexed]:
    t = _tables(session, actor, [day], base, subtree=subtree)[day]
    return base.code, t.by_unit.get(base.code, {}), t


def _name(own: dict[str, IndicatorRow]) -> str:
    return next(iter(own.values())).unit_name if own else ""


def panel(session: Session, actor: Actor, name: str, *, unit_code: str | None = None,
          day: dt.date | None = None) -> dict[str, Any]:
    """One panel of the screen for a unit's subtree (default the caller's) on day D (default today)."""
    actor.require("command.view")
    if name not in PANELS:
        raise NotFound(record_not_found("panel", name))
    day = check_day(day or clock.today())
    if name == "orders":
        return _orders(session, actor, day, unit_code)
    base = scope.visible_unit(session, actor, code=unit_code) if unit_code else scope.base_unit(session, actor)
    if name == "kpis":
        code, today, _rows = _own(session, actor, day, base)
        _c, yesterday, _r = _own(session, actor, day - dt.timedelta(days=1), base)
        items = []
        for k in KPIS:
            now, before = _row(today.get(k)), _row(yesterday.get(k))
            if now is None:
                continue
            delta = None
            if now["value"] is not None and before is not None and before["value"] is not None:
                delta = round(float(now["value"]) - float(before["value"]), 4)
            items.append({**now, "yesterday": before["value"] if before else None, "delta": delta,
                          "list": LISTS.get(k, "").format(day=day.isoformat(), unit=code) or None})
        return {"panel": name, "day": day.isoformat(), "unit_code": code, "unit_name": _name(today), "items": items}
    if name == "trends":
        days = [day - dt.timedelta(days=i) for i in range(13, -1, -1)]
        series: dict[str, list[Any]] = {k: [] for k in TRENDS}
        names: dict[str, str] = {}
        code = base.code
        tables = _tables(session, actor, days, base, subtree=False)
        own: dict[str, IndicatorRow] = {}
        for d in days:
            own = tables[d].by_unit.get(code, {})
            for k in TRENDS:
                r = own.get(k)
                names[k] = r.name_zh if r else k
                series[k].append(r.value if r else None)
        return {"panel": name, "day": day.isoformat(), "unit_code": code, "unit_name": _name(own),
                "days": [d.isoformat() for d in days],
                "series": [{"indicator": k, "name_zh": names[k], "values": v} for k, v in series.items()]}
    if name == "funnel":
        code, own, _rows = _own(session, actor, day, base)
        steps = []
        for step, first, second in FUNNEL:
            r = own.get(first)
            r90 = own.get(second) if second else None
            steps.append({"step": step, "indicator": first,
                          "count": (r.value if step == "received" else r.numerator) if r else None,
                          "p50_h": r.value if r and second else None, "p90_h": r90.value if r90 else None,
                          "status": r90.status if r90 else "", "rule": r90.rule if r90 else ""})
        return {"panel": name, "day": day.isoformat(), "unit_code": code, "unit_name": _name(own), "steps": steps}
    if name == "cases":
        from fangkong.tracing import service as tracing_service

        code, own, _rows = _own(session, actor, day, base)
        start, end = clock.local_day_bounds(day)
        facts = tracing_service.case_facts(session, base, start=start, end=end)
        return {"panel": name, "day": day.isoformat(), "unit_code": code, "unit_name": _name(own),
                "new": _row(own.get("cases.new")), "detected_in_control": _row(own.get("cases.detected_in_control")),
                # ids and times only (nothing personal): each opens the case's review
                "items": [{"case_id": f["id"], "created_at": clock.iso_local(f["created_at"]),
                           "review": f"/command/reviews/{f['id']}"} for f in facts[-20:]]}
    if name == "rankings":
        code, own, indexed = _own(session, actor, day, base, subtree=True)
        children = {u.code: u for u in session.execute(select(Unit).where(Unit.parent_id == base.id)).scalars()}
        by_unit = {c: indexed.by_unit[c] for c in children if c in indexed.by_unit}
        out = []
        for c, rs in by_unit.items():
            clear, late = rs.get("leads.cleared_same_day"), rs.get("leads.overdue")
            out.append({"unit_code": c, "unit_name": children[c].name, "level": children[c].level,
                        "cleared": _row(clear), "overdue": _row(late)})
        # worst first: the lowest clearance (no value last), then the most overdue
        out.sort(key=lambda x: (x["cleared"]["value"] is None if x["cleared"] else True,
                                (x["cleared"] or {}).get("value") or 0, -((x["overdue"] or {}).get("value") or 0),
                                x["unit_code"]))
        return {"panel": name, "day": day.isoformat(), "unit_code": code, "unit_name": _name(own), "units": out}
    raise NotFound(record_not_found("panel", name))


def _orders(session: Session, actor: Actor, day: dt.date, unit_code: str | None) -> dict[str, Any]:
    """Targets in the caller's subtree not yet completed, soonest due first (not cached: per caller)."""
    stmt = scope.visible(select(OrderTarget, Order, Unit).join(Order, Order.id == OrderTarget.order_id)
                         .join(Unit, Unit.id == OrderTarget.unit_id)
                         .where(OrderTarget.status != "completed"), actor, OrderTarget)
    if unit_code:
        stmt = scope.within(stmt, scope.visible_unit(session, actor, code=unit_code), OrderTarget)
    items = [{"order_id": o.id, "title": o.title, "unit_code": u.code, "unit_name": u.name, "status": t.status,
              "ack_due_at": clock.iso_local(o.ack_due_at), "due_at": clock.iso_local(o.due_at)}
             for t, o, u in session.execute(stmt.order_by(Order.due_at, OrderTarget.id).limit(50))]
    return {"panel": "orders", "day": day.isoformat(), "unit_code": unit_code or "", "items": items}
