"""Positive pools (混采阳性处置) and individual results.

A positive pool at once puts every person in the tube under temporary control (control's service),
hands each to intake as a lead on the internal `testing` channel (category `positive_pool_member`,
through intake's own ingestion and person matcher) and gives their grid a single-tube retest task
due within the policy's hours. The individual result then resolves the person: positive → a case
candidate for tracing; negative → released from the temporary measure.

The calls into intake and control are each isolated in one function here (`_start_temporary_control`,
`_hand_to_intake`, `_release_temporary_control`), so a change of their interfaces touches one place.
Consequences are carried out as the user who sent the result (`Actor.acting_for("testing.result", …)`:
a lab cannot start measures or hand in leads by itself, but its result sets them off), so every row
they cause is audited as that user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.people import crypto
from fangkong.kernel.people.models import Person
from fangkong.kernel.tasks import service as tasks_service
from fangkong.testing import kinds
from fangkong.testing.models import CaseCandidate, PoolFollowUp, Tube
from fangkong.testing.service import common

CATEGORY = "positive_pool_member"
RULE = "testing.positive_pool"
#: what a result's consequences need beyond `testing.result` (see `Actor.acting_for`)
CONSEQUENCES = ("lead.import", "measure.start", "task.view", "task.work")


def _doer(actor: Actor) -> Actor:
    return actor.acting_for("testing.result", *CONSEQUENCES)


def on_positive_pool(session: Session, actor: Actor, *, tube: Tube,
                     persons: Sequence[tuple[int, dt.datetime]]) -> bool:
    """Set off the positive-pool actions for `tube` once (later calls do nothing). True when acted."""
    if tube.pool_actions_at is not None:
        return False
    doer = _doer(actor)
    now = clock.now()
    tube.pool_actions_at = now
    p = common.pack(session)
    within, rule = common.retest_within(p)
    person_ids = [pid for pid, _ in persons]
    people = {x.id: x for x in session.execute(select(Person).where(Person.id.in_(person_ids))).scalars()}
    follow_ups: list[PoolFollowUp] = []
    for pid in person_ids:
        person = people[pid]
        measure_id = _start_temporary_control(session, doer, person_id=pid, tube=tube, at=now)
        task = tasks_service.open_task_for(session, kind=kinds.RETEST, subject_type="person", subject_id=pid)
        if task is None:
            who = person.name or person.phone_masked or person.id_number_masked or f"#{pid}"
            [task_id] = tasks_service.create_tasks(session, doer, [tasks_service.NewTask(
                kind=kinds.RETEST, title=f"混采阳性单管复核 {who}", unit_id=person.unit_id,
                subject_type="person", subject_id=pid, due_at=now + within, policy_version=p.version_tag,
                rule=rule, detail={"tube_barcode": tube.barcode, "tube_id": tube.id})])
            task = tasks_service.get_task(session, doer, task_id)
        fu = PoolFollowUp(tube_id=tube.id, person_id=pid, status="awaiting_retest", measure_id=measure_id,
                          retest_task_id=task.id, retest_due_at=task.due_at or now + within, created_at=now,
                          unit_id=person.unit_id, unit_path=person.unit_path)
        session.add(fu)
        follow_ups.append(fu)
    session.flush()
    leads = _hand_to_intake(session, doer, tube=tube, persons=[people[pid] for pid in person_ids])
    for fu in follow_ups:
        fu.lead_id = leads.get(fu.person_id)
    session.flush()
    audit.record(session, doer, "testing.positive_pool", object_type="tube", object_id=tube.id,
                 barcode=tube.barcode, persons=len(person_ids), leads=len(leads), reported_by=actor.username,
                 retest_within_hours=within.total_seconds() / 3600, rule=rule)
    return True


def on_individual_result(session: Session, actor: Actor, *, tube: Tube, person_id: int) -> None:
    """A single-person tube's standing result resolves the person's open positive-pool follow-ups
    sampled before it; a positive single tube makes the person a case candidate either way."""
    if tube.collected_at is None or tube.result not in ("negative", "positive"):
        return
    doer = _doer(actor)
    now = clock.now()
    open_fus = session.execute(
        select(PoolFollowUp).join(Tube, Tube.id == PoolFollowUp.tube_id).where(
            PoolFollowUp.person_id == person_id, PoolFollowUp.status == "awaiting_retest",
            PoolFollowUp.tube_id != tube.id, Tube.collected_at <= tube.collected_at)).scalars().all()
    person = session.get(Person, person_id)
    assert person is not None
    if tube.result == "positive":
        exists = session.execute(select(CaseCandidate.id).where(CaseCandidate.person_id == person_id,
                                                                CaseCandidate.tube_id == tube.id)).first()
        if exists is None:
            session.add(CaseCandidate(person_id=person_id, tube_id=tube.id, via="retest" if open_fus else "single_tube",
                                      collected_at=tube.collected_at, reported_at=tube.reported_at, created_at=now,
                                      unit_id=person.unit_id, unit_path=person.unit_path))
            # a person under a measure: it converts, and the extensions restart others (issue #12)
            from fangkong.control import service as control_service

            control_service.positive_reported(session, doer, person_id=person_id,
                                              reported_at=tube.reported_at or now)
    for fu in open_fus:
        fu.status, fu.resolved_at, fu.resolved_by_tube_id = tube.result, now, tube.id
        if tube.result == "negative" and fu.measure_id is not None and _release_temporary_control(
                session, doer, measure_id=fu.measure_id, tube=tube):
            fu.released_at = now
        task_id = fu.retest_task_id
        if task_id is not None:
            task = tasks_service.get_task(session, doer, task_id)
            if task.status == "open":
                # closed by the lab's result itself (the owning flow), not by a result typed in
                tasks_service.complete_task(session, doer, task_id, outcome_code=tube.result,
                                            outcome={"tube_barcode": tube.barcode}, by_owner=True)
    session.flush()
    if open_fus or tube.result == "positive":
        audit.record(session, doer, "testing.individual_result", object_type="person", object_id=person_id,
                     tube_id=tube.id, result=tube.result, follow_ups=[f.id for f in open_fus],
                     reported_by=actor.username)


def awaiting_retest(session: Session, person_ids: Sequence[int]) -> set[int]:
    """Those of these persons with a positive pool's follow-up awaiting its retest (one query)."""
    if not person_ids:
        return set()
    from fangkong.kernel import bulk

    return set(session.execute(select(PoolFollowUp.person_id).where(
        PoolFollowUp.status == "awaiting_retest",
        bulk.in_list(session, PoolFollowUp.person_id, person_ids))).scalars())


def follow_ups(session: Session, *, tube_id: int | None = None, person_id: int | None = None) -> list[PoolFollowUp]:
    stmt = select(PoolFollowUp).order_by(PoolFollowUp.id)
    if tube_id is not None:
        stmt = stmt.where(PoolFollowUp.tube_id == tube_id)
    if person_id is not None:
        stmt = stmt.where(PoolFollowUp.person_id == person_id)
    return list(session.execute(stmt).scalars())


# ------------------------------------------------------------------------- other capabilities' services

def _start_temporary_control(session: Session, actor: Actor, *, person_id: int, tube: Tube,
                             at: dt.datetime) -> int | None:
    """Temporary control (临时管控) through control's service, unless an equal or stronger measure is
    already in force (then that measure's id). Started before the lead is ingested, so intake's decision
    sees it in force and its verification does not start a second one."""
    from fangkong.control import service as control_service

    rank = control_service.KIND_RANK
    running = control_service.measures_in_force(session, [person_id], at=at).get(person_id, [])
    strong = [m for m in running if rank.get(m.kind, 0) >= rank["temporary_control"]]
    if strong:
        return strong[0].id
    # the retest task chases the test day, so control makes no missed-test task of its own
    measure = control_service.start_measure(session, actor, person_id=person_id, category=CATEGORY,
                                            rule=RULE, started_at=at, chase_missed=False)
    return measure.id


def _hand_to_intake(session: Session, actor: Actor, *, tube: Tube, persons: Sequence[Person]) -> dict[int, int]:
    """A lead per person on intake's internal `testing` channel (person id → lead id). Idempotent by
    source_ref; intake resolves the person with its matcher from the same keys the registry holds."""
    from fangkong.intake import service as intake_service

    items: list[Any] = []
    for i, person in enumerate(persons):
        values = {
            "name": person.name or "",
            "id_number": crypto.decrypt(person.id_number_enc) if person.id_number_enc else "",
            "phone": crypto.decrypt(person.phone_enc) if person.phone_enc else "",
            "address": person.address_text or "",
            "reason": f"混采阳性管 {tube.barcode} 内人员",
            "source_ref": f"tube:{tube.barcode}:person:{person.id}",
        }
        items.append(intake_service.LeadItem(i + 1, values, {}, {"tube_barcode": tube.barcode,
                                                                 "person_id": person.id}))
    result = intake_service.ingest_leads(session, actor, channel="testing", items=items, category=CATEGORY,
                                         via="api")
    out: dict[int, int] = {}
    for person, row in zip(persons, result.rows, strict=True):
        lead_id = row.extra.get("lead_id")
        if lead_id is not None:
            out[person.id] = int(lead_id)
    return out


def _release_temporary_control(session: Session, actor: Actor, *, measure_id: int, tube: Tube) -> bool:
    """End the temporary measure after a negative retest, through control's service; False when it
    is no longer active (ended by hand meanwhile)."""
    from fangkong.control import service as control_service
    from fangkong.kernel.errors import Conflict

    try:
        control_service.end_measure(session, actor, measure_id=measure_id,
                                    reason=f"negative single-tube retest {tube.barcode}")
    except Conflict:
        return False
    return True
