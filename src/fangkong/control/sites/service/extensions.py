"""Extensions when someone under a measure turns positive (自新发现阳性当日起重新计算): their measure
converts; their household restarts and becomes close contacts; persons linked to them as secondary
contacts (`contact_of`) become close contacts, restart and go to central quarantine (a room-assignment
task when they have no room); and — the floors rule, a pack option — everyone in central quarantine in
the same building of the site on the same floor or a floor directly above or below restarts. Day 0 of a
restart is the positive's report date; samples before it no longer count.

The decisions are the pure `measure_rules.extensions`; this module gathers the members from the
measures and their rooms, and applies the outcome through the lifecycle's one write path
(`lifecycle.record_change`: an event with who and why, the rule and the pack version, audited).
Testing calls it (through `control.service.positive_reported`) when a single tube's positive arrives,
so positives are applied in the order they are reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control import measure_rules as mr
from fangkong.control.models import Measure
from fangkong.control.service import due, lifecycle
from fangkong.control.service import measures as measures_service
from fangkong.control.sites import kinds
from fangkong.control.sites.models import Room, RoomStay
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.messages import _, labels
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service

labels("audit_action", {"measure.restarted": _("Measure restarted (a positive nearby)")})

#: the rule each reason of a restart comes from (kept on the event)
RULES = {"household": "extensions.household", "contact_of": "extensions.contact_of", "floor": "control.floors_rule"}


def _members(session: Session, person_id: int, at: dt.datetime) -> list[mr.Member]:
    """The positive person's measures in force at `at`, and every measure that could restart with
    them: their household's, those linked to them (`contact_of`), and everyone in central quarantine
    at the sites where they stay."""
    own = list(session.execute(select(Measure).where(Measure.person_id == person_id, Measure.status == "active",
                                                     Measure.started_at <= at)).scalars())
    if not own:
        return []
    households = {m.household for m in own if m.household}
    own_stays = session.execute(select(RoomStay.site_id).where(
        RoomStay.person_id == person_id, RoomStay.from_at <= at,
        or_(RoomStay.until_at.is_(None), RoomStay.until_at > at))).scalars().all()
    conds = [Measure.person_id == person_id, Measure.contact_of == person_id]
    if households:
        conds.append(Measure.household.in_(sorted(households)))
    if own_stays:
        conds.append(Measure.id.in_(select(RoomStay.measure_id).where(
            RoomStay.site_id.in_(sorted(set(own_stays))), RoomStay.from_at <= at,
            or_(RoomStay.until_at.is_(None), RoomStay.until_at > at))))
    measures = list(session.execute(select(Measure).where(Measure.status == "active", Measure.started_at <= at,
                                                          or_(*conds))).scalars())
    rooms = {s.measure_id: (s, r) for s, r in session.execute(
        select(RoomStay, Room).join(Room, Room.id == RoomStay.room_id).where(
            RoomStay.measure_id.in_([m.id for m in measures] or [0]), RoomStay.from_at <= at,
            or_(RoomStay.until_at.is_(None), RoomStay.until_at > at)))}
    out = []
    for m in measures:
        stay, room = rooms.get(m.id, (None, None))
        central = m.phase == "central" and stay is not None and stay.arrived_at is not None
        out.append(mr.Member(
            measure_id=m.id, person_id=m.person_id, category=m.category, active_from=m.started_at,
            site_id=stay.site_id if stay else None, building=room.building if room else None,
            floor=room.floor if room else None, household=m.household, contact_of=m.contact_of,
            central_from=(stay.arrived_at if central and stay is not None else None)))
    return out


def positive_reported(session: Session, actor: Actor, *, person_id: int, reported_at: dt.datetime
                      ) -> tuple[list[mr.Conversion], list[mr.Restart]]:
    """Apply what a positive result of `person_id` reported at `reported_at` means for measures:
    conversions and restarts (see the module docstring). Nothing when the person is under no
    measure then. `actor` is the one whose action set it off, carrying `measure.start`."""
    members = _members(session, person_id, reported_at)
    if not members:
        return [], []
    pack = policy_service.active_pack(session)
    close = pack.category_code("close_contact")
    conversions, restarts = mr.extensions(members, [mr.Positive(person_id, reported_at)], clock.tz(),
                                          floors_rule=pack.control.floors_rule,
                                          floors_apart=pack.control.floors_apart, close_contact=close)
    for c in conversions:
        m = session.get(Measure, c.measure_id)
        if m is not None and m.status == "active":
            lifecycle.record_change(session, actor, m, action="converted", to_status="converted", to_phase="ended",
                                    at=c.at, reason="positive", rule="measure.conversion",
                                    detail={"reported_at": clock.iso_local(c.at)})
            due.withdraw_missed_tasks(session, actor, m, at=c.at)
    for r in restarts:
        _restart(session, actor, r, pack_close=close)
    return conversions, restarts


def _restart(session: Session, actor: Actor, r: mr.Restart, *, pack_close: str) -> None:
    m = session.get(Measure, r.measure_id)
    if m is None or m.status != "active":
        return
    old_category = m.category
    if r.category:
        m.category = r.category
    pack = lifecycle.pack_of(session, m)
    try:
        plan = mr.plan_for(pack, m.category)
    except KeyError:
        return
    m.anchor, m.anchor_on, m.counts_from = "restart", r.day0, r.at
    m.planned_end_on = mr.day_of(r.day0, plan.day_n) if plan.day_n is not None else None
    # the schedule and the due tests count again from the restart (the first phase still began at
    # the start, so the person's status before the restart reads as it was)
    laid = measures_service.schedule(pack, m.category, r.at, anchor_on=r.day0)
    phases = laid["phases"]
    if phases:
        phases[0]["start_at"] = min(lifecycle._utc(m.started_at) or r.at, r.at).isoformat()
    m.phases, m.test_dates, m.planned_end_at, m.kind = phases, laid["test_dates"], laid["planned_end_at"], laid["kind"]
    m.measure_code = pack.category(m.category).phases[0].measure
    m.stepped_down_at = None
    to_phase = "central" if r.reason != "floor" or m.phase == "central" else m.phase
    if r.reason in ("household", "contact_of"):
        to_phase = plan.first_phase
    detail = {"anchor_on": r.day0.isoformat(), "because": r.reason, "source_person_id": r.source_person_id,
              "from_category": old_category, "to_category": m.category, "needs_room": r.needs_room,
              "planned_end_on": m.planned_end_on.isoformat() if m.planned_end_on else None}
    lifecycle.record_change(session, actor, m, action="restarted", to_status="active", to_phase=to_phase,
                            at=r.at, reason=r.reason, rule=RULES.get(r.reason, r.reason), detail=detail)
    due.redate_due_tests(session, actor, m, pack, at=r.at)
    if r.needs_room:
        held = session.execute(select(RoomStay.id).where(RoomStay.measure_id == m.id,
                                                         RoomStay.until_at.is_(None))).first()
        if held is None:
            person = session.get(Person, m.person_id)
            tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
                kind=kinds.ASSIGN_ROOM, title=f"安排隔离房间 {person.name if person else '#' + str(m.person_id)}",
                unit_id=m.unit_id, subject_type="measure", subject_id=m.id, due_at=r.at + dt.timedelta(hours=6),
                policy_version=m.pack_version, rule=RULES.get(r.reason),
                detail={"measure_id": m.id, "reason": r.reason, "source_person_id": r.source_person_id})])


def apply_in_report_order(session: Session, actor: Actor, positives: Sequence[tuple[int, dt.datetime]]) -> int:
    """Several positives at once (a batch of results): applied in report order. Returns the restarts."""
    n = 0
    for pid, at in sorted(positives, key=lambda p: (p[1], p[0])):
        n += len(positive_reported(session, actor, person_id=pid, reported_at=at)[1])
    return n
