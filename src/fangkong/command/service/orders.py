"""Orders (指令): issued down the tree, acknowledged and completed by each target (上下贯通), relayed to
children as linked sub-orders, late acknowledgements escalated to the target's parent unit.

Each target gets two kernel tasks (acknowledge, complete). An order is visible to the issuing unit's
subtree and to each target's subtree; anything else is a 404. Acknowledging, completing or relaying
an order the caller's unit is not a target of is a 403."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command import kinds
from fangkong.command.models import Order, OrderTarget
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import DomainError, FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.jurisdictions.models import LEVELS, Unit
from fangkong.kernel.messages import _, message
from fangkong.kernel.tasks import service as tasks_service

INVALID_ORDER = message("order.invalid", _("invalid order"))
REQUIRED = message("order.required", _("required"))
TARGETS = message("order.targets", _("give --to (unit codes) or --to-level with --under, not both"))
NOT_BELOW = message("order.not_below", _("not a unit below yours: %(code)s"))
NO_TARGETS = message("order.no_targets", _("no unit of level %(level)s under %(code)s"))
UNKNOWN_LEVEL = message("order.unknown_level", _("one of %(levels)s"))
BAD_HOURS = message("order.hours", _("hours between 0.1 and 720"))
NOT_TARGETED = message("order.not_targeted", _("your unit is not a target of order %(id)s"))
EVIDENCE_REQUIRED = message("order.evidence_required", _("required"))


class NotTargeted(DomainError):
    """An order the caller may see, but their unit is not a target of it: 403."""

    def __init__(self, order_id: int) -> None:
        super().__init__(NOT_TARGETED(id=order_id), status=403, code="forbidden")


def _check_hours(name: str, hours: float, errors: list[FieldError]) -> None:
    if not 0.1 <= hours <= 720:
        errors.append(FieldError(name, BAD_HOURS()))


def _targets(session: Session, actor: Actor, base: Unit, *, to: list[str] | None, to_level: str | None,
             under: str | None, errors: list[FieldError]) -> list[Unit]:
    if bool(to) == bool(to_level):
        errors.append(FieldError("to", TARGETS()))
        return []
    if to:
        out = []
        for code in dict.fromkeys(c.strip() for c in to if c.strip()):
            unit = scope.visible_unit_or_none(session, actor, code=code)
            if unit is None or unit.id == base.id or not scope.inside(unit, base):
                errors.append(FieldError("to", NOT_BELOW(code=code)))
            else:
                out.append(unit)
        return out
    if to_level not in LEVELS:
        errors.append(FieldError("to_level", UNKNOWN_LEVEL(levels=", ".join(LEVELS))))
        return []
    top = scope.visible_unit_or_none(session, actor, code=under) if under else base
    if top is None or not scope.inside(top, base):
        errors.append(FieldError("under", NOT_BELOW(code=under or "")))
        return []
    units = session.execute(scope.within(select(Unit).where(Unit.level == to_level, Unit.id != base.id), top, Unit)
                            .order_by(Unit.code)).scalars().all()
    if not units:
        errors.append(FieldError("to_level", NO_TARGETS(level=to_level, code=top.code)))
    return list(units)


def issue_order(session: Session, actor: Actor, *, title: str, body: str = "", to: list[str] | None = None,
                to_level: str | None = None, under: str | None = None, ack_hours: float = 2,
                due_hours: float = 24, evidence: bool = False, attachments: list[str] | None = None,
                parent_target: OrderTarget | None = None) -> Order:
    """Issue an order (下达指令) from the actor's unit to units below it: listed codes, or every unit of
    a level under a unit. Each target gets an acknowledge task (due in `ack_hours`, 2 h by default) and
    a complete task (due in `due_hours`)."""
    actor.require("order.issue")
    base = scope.base_unit(session, actor)
    errors: list[FieldError] = []
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        errors.append(FieldError("title", REQUIRED()))
    _check_hours("ack_hours", ack_hours, errors)
    _check_hours("due_hours", due_hours, errors)
    units = _targets(session, actor, base, to=to, to_level=to_level, under=under, errors=errors)
    if errors:
        raise ValidationFailed(INVALID_ORDER(), errors)
    now = clock.now()
    order = Order(title=title, body=(body or "")[:4000], attachments=list(attachments or []),
                  parent_target_id=parent_target.id if parent_target else None, issued_at=now,
                  issued_by=actor.username, ack_due_at=now + dt.timedelta(hours=ack_hours),
                  due_at=now + dt.timedelta(hours=max(due_hours, ack_hours)), evidence_required=evidence,
                  unit_id=base.id, unit_path=base.path)
    session.add(order)
    session.flush()
    targets = [OrderTarget(order_id=order.id, unit_id=u.id, unit_path=u.path, status="issued") for u in units]
    session.add_all(targets)
    session.flush()
    ids = tasks_service.create_tasks(session, actor, [
        t for u in units for t in (
            tasks_service.NewTask(kind=kinds.ACK, title=f"签收指令:{title}", unit_id=u.id, subject_type="order",
                                  subject_id=order.id, due_at=order.ack_due_at),
            tasks_service.NewTask(kind=kinds.COMPLETE, title=f"落实指令:{title}", unit_id=u.id,
                                  subject_type="order", subject_id=order.id, due_at=order.due_at))])
    for i, t in enumerate(targets):
        t.ack_task_id, t.complete_task_id = ids[2 * i], ids[2 * i + 1]
    audit.record(session, actor, "command.order_issued", object_type="order", object_id=order.id,
                 targets=[u.code for u in units], relayed_from=order.parent_target_id)
    session.flush()
    return order


def _visible_order(session: Session, actor: Actor, order_id: int) -> tuple[Order, list[OrderTarget]]:
    actor.require("order.view")
    order = session.get(Order, order_id)
    targets = [] if order is None else list(session.execute(
        select(OrderTarget).where(OrderTarget.order_id == order.id).order_by(OrderTarget.id)).scalars())
    if order is None or not (scope.sees(actor, order) or any(scope.sees(actor, t) for t in targets)):
        raise NotFound(record_not_found("order", order_id))
    return order, targets


def _own_target(actor: Actor, order: Order, targets: list[OrderTarget]) -> OrderTarget:
    mine = next((t for t in targets if t.unit_id == actor.unit_id), None)
    if mine is None:
        raise NotTargeted(order.id)
    return mine


def _close(session: Session, actor: Actor, task_id: int | None, outcome: str) -> None:
    """Close an order's own task (its target's acknowledge or complete task) when still open."""
    if task_id is not None and tasks_service.get_task(session, actor, task_id).status == "open":
        tasks_service.complete_task(session, actor, task_id, outcome_code=outcome, by_owner=True)


def acknowledge(session: Session, actor: Actor, *, order_id: int) -> OrderTarget:
    """Acknowledge an order for the caller's unit (签收)."""
    actor.require("order.work")
    order, targets = _visible_order(session, actor, order_id)
    mine = _own_target(actor, order, targets)
    if mine.acknowledged_at is None:
        now = clock.now()
        mine.acknowledged_at, mine.acknowledged_by = now, actor.username
        if mine.status in ("issued", "escalated"):
            mine.status = "acknowledged"
        _close(session, actor, mine.ack_task_id, "acknowledged")
        audit.record(session, actor, "command.order_acknowledged", object_type="order", object_id=order.id,
                     unit_id=mine.unit_id)
    session.flush()
    return mine


def complete(session: Session, actor: Actor, *, order_id: int, evidence: str | None = None) -> OrderTarget:
    """Report an order carried out for the caller's unit (落实反馈); an order asking for evidence needs it
    (422 `evidence: required`). Acknowledges it too when that was not done."""
    actor.require("order.work")
    order, targets = _visible_order(session, actor, order_id)
    mine = _own_target(actor, order, targets)
    evidence = " ".join((evidence or "").split()) or None
    if order.evidence_required and not evidence:
        raise ValidationFailed(INVALID_ORDER(), [FieldError("evidence", EVIDENCE_REQUIRED())])
    if mine.completed_at is not None:
        return mine
    now = clock.now()
    if mine.acknowledged_at is None:
        mine.acknowledged_at, mine.acknowledged_by = now, actor.username
        _close(session, actor, mine.ack_task_id, "acknowledged")
    mine.completed_at, mine.completed_by, mine.evidence, mine.status = now, actor.username, evidence, "completed"
    _close(session, actor, mine.complete_task_id, "completed")
    audit.record(session, actor, "command.order_completed", object_type="order", object_id=order.id,
                 unit_id=mine.unit_id, evidence=bool(evidence))
    session.flush()
    return mine


def relay(session: Session, actor: Actor, *, order_id: int, to: list[str]) -> Order:
    """Relay an order to units below the caller's (转发): a linked sub-order with the same title, body,
    evidence flag and remaining deadlines; the caller's unit acknowledges by relaying."""
    actor.require("order.work")
    order, targets = _visible_order(session, actor, order_id)
    mine = _own_target(actor, order, targets)
    now = clock.now()
    hours = max((order.due_at - now).total_seconds() / 3600, 0.1)
    sub = issue_order(session, actor, title=order.title, body=order.body, to=to,
                      ack_hours=min(2.0, hours), due_hours=hours, evidence=order.evidence_required,
                      attachments=order.attachments, parent_target=mine)
    if mine.acknowledged_at is None:
        acknowledge(session, actor, order_id=order.id)
    return sub


def show(session: Session, actor: Actor, *, order_id: int) -> dict[str, Any]:
    """An order with each target's `unit_code`, `status`, `acknowledged_at`, `completed_at` and its
    sub-orders (the same shape, nested)."""
    order, targets = _visible_order(session, actor, order_id)
    return _view(session, order, targets)


def _view(session: Session, order: Order, targets: list[OrderTarget]) -> dict[str, Any]:
    units = {u.id: u for u in session.execute(select(Unit).where(
        Unit.id.in_([t.unit_id for t in targets] + [order.unit_id]))).scalars()}
    out_targets = []
    for t in targets:
        subs = session.execute(select(Order).where(Order.parent_target_id == t.id).order_by(Order.id)).scalars().all()
        sub_views = [_view(session, s, list(session.execute(select(OrderTarget).where(OrderTarget.order_id == s.id)
                                                            .order_by(OrderTarget.id)).scalars())) for s in subs]
        u = units.get(t.unit_id)
        out_targets.append({"unit_code": u.code if u else "", "unit_name": u.name if u else "", "status": t.status,
                            "acknowledged_at": clock.iso_local(t.acknowledged_at) or None,
                            "completed_at": clock.iso_local(t.completed_at) or None,
                            "escalated_at": clock.iso_local(t.escalated_at) or None,
                            "acknowledged_by": t.acknowledged_by, "completed_by": t.completed_by,
                            "evidence": t.evidence, "sub_orders": sub_views})
    issuer = units.get(order.unit_id)
    return {"id": order.id, "title": order.title, "body": order.body, "attachments": order.attachments,
            "issued_at": clock.iso_local(order.issued_at), "issued_by": order.issued_by,
            "unit_code": issuer.code if issuer else "", "ack_due_at": clock.iso_local(order.ack_due_at),
            "due_at": clock.iso_local(order.due_at), "evidence_required": order.evidence_required,
            "parent_target_id": order.parent_target_id, "targets": out_targets}


def escalate(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> dict[str, int]:
    """`command.order_escalation`: a target not acknowledged by its deadline is `escalated` and its parent
    unit gets a task to chase it; an acknowledged one not completed by the due time is `overdue`.
    Running it again changes nothing more."""
    now = now or clock.now()
    late = session.execute(select(OrderTarget, Order).join(Order, Order.id == OrderTarget.order_id).where(
        OrderTarget.status == "issued", Order.ack_due_at < now)).all()
    units = {u.id: u for u in session.execute(select(Unit).where(
        Unit.id.in_([t.unit_id for t, _o in late] or [0]))).scalars()}
    new = []
    for t, o in late:
        t.status, t.escalated_at = "escalated", now
        u = units.get(t.unit_id)
        parent = u.parent_id if u is not None and u.parent_id is not None else o.unit_id
        new.append(tasks_service.NewTask(kind=kinds.ESCALATED, title=f"督促签收指令:{o.title}({u.name if u else ''})",
                                         unit_id=parent, subject_type="order", subject_id=o.id,
                                         due_at=now + dt.timedelta(hours=2), detail={"target_unit_id": t.unit_id}))
    tasks_service.create_tasks(session, actor, new)
    overdue = session.execute(select(OrderTarget).join(Order, Order.id == OrderTarget.order_id).where(
        OrderTarget.status == "acknowledged", Order.due_at < now)).scalars().all()
    for t in overdue:
        t.status, t.overdue_at = "overdue", now
    if late or overdue:
        audit.record(session, actor, "command.orders_escalated", object_type="order",
                     escalated=len(late), overdue=len(overdue))
    session.flush()
    return {"escalated": len(late), "overdue": len(overdue)}


def list_orders(session: Session, actor: Actor, *, limit: int = 100) -> list[dict[str, Any]]:
    """Orders the caller sees (issued in their subtree, or with a target in it), newest first, with how
    many targets acknowledged and completed (指令台账)."""
    actor.require("order.view")
    targeted = scope.visible(select(OrderTarget.order_id), actor, OrderTarget)
    issued = scope.visible(select(Order.id), actor, Order)
    rows = session.execute(select(Order).where(Order.id.in_(targeted) | Order.id.in_(issued))
                           .order_by(Order.issued_at.desc(), Order.id.desc()).limit(limit)).scalars().all()
    counts: dict[int, list[OrderTarget]] = {}
    for t in session.execute(select(OrderTarget).where(OrderTarget.order_id.in_([o.id for o in rows] or [0]))
                             ).scalars():
        counts.setdefault(t.order_id, []).append(t)
    out = []
    for o in rows:
        ts = counts.get(o.id, [])
        out.append({"id": o.id, "title": o.title, "issued_at": clock.iso_local(o.issued_at), "issued_by": o.issued_by,
                    "due_at": clock.iso_local(o.due_at), "relayed": o.parent_target_id is not None,
                    "targets": len(ts), "acknowledged": sum(t.acknowledged_at is not None for t in ts),
                    "completed": sum(t.completed_at is not None for t in ts),
                    "late": sum(t.status in ("escalated", "overdue") for t in ts)})
    return out
