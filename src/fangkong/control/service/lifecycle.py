"""The measure lifecycle (管控措施的状态): planned → active (phase) → releasable → released; or
converted, transferred_out, cancelled. Every change is a `MeasureEvent` with who and why, and an audit
entry. The release rules are `control.measure_rules` (pure); this module feeds them the measure, the
pack that decided it and the person's single-tube results, and applies what they allow.

Control keeps no results: the capability that records them registers a *result source*
(`register_result_source`, done by `testing`): "the single-tube samples of these persons collected
between these times, with every result version".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import measure_rules as mr
from fangkong.control.models import FINISHED_STATUSES, Measure, MeasureEvent
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.errors import Conflict, FieldError, ValidationFailed
from fangkong.kernel.messages import _, labels, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack

CHUNK = 500

NOT_RELEASABLE_TESTS = message("measure.tests_missing", _(
    "measure %(id)s cannot be released: no negative result for test days %(days)s"))
NOT_RELEASABLE_DAY = message("measure.before_day_n", _(
    "measure %(id)s cannot be released before day %(n)s (%(on)s)"))
NOT_RELEASABLE_SELF = message("measure.not_releasable", _("measure %(id)s is not releasable yet"))
CONVERTED = message("measure.converted", _("measure %(id)s: the person tested positive; tracing takes over"))
NOT_IN_FORCE = message("measure.not_in_force", _("measure %(id)s is %(status)s"))
REASON_REQUIRED = message("measure.override_reason", _("an override needs a reason"))
OVERRIDE_REFUSED = message("measure.override_refused", _("override refused"))
labels("audit_action", {"measure.released": _("Measure released"), "measure.stepped_down": _("Measure stepped down"),
                        "measure.converted": _("Measure converted"), "measure.active": _("Measure activated"),
                        "measure.transferred_out": _("Measure transferred out"),
                        "measure.cancelled": _("Measure cancelled")})

#: who may release against the rule (a doctor's override): the permission of those who manage cases
#: (epidemiologists, the command centre, districts), on top of `measure.start`
OVERRIDE_PERMISSION = "case.manage"

#: (session, person ids, since, until) → person id → (tube id, collected at, result, reported at) per version
ResultSource = Callable[[Session, Sequence[int], dt.datetime, dt.datetime],
                        dict[int, list[tuple[int, dt.datetime, str | None, dt.datetime | None]]]]
_RESULTS: dict[str, ResultSource] = {}


def register_result_source(name: str, source: ResultSource) -> None:
    """Let the capability that records results answer for them (testing registers its single tubes)."""
    _RESULTS[name] = source


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=dt.UTC)


def samples_of(session: Session, person_ids: Sequence[int], since: dt.datetime, until: dt.datetime
               ) -> dict[int, list[mr.Sample]]:
    """The persons' samples as the rules read them: per tube, its first result version; a later
    positive version is a positive of its own report time (while any version is positive, the tube is)."""
    out: dict[int, list[mr.Sample]] = defaultdict(list)
    for source in _RESULTS.values():
        for pid, rows in source(session, person_ids, since, until).items():
            first: dict[int, bool] = {}
            for tube_id, collected, result, reported in rows:
                collected_utc = _utc(collected)
                assert collected_utc is not None
                if tube_id not in first:
                    first[tube_id] = True
                    out[pid].append(mr.Sample(collected_utc, result, _utc(reported), tube_id))
                elif result == "positive":
                    out[pid].append(mr.Sample(collected_utc, result, _utc(reported), tube_id))
    return out


# ------------------------------------------------------------------------------------------ reading

def pack_of(session: Session, measure: Measure) -> Pack:
    try:
        return policy_service.get_pack(session, measure.pack_version)
    except Exception:  # a pack removed since: the active one still knows the categories
        return policy_service.active_pack(session)


def day0_of(measure: Measure) -> dt.date:
    return measure.anchor_on or clock.to_local(measure.started_at).date()  # type: ignore[union-attr]


def evaluations(session: Session, measures: Sequence[Measure], *, at: dt.datetime) -> dict[int, mr.Evaluation]:
    """What the rules say of each measure at `at` (results reported after `at` are not seen)."""
    tz = clock.tz()
    packs: dict[str, tuple[Pack, dt.timedelta]] = {}
    plans: dict[tuple[str, str], mr.MeasurePlan | None] = {}  # one plan per pack version and category
    out: dict[int, mr.Evaluation] = {}
    for i in range(0, len(measures), CHUNK):
        chunk = measures[i:i + CHUNK]
        since = min(m.started_at for m in chunk)
        samples = samples_of(session, sorted({m.person_id for m in chunk}), since, at + dt.timedelta(microseconds=1))
        for m in chunk:
            if m.pack_version not in packs:
                pack = pack_of(session, m)  # type: ignore[arg-type]
                packs[m.pack_version] = (pack, pack.sla("missed_test_grace") if "missed_test_grace" in pack.sla_hours
                                         else dt.timedelta(hours=12))
            pack, grace = packs[m.pack_version]
            key = (m.pack_version, m.category)
            if key not in plans:
                try:
                    plans[key] = mr.plan_for(pack, m.category)
                except KeyError:
                    plans[key] = None
            plan = plans[key]
            if plan is None:
                continue
            out[m.id] = mr.evaluate(plan, day0=day0_of(m), started_at=m.started_at,  # type: ignore[arg-type]
                                    samples=samples.get(m.person_id, []), at=at, tz=tz, grace=grace,
                                    counts_from=_utc(m.counts_from), released_at=_utc(m.released_at))
    return out


#: the columns the rules read of a measure (`evaluations`, `due_steps`): rows, not entities — a daily run
#: over 50,000 measures loads no JSON schedules and builds no ORM objects
RULE_COLUMNS = (Measure.id, Measure.person_id, Measure.category, Measure.pack_version, Measure.started_at,
                Measure.anchor_on, Measure.counts_from, Measure.released_at, Measure.phase, Measure.stepped_down_at)


# ------------------------------------------------------------------------------------------ changes

def record_change(session: Session, actor: Actor, measure: Measure, *, action: str, to_status: str,
                  to_phase: str | None, at: dt.datetime, reason: str = "", rule: str | None = None,
                  override: bool = False, detail: dict[str, Any] | None = None, audited: bool = True,
                  first: bool = False) -> MeasureEvent:
    """Change a measure's state and phase, kept as an event with who and why, and audited (unless the
    caller audits the change itself)."""
    event = MeasureEvent(
        measure_id=measure.id, person_id=measure.person_id, at=at, action=action,
        from_status=None if first else measure.status, to_status=to_status,
        from_phase=None if first else measure.phase, to_phase=to_phase, user_id=actor.user_id,
        username=actor.username[:64], reason=(reason or "")[:200], rule=rule, pack_version=measure.pack_version,
        override=override, detail=detail or {}, unit_id=measure.unit_id, unit_path=measure.unit_path)
    session.add(event)
    measure.status, measure.phase = to_status, to_phase
    if to_status in FINISHED_STATUSES and measure.ended_at is None:
        measure.ended_at, measure.end_reason = at, (reason or action)[:200]
    session.flush()
    if not first and measure.place_kind == "site" and (to_status not in ("planned", "active") or to_phase != "central"):
        from fangkong.control.sites.service import stays  # out of central quarantine: the room is left

        stays.leave_room(session, measure, at=at, reason=action)
    if not audited:
        return event
    audit.record(session, actor, f"measure.{action}", object_type="measure", object_id=measure.id,
                 person_id=measure.person_id, from_status=event.from_status, to_status=to_status,
                 from_phase=event.from_phase, to_phase=to_phase, reason=event.reason, rule=rule,
                 pack_version=measure.pack_version, override=override, **(detail or {}))
    return event


def began(session: Session, actor: Actor, measure: Measure, *, pack: Pack, at: dt.datetime,
          facts: mr.AnchorFacts) -> dict[str, Any]:
    """Fill in a new measure's lifecycle (day 0 from its category's anchor, day N, first phase) and
    record its start (the caller audits it, with what this returns)."""
    plan = mr.plan_for(pack, measure.category)
    used, day0 = mr.anchor_day(plan.anchor, facts, clock.tz())
    measure.anchor, measure.anchor_on = used, day0  # as start_measure laid out its schedule
    measure.planned_end_on = mr.day_of(day0, plan.day_n) if plan.day_n is not None else None
    status = measure.status
    detail = {"anchor": used, "anchor_on": day0.isoformat(),
              "planned_end_on": measure.planned_end_on.isoformat() if measure.planned_end_on else None}
    record_change(session, actor, measure, action="started", to_status=status if status == "planned" else "active",
                  to_phase=plan.first_phase, at=at, reason=measure.rule, rule=plan.rule, detail=detail, audited=False,
                  first=True)
    return detail


def _get_active(session: Session, actor: Actor, measure_id: int) -> Measure:
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    if measure.status != "active":
        raise Conflict(NOT_IN_FORCE(id=measure_id, status=measure.status))
    return measure


def release_measure(session: Session, actor: Actor, *, measure_id: int, at: dt.datetime | None = None,
                    override_reason: str | None = None) -> Measure:
    """Release a person (解除管控) when the rule allows it at `at`. Against the rule only with an override
    (a doctor's: `case.manage`) and its reason, audited; a positive is never released. Refusals name
    what is missing: the test days without a negative, or day N."""
    at = at or clock.now()
    measure = _get_active(session, actor, measure_id)
    ev = evaluations(session, [measure], at=at).get(measure.id)
    if ev is None:
        raise Conflict(NOT_RELEASABLE_SELF(id=measure.id))
    if ev.status == "converted":
        raise Conflict(CONVERTED(id=measure.id))
    override = ev.status != "releasable"
    if override:
        reason = (override_reason or "").strip()
        if not reason:
            if ev.planned_end_on is not None and clock.to_local(at).date() < ev.planned_end_on:  # type: ignore[union-attr]
                raise Conflict(NOT_RELEASABLE_DAY(id=measure.id, n=ev.plan.day_n, on=ev.planned_end_on.isoformat()))
            missing = ev.waiting_for()
            if missing:
                raise Conflict(NOT_RELEASABLE_TESTS(id=measure.id, days=", ".join(str(d) for d in missing)))
            raise Conflict(NOT_RELEASABLE_SELF(id=measure.id))
        actor.require(OVERRIDE_PERMISSION)
    measure.released_at = at
    record_change(session, actor, measure, action="released", to_status="released", to_phase="ended", at=at,
                  reason=(override_reason or "").strip() or "rule", rule=ev.plan.rule, override=override,
                  detail={"missing_days": list(ev.waiting_for()), "missed_days": list(ev.missed_days),
                          "releasable_on": ev.releasable_on.isoformat() if ev.releasable_on else None})
    return measure


def stepdown_measure(session: Session, actor: Actor, *, measure_id: int, at: dt.datetime | None = None) -> Measure:
    """Step a two-phase measure down (central → home monitoring) when the rule allows it."""
    at = at or clock.now()
    measure = _get_active(session, actor, measure_id)
    ev = evaluations(session, [measure], at=at).get(measure.id)
    if ev is None or ev.stepdown_at is None or ev.stepdown_at > at or ev.status == "converted":
        raise Conflict(NOT_RELEASABLE_SELF(id=measure.id))
    measure.stepped_down_at = at
    record_change(session, actor, measure, action="stepped_down", to_status="active", to_phase=ev.plan.phases[1].phase,
                  at=at, reason="rule", rule=ev.plan.rule)
    return measure


def convert_measure(session: Session, actor: Actor, *, measure_id: int, at: dt.datetime, reason: str) -> Measure:
    """The person became a case (转为病例): the measure ends as `converted`; tracing takes over."""
    measure = _get_active(session, actor, measure_id)
    record_change(session, actor, measure, action="converted", to_status="converted", to_phase="ended", at=at,
                  reason=reason)
    return measure


def change_status(session: Session, actor: Actor, *, measure_id: int, to_status: str, reason: str,
                  at: dt.datetime | None = None) -> Measure:
    """Planned → active (arrived), or an active/planned measure transferred out or cancelled, with why."""
    actor.require("measure.start")
    measure = scope.get_visible(session, actor, Measure, measure_id)
    allowed = {"planned": ("active", "transferred_out", "cancelled"), "active": ("transferred_out", "cancelled")}
    if to_status not in allowed.get(measure.status, ()):
        raise Conflict(NOT_IN_FORCE(id=measure_id, status=measure.status))
    if not reason.strip():
        raise ValidationFailed(OVERRIDE_REFUSED(), [FieldError("reason", REASON_REQUIRED())])
    phase = measure.phase if to_status == "active" else "ended"
    record_change(session, actor, measure, action=to_status, to_status=to_status, to_phase=phase,
                  at=at or clock.now(), reason=reason)
    return measure


# ------------------------------------------------------------------------------------- due steps

@dataclass(frozen=True)
class Step:
    """A due step of one measure: `stepdown` or `release` (`fangkong control release --due`)."""

    person_id: int
    measure_id: int
    action: str
    notice_no: str = ""


def due_steps(session: Session, actor: Actor, *, at: dt.datetime, site_id: int | None = None,
              measure_ids: Sequence[int] | None = None) -> list[Step]:
    """Every step the rules allow at `at` for active measures the actor sees (a site's with `site_id`,
    only these with `measure_ids`): a stepdown not yet taken, or a release. Converted persons are not
    listed."""
    actor.require("measure.start")
    stmt = scope.visible(select(*RULE_COLUMNS), actor, Measure).where(Measure.status == "active",
                                                                       Measure.started_at <= at)
    if site_id is not None:
        stmt = stmt.where(Measure.place_id == site_id)
    if measure_ids is not None:
        if not measure_ids:
            return []
        stmt = stmt.where(in_list(session, Measure.id, list(measure_ids)))
    out: list[Step] = []
    last_id = 0
    while True:
        batch = list(session.execute(stmt.where(Measure.id > last_id).order_by(Measure.id).limit(CHUNK)).all())
        if not batch:
            break
        last_id = batch[-1].id
        evs = evaluations(session, batch, at=at)
        for m in batch:
            ev = evs.get(m.id)
            if ev is None or ev.status == "converted":
                continue
            if ev.status == "releasable":
                out.append(Step(m.person_id, m.id, "release"))
            elif (ev.stepdown_at is not None and ev.stepdown_at <= at and m.stepped_down_at is None
                  and m.phase == ev.plan.first_phase):
                out.append(Step(m.person_id, m.id, "stepdown"))
    return out


def apply_due_steps(session: Session, actor: Actor, *, at: dt.datetime, site_id: int | None = None) -> list[Step]:
    """Apply every due step at `at` (the same rules and audit as one release at a time)."""
    steps = due_steps(session, actor, at=at, site_id=site_id)
    for s in steps:
        if s.action == "release":
            release_measure(session, actor, measure_id=s.measure_id, at=at)
        else:
            stepdown_measure(session, actor, measure_id=s.measure_id, at=at)
    return steps


def events_of(session: Session, measure_ids: Iterable[int], *, at: dt.datetime | None = None
              ) -> dict[int, list[MeasureEvent]]:
    """The events of these measures (up to `at`), oldest first."""
    ids = sorted(set(measure_ids))
    out: dict[int, list[MeasureEvent]] = defaultdict(list)
    for i in range(0, len(ids), CHUNK):
        stmt = select(MeasureEvent).where(in_list(session, MeasureEvent.measure_id, ids[i:i + CHUNK]))
        if at is not None:
            stmt = stmt.where(MeasureEvent.at <= at)
        for e in session.execute(stmt.order_by(MeasureEvent.at, MeasureEvent.id)).scalars():
            out[e.measure_id].append(e)
    return out
