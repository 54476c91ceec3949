"""Intake reports: daily clearance (日产日清) with the three clocks, and reconciliation (数据闭环)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.intake.models import AssistRequest, Lead
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks.models import Task

#: the three steps of a lead's clocks: (name, from, to)
STEPS = (("received_known", "received_at", "known_at"), ("known_managed", "known_at", "managed_at"),
         ("managed_controlled", "managed_at", "controlled_at"))


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(s[lo] + (s[hi] - s[lo]) * (pos - lo), 1)


def _stats(rows: list[Any], cutoff: dt.datetime, now: dt.datetime) -> dict[str, Any]:
    cleared = [r for r in rows if r.managed_at is not None]
    out: dict[str, Any] = {
        "received": len(rows),
        "cleared": len(cleared),
        "open": len(rows) - len(cleared),
        "overdue": sum(1 for r in rows if r.managed_at is None and r.status not in ("closed",)
                       and r.due_at is not None and r.due_at < now),
        "not_cleared_by_cutoff": sum(1 for r in rows if r.managed_at is None or r.managed_at > cutoff),
    }
    for name, a, b in STEPS:
        minutes = [(getattr(r, b) - getattr(r, a)).total_seconds() / 60 for r in rows
                   if getattr(r, a) is not None and getattr(r, b) is not None]
        out[f"{name}_median_min"] = percentile(minutes, 0.5)
        out[f"{name}_p90_min"] = percentile(minutes, 0.9)
    out["daily_clearance_ok"] = out["not_cleared_by_cutoff"] == 0
    return out


def _clearance_query(session: Session, actor: Actor, day: dt.date, unit_id: int | None
                     ) -> tuple[Unit, dt.datetime, Any]:
    """(unit, the day's cut-off, the visible leads received that day in the unit's subtree with their
    verification task's due time and owning unit)."""
    unit = scope.base_unit(session, actor, unit_id)
    start, end = clock.local_day_bounds(day)
    pack = policy_service.active_pack(session)
    local_midnight = dt.datetime.combine(day, dt.time(0), tzinfo=clock.tz())
    cutoff = (local_midnight + pack.clearance_cutoff).astimezone(dt.UTC)
    stmt = (select(Lead.id, Lead.unit_id, Lead.status, Lead.received_at, Lead.known_at, Lead.managed_at,
                   Lead.controlled_at, Task.due_at, Unit.code, Unit.name, Lead.channel, Lead.person_id,
                   Lead.name.label("person_name"), Lead.unit_path)
            .join(Unit, Unit.id == Lead.unit_id)
            .outerjoin(Task, Task.id == Lead.verification_task_id)
            .where(Lead.received_at >= start, Lead.received_at < end))
    return unit, cutoff, scope.visible(scope.within(stmt, unit, Lead), actor, Lead)


def clearance_rows(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None
                   ) -> Iterator[dict[str, Any]]:
    """日产日清 lead by lead (the clearance export): every lead received on `day` in the unit's subtree,
    its clocks, the verification due time, and whether it was verified by the cut-off."""
    actor.require("lead.view")
    _unit, cutoff, stmt = _clearance_query(session, actor, day, unit_id)
    now = clock.now()
    for r in session.execute(stmt.order_by(Lead.id).execution_options(yield_per=2000)):
        yield {"lead_id": r.id, "unit_code": r.code, "unit_name": r.name, "channel": r.channel,
               "person_id": r.person_id, "name": r.person_name, "status": r.status, "received_at": r.received_at,
               "known_at": r.known_at, "managed_at": r.managed_at, "controlled_at": r.controlled_at,
               "due_at": r.due_at, "cleared": r.managed_at is not None and r.managed_at <= cutoff,
               "overdue": r.managed_at is None and r.status != "closed" and r.due_at is not None
               and r.due_at < now}


def daily_clearance(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None) -> dict[str, Any]:
    """Per owning unit and in total, for leads received on `day` (local): received, cleared (verified),
    open, overdue (open past the task's due time), the median and 90th percentile minutes of each
    clock step, and 日产日清 — leads of the day not verified by the pack's cut-off (local time)."""
    report, _children = daily_clearance_by_child(session, actor, day=day, unit_id=unit_id, children=())
    return report


def daily_clearance_by_child(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None,
                             children: Sequence[Unit] | None = None) -> tuple[dict[str, Any], list[tuple[Unit, dict]]]:
    """`daily_clearance` and, from the same rows, the totals of each child unit (the clearance page's
    "by unit" table): one read of the day's leads instead of one per child. `children` defaults to the
    unit's direct children by code; pass () for none."""
    actor.require("lead.view")
    unit, cutoff, stmt = _clearance_query(session, actor, day, unit_id)
    now = clock.now()
    rows = list(session.execute(stmt.order_by(Lead.id)))
    by_unit: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        by_unit[(r.code, r.name)].append(r)
    if children is None:
        children = list(session.execute(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)).scalars())
    by_child: dict[str, list[Any]] = {c.path: [] for c in children}
    if by_child:
        for r in rows:
            # the child is the first step of the lead's unit path below the unit's own
            step = r.unit_path[len(unit.path):].split("/", 1)[0]
            if step:
                found = by_child.get(f"{unit.path}{step}/")
                if found is not None:
                    found.append(r)
    report = {
        "day": day.isoformat(),
        "unit_code": unit.code,
        "cutoff_at": clock.iso_local(cutoff),
        #: before the cut-off a lead not yet verified is pending, not yet a failure of 日产日清
        "cutoff_passed": now >= cutoff,
        "totals": _stats(rows, cutoff, now),
        "units": [{"unit_code": code, "unit_name": name, **_stats(rs, cutoff, now)}
                  for (code, name), rs in sorted(by_unit.items())],
        "not_cleared_lead_ids": [r.id for r in rows if r.managed_at is None or r.managed_at > cutoff],
    }
    return report, [(c, _stats(by_child[c.path], cutoff, now)) for c in children]


def reconciliation(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None) -> dict[str, Any]:
    """Channels set against each other for a day (数据闭环), each a list to act on:

    - `data_not_community`: persons reported by bigdata or telecom that day whom no community lead has
      reported (up to the day's end);
    - `checkpoint_not_verified`: persons seen at a checkpoint that day with no verified lead by the day's end;
    - `assist_unanswered`: assist requests (in and out) still open, created by the day's end.
    """
    actor.require("lead.view")
    unit = scope.base_unit(session, actor, unit_id)
    start, end = clock.local_day_bounds(day)

    def scoped(stmt: Any, model: Any) -> Any:
        return scope.visible(scope.within(stmt, unit, model), actor, model)

    def persons_seen(channels: tuple[str, ...]) -> dict[int, list[Any]]:
        stmt = scoped(select(Lead.person_id, Lead.id, Lead.channel, Lead.unit_id).where(
            Lead.channel.in_(channels), Lead.received_at >= start, Lead.received_at < end,
            Lead.person_id.is_not(None)), Lead)
        out: dict[int, list[Any]] = defaultdict(list)
        for r in session.execute(stmt.order_by(Lead.id)):
            out[r.person_id].append(r)
        return out

    def persons_with(cond: Any, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for i in range(0, len(ids), 500):
            stmt = select(Lead.person_id).where(Lead.person_id.in_(ids[i:i + 500]), cond).distinct()
            found.update(session.execute(stmt).scalars())
        return found

    data = persons_seen(("bigdata", "telecom"))
    community = persons_with((Lead.channel == "community") & (Lead.received_at < end), sorted(data))
    checkpoint = persons_seen(("checkpoint",))
    verified = persons_with(Lead.managed_at.is_not(None) & (Lead.managed_at < end), sorted(checkpoint))
    names = _names(session, sorted(set(data) | set(checkpoint)))

    def items(found: dict[int, list[Any]], keep: set[int]) -> list[dict[str, Any]]:
        return [{"person_id": pid, "name": names.get(pid), "channels": sorted({r.channel for r in rs}),
                 "lead_ids": [r.id for r in rs]} for pid, rs in sorted(found.items()) if pid in keep]

    assist = session.execute(scoped(select(AssistRequest).where(
        AssistRequest.status == "open", AssistRequest.created_at < end), AssistRequest).order_by(AssistRequest.id)
    ).scalars()
    return {
        "day": day.isoformat(),
        "unit_code": unit.code,
        "data_not_community": items(data, set(data) - community),
        "checkpoint_not_verified": items(checkpoint, set(checkpoint) - verified),
        "assist_unanswered": [{"id": a.id, "direction": a.direction, "person_id": a.person_id,
                               "lead_id": a.lead_id, "region": a.region,
                               "created_at": clock.iso_local(a.created_at)} for a in assist],
    }


def _names(session: Session, ids: list[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for i in range(0, len(ids), 500):
        out.update(dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids[i:i + 500]))).all()))
    return out


@dataclass(frozen=True)
class LeadFact:
    """A lead's clocks for the command centre's indicators (no personal data): the owning unit's path,
    receipt, the three clock times, closure and the verification due time (the task's, else receipt
    plus the pack's `sla_hours.lead_verify`)."""

    unit_path: str
    received_at: dt.datetime
    known_at: dt.datetime | None
    managed_at: dt.datetime | None
    controlled_at: dt.datetime | None
    closed_at: dt.datetime | None
    due_at: dt.datetime


def lead_facts(session: Session, base: Unit, *, start: dt.datetime, cutoff: dt.datetime) -> list[LeadFact]:
    """The leads of `base`'s subtree that a day [start, cutoff) can count (指挥部指标): received before
    the cut-off and either received in the window, not verified before the window, or with a clock
    step in it. `base` must be a unit the caller found visible (`scope.visible_unit`); the answer is
    figures only, so the caller's permission is the command centre's own."""
    pack = policy_service.active_pack(session)
    hours = pack.sla_hours["lead_verify"].hours if "lead_verify" in pack.sla_hours else 24
    stmt = (select(Lead.unit_path, Lead.received_at, Lead.known_at, Lead.managed_at, Lead.controlled_at,
                   Lead.closed_at, Task.due_at)
            .outerjoin(Task, Task.id == Lead.verification_task_id)
            .where(Lead.received_at < cutoff,
                   or_(Lead.received_at >= start, Lead.managed_at.is_(None), Lead.managed_at >= start,
                       Lead.known_at >= start, Lead.controlled_at >= start)))
    stmt = scope.within(stmt, base, Lead)
    late = dt.timedelta(hours=hours)
    return [LeadFact(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or r[1] + late) for r in session.execute(stmt)]


def lead_facts_by_id(session: Session, lead_ids: Sequence[int]) -> dict[int, LeadFact]:
    """`LeadFact`s of the given leads by id (a contact's lead, followed by the command centre's
    `contacts.under_control`); figures only, not narrowed: the caller narrows by `unit_path`."""
    pack = policy_service.active_pack(session)
    late = dt.timedelta(hours=pack.sla_hours["lead_verify"].hours if "lead_verify" in pack.sla_hours else 24)
    ids = sorted({int(i) for i in lead_ids})
    out: dict[int, LeadFact] = {}
    for i in range(0, len(ids), 500):
        for r in session.execute(select(Lead.id, Lead.unit_path, Lead.received_at, Lead.known_at, Lead.managed_at,
                                        Lead.controlled_at, Lead.closed_at, Task.due_at)
                                 .outerjoin(Task, Task.id == Lead.verification_task_id)
                                 .where(Lead.id.in_(ids[i:i + 500]))):
            out[r[0]] = LeadFact(r[1], r[2], r[3], r[4], r[5], r[6], r[7] or r[2] + late)
    return out
