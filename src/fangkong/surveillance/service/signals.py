"""Signals (预警信号): alarms of one series join its open signal when the last alarm is at most
`signal_extend_days` earlier, else open a new one with a review task for the unit's epidemiologists.
Review: dismiss closes it, investigate creates a field task and keeps it open, escalate hands it to the
parent unit (a new review task there)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import Conflict, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message
from fangkong.kernel.tasks import service as tasks_service
from fangkong.surveillance import kinds, rules
from fangkong.surveillance.models import SentinelSite, Signal, Verdict

ACTIONS = ("dismiss", "investigate", "escalate")
UNKNOWN_ACTION = message("signal.unknown_action", _("one of dismiss, investigate, escalate"))
INVALID_REVIEW = message("signal.invalid_review", _("invalid review"))
ALREADY_CLOSED = message("signal.closed", _("signal %(id)s is already closed"))
NO_PARENT = message("signal.no_parent", _("the unit has no parent to escalate to"))
OPEN = ("open", "investigating", "escalated")


def _title(signal: Signal, where: str) -> str:
    return f"预警信号核实:{where} {signal.indicator} {signal.first_day.isoformat()}"


def _where(session: Session, signal: Signal) -> str:
    if signal.site_id is not None:
        site = session.get(SentinelSite, signal.site_id)
        return site.name if site else str(signal.site_id)
    unit = session.get(Unit, signal.unit_id)
    return unit.name if unit else str(signal.unit_id)


def attach_alarms(session: Session, actor: Actor, alarms: list[Verdict], pack: Any) -> tuple[int, int]:
    """Join each alarm (in day order per series) to its series' open signal or open a new one."""
    extend = pack.surveillance.signal_extend_days
    opened = extended = 0
    new_tasks: list[tuple[Signal, tasks_service.NewTask]] = []
    for v in sorted(alarms, key=lambda a: (a.series_key, a.indicator, a.day)):
        sig = session.execute(select(Signal).where(
            Signal.series_key == v.series_key, Signal.indicator == v.indicator, Signal.status.in_(OPEN))
            .order_by(Signal.last_day.desc()).limit(1)).scalar_one_or_none()
        if sig is not None and (sig.first_day <= v.day <= sig.last_day
                                or rules.joins_signal(sig.last_day, v.day, extend)):
            if v.day > sig.last_day:
                sig.last_day = v.day
            sig.alarms += 1
            v.signal_id = sig.id
            extended += 1
            continue
        sig = Signal(series_key=v.series_key, level=v.level, site_id=v.site_id, indicator=v.indicator,
                     algorithm=v.algorithm, first_day=v.day, last_day=v.day, alarms=1, status="open",
                     opened_at=clock.now(), unit_id=v.unit_id, unit_path=v.unit_path)
        session.add(sig)
        session.flush()
        v.signal_id = sig.id
        opened += 1
        new_tasks.append((sig, tasks_service.NewTask(
            kind=kinds.REVIEW, title=_title(sig, _where(session, sig)), unit_id=sig.unit_id,
            subject_type="surveillance_signal", subject_id=sig.id,
            due_at=clock.now() + dt.timedelta(hours=pack.surveillance.review_hours))))
    if new_tasks:
        ids = tasks_service.create_tasks(session, actor, [t for _s, t in new_tasks])
        for (sig, _t), task_id in zip(new_tasks, ids, strict=True):
            sig.task_id = task_id
        audit.record(session, actor, "surveillance.signals_opened", object_type="surveillance_signal",
                     ids=[s.id for s, _t in new_tasks])
    session.flush()
    return opened, extended


def list_signals(session: Session, actor: Actor, *, status: str | None = None, limit: int = 100,
                 after_id: int | None = None) -> list[Signal]:
    actor.require("surveillance.view")
    stmt = scope.visible(select(Signal), actor, Signal).order_by(Signal.id.desc()).limit(limit)
    if status == "open":
        stmt = stmt.where(Signal.status.in_(OPEN))
    elif status:
        stmt = stmt.where(Signal.status == status)
    if after_id:
        stmt = stmt.where(Signal.id < after_id)
    return list(session.execute(stmt).scalars())


def get_signal(session: Session, actor: Actor, signal_id: int) -> Signal:
    actor.require("surveillance.view")
    return scope.get_visible(session, actor, Signal, signal_id)


def review_signal(session: Session, actor: Actor, *, signal_id: int, action: str, note: str | None = None
                  ) -> Signal:
    """An epidemiologist's review (核实研判). Needs `signal.review`."""
    actor.require("signal.review")
    signal = scope.get_visible(session, actor, Signal, signal_id)
    if action not in ACTIONS:
        raise ValidationFailed(INVALID_REVIEW(), [FieldError("action", UNKNOWN_ACTION())])
    if signal.status == "closed":
        raise Conflict(ALREADY_CLOSED(id=signal.id))
    outcome = {"dismiss": "dismissed", "investigate": "investigate", "escalate": "escalated"}[action]
    if action == "escalate":
        unit = session.get(Unit, signal.unit_id)
        if unit is None or unit.parent_id is None:
            raise ValidationFailed(INVALID_REVIEW(), [FieldError("action", NO_PARENT())])
    detail = {"note": note} if note else None
    if signal.task_id is not None:
        from fangkong.kernel.tasks.models import Task

        task = session.get(Task, signal.task_id)
        if task is not None and task.status == "open":
            tasks_service.close_tasks(session, actor.acting_for("signal.review", "task.work"),
                                      {task.id: detail}, outcome_code=outcome, by_owner=True)
    signal.outcome, signal.note = outcome, (note or None)
    signal.reviewed_at, signal.reviewed_by = clock.now(), actor.username
    where = _where(session, signal)
    if action == "dismiss":
        signal.status = "closed"
    elif action == "investigate":
        signal.status = "investigating"
        (signal.field_task_id,) = tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
            kind=kinds.FIELD, title=f"预警信号现场调查:{where} {signal.indicator}", unit_id=signal.unit_id,
            subject_type="surveillance_signal", subject_id=signal.id,
            due_at=clock.now() + dt.timedelta(hours=24))])
    else:
        parent = session.get(Unit, unit.parent_id)  # type: ignore[union-attr]
        assert parent is not None
        signal.status = "escalated"
        signal.unit_id, signal.unit_path = parent.id, parent.path
        due = clock.now() + dt.timedelta(hours=24)
        review = tasks_service.NewTask(
            kind=kinds.REVIEW, title=_title(signal, where) + "(下级上报)", unit_id=parent.id,
            subject_type="surveillance_signal", subject_id=signal.id, due_at=due)
        # escalating hands the signal to the parent unit *and* the command centre (the tree's root); when
        # the parent is the top itself, its review task is already the command centre's
        notices = [] if parent.parent_id is None else [tasks_service.NewTask(
            kind=kinds.ESCALATED, title=_title(signal, where) + "(上报指挥部)",
            unit_id=jurisdictions_service.root_unit(session).id, subject_type="surveillance_signal",
            subject_id=signal.id, due_at=due)]
        (signal.task_id, *_notice) = tasks_service.create_tasks(
            session, actor.acting_for("signal.review", "task.assign"), [review, *notices])
    audit.record(session, actor, "surveillance.signal_reviewed", object_type="surveillance_signal",
                 object_id=signal.id, review=action)
    session.flush()
    return signal


RESULTS = ("cases_found", "no_cases")
UNKNOWN_RESULT = message("signal.unknown_result", _("one of cases_found, no_cases"))
NOT_INVESTIGATING = message("signal.not_investigating", _("signal %(id)s is not under investigation"))


def record_field_result(session: Session, actor: Actor, *, signal_id: int, result: str, note: str | None = None
                        ) -> Signal:
    """The field investigation's result (现场调查结果) closes a signal under investigation: `cases_found`
    (the cases go on to tracing and intake) or `no_cases`; its field task is closed with the same
    outcome. Needs `signal.review`."""
    actor.require("signal.review")
    signal = scope.get_visible(session, actor, Signal, signal_id)
    if result not in RESULTS:
        raise ValidationFailed(INVALID_REVIEW(), [FieldError("result", UNKNOWN_RESULT())])
    if signal.status != "investigating":
        raise Conflict(NOT_INVESTIGATING(id=signal.id))
    if signal.field_task_id is not None:
        from fangkong.kernel.tasks.models import Task

        task = session.get(Task, signal.field_task_id)
        if task is not None and task.status == "open":
            tasks_service.close_tasks(session, actor.acting_for("signal.review", "task.work"),
                                      {task.id: {"note": note} if note else None}, outcome_code=result,
                                      by_owner=True)
    signal.status, signal.outcome = "closed", result
    if note:
        signal.note = note
    signal.reviewed_at, signal.reviewed_by = clock.now(), actor.username
    audit.record(session, actor, "surveillance.field_result", object_type="surveillance_signal",
                 object_id=signal.id, result=result)
    session.flush()
    return signal


def curve(session: Session, actor: Actor, *, series_key: str, indicator: str, since: dt.date | None = None
          ) -> list[Verdict]:
    """The verdicts of one series in day order (the epidemic curve: observed, upper bound, alarms)."""
    actor.require("surveillance.view")
    stmt = scope.visible(select(Verdict), actor, Verdict).where(
        Verdict.series_key == series_key, Verdict.indicator == indicator).order_by(Verdict.day)
    if since is not None:
        stmt = stmt.where(Verdict.day >= since)
    return list(session.execute(stmt).scalars())


def open_signal_counts(session: Session, base: Unit, *, at: dt.datetime) -> dict[str, int]:
    """The command centre's 未处置预警 at `at`: signals opened before `at` and not closed by then, per unit
    path of the signal (its current owner: an escalated signal counts at the unit it was handed to). A
    closed signal's closing time is its last review (`reviewed_at`: dismissal or the field result)."""
    from sqlalchemy import func, or_

    stmt = scope.within(select(Signal.unit_path, func.count()).where(
        Signal.opened_at < at,
        or_(Signal.status.in_(OPEN), Signal.reviewed_at.is_(None), Signal.reviewed_at >= at))
        .group_by(Signal.unit_path), base, Signal)
    return {path: int(n) for path, n in session.execute(stmt)}
