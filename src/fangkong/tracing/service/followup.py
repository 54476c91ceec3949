"""What follows a contact's confirmation (后续处置): an epidemiologist upgrades a venue co-visitor to a
close contact; when a close contact turns positive (a case is registered for them) their secondary
contacts become close contacts of the new case; and a secondary contact is released at the end of
their measure only when the close contact's first tests under their own measure were negative
(9th edition) — until then their measure is held in force.

Measures are ended and held only through control's service; leads come and go through intake's;
the close contact's tests are read through testing's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake import service as intake_service
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import Conflict, NotFound, record_not_found
from fangkong.kernel.messages import _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.testing import service as testing_service
from fangkong.tracing import rules
from fangkong.tracing.models import Case, Contact
from fangkong.tracing.service import investigation as inv_service
from fangkong.tracing.service.cases import get_case
from fangkong.tracing.service.contacts import LABELS, ContactItem, _Pending, _person_values, hand_to_intake

NOT_A_COVISITOR = message("tracing.upgrade_not_colocation",
                          _("only a venue co-visitor can be upgraded to a close contact"))


def upgrade_contact(session: Session, actor: Actor, *, case_id: int, contact_id: int,
                    reason: str | None = None) -> Contact:
    """An epidemiologist's judgment (研判升级): a venue co-visitor (场所同时段人员) of the case becomes a
    close contact — a new lead on the `tracing` channel with category `close_contact`, so intake
    decides the close-contact measure. Upgrading again returns the contact unchanged; audited."""
    actor.require("contact.upgrade")
    case = get_case(session, actor, case_id)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.case_id != case.id:
        raise NotFound(record_not_found("contact", contact_id))
    if contact.kind == "colocation" and contact.tier == "close":
        return contact
    if contact.tier != "colocation":
        raise Conflict(NOT_A_COVISITOR())
    person = session.get(Person, contact.person_id) if contact.person_id is not None else None
    if person is None:
        raise Conflict(NOT_A_COVISITOR())
    tier, channel, category = rules.UPGRADE_ROUTE
    note = " ".join((reason or "").split())[:200]
    values = {**_person_values(person), "source_ref": contact.source_ref,
              "reason": f"病例 #{case.id} 的{LABELS[category]}(场所同时段人员经流调研判升级)"}
    item = intake_service.LeadItem(1, values, {}, {"case_id": case.id, "kind": "colocation", "upgraded": "true",
                                                   "last_contact_at": clock.iso_local(contact.last_contact_at),
                                                   "reason_note": note, **values})
    row = intake_service.ingest_leads(session, actor.acting_for("contact.upgrade", "lead.import"), channel=channel,
                                      items=[item], category=category,
                                      via="api").rows[0]
    previous = {"tier": contact.tier, "channel": contact.channel, "category": contact.category,
                "lead_id": contact.lead_id}
    contact.tier, contact.channel, contact.category = tier, channel, category
    contact.lead_id = row.extra.get("lead_id") or contact.lead_id
    contact.first_contact_at = contact.first_contact_at or contact.last_contact_at
    contact.detail = {**(contact.detail or {}), "upgraded": {
        "at": clock.iso_local(clock.now()), "by": actor.username, "reason": note, "previous": previous,
        "lead_report": row.status}}
    session.flush()
    audit.record(session, actor, "tracing.contact_upgraded", object_type="case", object_id=case.id,
                 contact_id=contact.id, person_id=contact.person_id, lead_id=contact.lead_id,
                 previous_lead_id=previous["lead_id"], reason=note)
    return contact


def promote_secondaries(session: Session, actor: Actor, case: Case) -> list[Contact]:
    """The case's person was a close contact of another case: each of their secondary contacts becomes
    a close contact of this case (次密接转密接), a new `close_contact` lead through intake, so the
    close-contact measure starts afresh; the secondary contact is marked `promoted_to` it. Called
    when the case is registered; audited."""
    closes = list(session.execute(select(Contact).where(
        Contact.person_id == case.person_id, Contact.tier == "close", Contact.case_id != case.id)).scalars())
    if not closes:
        return []
    secondaries = list(session.execute(select(Contact).where(
        Contact.via_contact_id.in_([c.id for c in closes]), Contact.tier == "secondary",
        Contact.promoted_to_id.is_(None), Contact.person_id.is_not(None)).order_by(Contact.id)).scalars())
    pending: list[_Pending] = []
    targets: list[list[Contact]] = []
    by_person: dict[int, int] = {}
    for sec in secondaries:
        assert sec.person_id is not None
        if sec.person_id == case.person_id:
            continue
        ref = f"case:{case.id}:person:{sec.person_id}"
        existing = session.execute(select(Contact).where(Contact.source_ref == ref)).scalar_one_or_none()
        if existing is not None:
            sec.promoted_to_id = existing.id
            continue
        if sec.person_id in by_person:  # a secondary contact of two of the person's close-contact rows
            targets[by_person[sec.person_id]].append(sec)
            continue
        person = session.get(Person, sec.person_id)
        assert person is not None
        values = {**_person_values(person), "source_ref": ref,
                  "reason": f"病例 #{case.id} 的{LABELS['close_contact']}(原为其次密接,密接转阳后升级)"}
        item = ContactItem(kind="promoted", person_id=person.id, relation=sec.relation,
                           last_contact_at=sec.last_contact_at)
        by_person[sec.person_id] = len(pending)
        pending.append(_Pending(len(pending), item, values, "close", person, None))
        targets.append([sec])
    promoted: list[Contact] = []
    if pending:
        window, _d, _r = inv_service.case_window(session, case)
        # the promotion follows from the new case (case.manage was checked), handed in as its actor
        stored = hand_to_intake(session, actor.acting_for("case.manage", "lead.import"), case, pending,
                                window_start=window[0] if window else None)
        for secs, (contact, _row) in zip(targets, stored, strict=True):
            if contact is None:
                continue
            for sec in secs:
                sec.promoted_to_id = contact.id
            promoted.append(contact)
    session.flush()
    audit.record(session, actor, "tracing.secondaries_promoted", object_type="case", object_id=case.id,
                 close_contacts=[c.id for c in closes], secondaries=[s.id for s in secondaries],
                 promoted=[c.id for c in promoted])
    return promoted


@dataclass
class ReviewResult:
    """What `review_secondary_contacts` did, by contact id."""

    released: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"released": len(self.released), "held": len(self.held), "superseded": len(self.superseded),
                "waiting": len(self.waiting)}


def _due_at(measure: Any) -> dt.datetime | None:
    """The end of the measure by its schedule (the last phase's end), kept when the measure is held."""
    phases = measure.phases or []
    end = phases[-1].get("end_at") if phases else None
    if end:
        return dt.datetime.fromisoformat(end)
    return measure.planned_end_at  # type: ignore[no-any-return]


def review_secondary_contacts(session: Session, actor: Actor) -> ReviewResult:
    """Release or hold each secondary contact under measure (密接的密接解除研判; the job
    `tracing.secondary_release`, run at least daily):

    - promoted (their close contact turned positive): their secondary measure ends once the new
      close-contact lead is settled (under control or closed); until then it is held;
    - otherwise, by the close contact's first tests sampled after the close contact was controlled
      (pack `tracing.secondary_release_close_negatives`, 2 in the 9th edition): all negative → released
      at the end of the measure (day 7); pending, missing or positive → the measure is held in force
      past its planned end. A positive test of the secondary contact themselves holds it too;
    - a close contact whose lead was closed without a measure here (false lead, controlled elsewhere):
      the secondary measure runs to its scheduled end.
    """
    now = clock.now()
    pack = policy_service.active_pack(session)
    needed = pack.tracing.secondary_release_close_negatives
    result = ReviewResult()
    secs = list(session.execute(select(Contact).where(
        Contact.tier == "secondary", Contact.released_at.is_(None), Contact.lead_id.is_not(None))
        .order_by(Contact.id)).scalars())
    if not secs:
        return result
    related_ids = sorted({s.via_contact_id for s in secs if s.via_contact_id}
                         | {s.promoted_to_id for s in secs if s.promoted_to_id})
    related = {c.id: c for c in session.execute(select(Contact).where(Contact.id.in_(related_ids))).scalars()}
    states = intake_service.lead_states(session, actor, [c.lead_id for c in [*secs, *related.values()]
                                                         if c.lead_id is not None])
    for sec in secs:
        state = states.get(sec.lead_id or 0)
        if state is None or state.measure_id is None:
            continue  # not under a measure yet
        measure = control_service.get_measure(session, actor, state.measure_id)
        if measure.status != "active":
            sec.released_at, sec.release_rule = now, "secondary.measure_ended"
            continue
        if sec.promoted_to_id is not None:
            target = related.get(sec.promoted_to_id)
            target_state = states.get(target.lead_id or 0) if target is not None else None
            if target_state is not None and target_state.status in ("controlled", "closed"):
                control_service.end_measure(session, actor, measure_id=measure.id,
                                            reason=f"次密接已转为密接(病例 #{target.case_id if target else ''})")
                sec.released_at, sec.release_rule = now, "secondary.promoted"
                result.superseded.append(sec.id)
            else:
                _hold(session, actor, measure, "次密接已转为密接,待密接管控措施落实", result, sec)
            continue
        close = related.get(sec.via_contact_id or 0)
        close_state = states.get(close.lead_id or 0) if close is not None else None
        results: list[str | None] = []
        if close is not None and close.person_id is not None and close_state is not None \
                and close_state.controlled_at is not None:
            results = [r.result for r in testing_service.results_of_person(
                session, actor, person_id=close.person_id, since=close_state.controlled_at)]
        own = testing_service.results_of_person(session, actor, person_id=measure.person_id, since=measure.started_at)
        due = _due_at(measure) or now
        dropped = close_state is not None and close_state.status == "closed" and close_state.controlled_at is None
        decision = rules.secondary_release(close_results=results, needed=needed, due_at=due, now=now,
                                           close_dropped=dropped)
        if any(r.result == "positive" for r in own):
            decision = rules.Release("hold", "secondary.own_test_positive")
        if decision.action == "release":
            control_service.end_measure(session, actor, measure_id=measure.id, reason=(
                "期满解除:密接未在本地管控" if dropped else f"第7天解除:密接前{needed}次核酸检测均阴性"))
            sec.released_at, sec.release_rule = now, decision.rule
            result.released.append(sec.id)
        elif decision.action == "hold":
            _hold(session, actor, measure, f"暂缓解除:密接前{needed}次核酸检测尚未均为阴性", result, sec)
        else:
            result.waiting.append(sec.id)
        sec.detail = {**(sec.detail or {}), "release_review": {
            "at": clock.iso_local(now), "action": decision.action, "rule": decision.rule,
            "close_results": [r or "pending" for r in results[:max(needed, 1)]],
            "pack_version": pack.version_tag}}
    session.flush()
    audit.record(session, actor, "tracing.secondary_review", object_type="tracing_contact",
                 released=result.released, held=result.held, superseded=result.superseded,
                 waiting=len(result.waiting), pack_version=pack.version_tag,
                 rule="tracing.secondary_release_close_negatives")
    return result


def _hold(session: Session, actor: Actor, measure: Any, reason: str, result: ReviewResult, sec: Contact) -> None:
    if measure.planned_end_at is not None:
        control_service.hold_measure(session, actor, measure_id=measure.id, reason=reason)
    result.held.append(sec.id)
