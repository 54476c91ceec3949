"""Households that may not leave (封控区服务保障): help requests (求助) from the resident's phone page,
the hotline's form or community staff, each a task for the person's grid due by kind (pack) and
escalated by the kernel when late; served or closed with audit; the person follows its state with a
token. Special-needs lists per zone (独居老人、残疾、孕产妇、慢病治疗中) so help is planned."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list
from fangkong.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.messages import _, labels, message
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import HELP_KINDS
from fangkong.zones.kinds import HELP
from fangkong.zones.models import HelpRequest, SpecialNeed, Zone, ZoneResident

SPECIAL_NEEDS: tuple[str, ...] = ("elderly_alone", "disabled", "pregnant", "chronic_treatment")

INVALID_HELP = message("help.invalid", _("invalid help request"))
UNKNOWN_KIND = message("help.unknown_kind", _("one of medical, emergency, medicine, supplies, psychological, other"))
NOT_FOUND_PERSON = message("help.person_not_found", _("no resident of a zone with this ID number and phone"))
ALREADY_DONE = message("help.already_done", _("help request %(id)s is already %(status)s"))
UNKNOWN_NEED = message("help.unknown_need", _("one of elderly_alone, disabled, pregnant, chronic_treatment"))
OUTCOME_REQUIRED = message("help.outcome_required", _("say what was done"))

labels("help_kind", {"medical": _("Medical care (dialysis, pregnancy, chemotherapy …)"),
                     "emergency": _("Emergency"), "medicine": _("Medicine"), "supplies": _("Daily supplies"),
                     "psychological": _("Psychological support"), "other": _("Other")})
labels("help_status", {"open": _("Waiting"), "served": _("Served"), "closed": _("Closed")})
labels("help_via", {"phone": _("Resident's phone"), "hotline": _("Hotline"), "staff": _("Community staff")})
labels("special_need", {"elderly_alone": _("Elderly living alone"), "disabled": _("Disabled"),
                        "pregnant": _("Pregnant"), "chronic_treatment": _("Chronic illness on treatment")})
labels("audit_action", {"help.requested": _("Help requested"), "help.served": _("Help served"),
                        "help.closed": _("Help request closed"), "help.special_need": _("Special need recorded")})
labels("record", {"zone_help_request": _("help request")})


def _active_zone_of(session: Session, person_id: int) -> Zone | None:
    """The strictest active zone the person lives in (high first), if any."""
    rows = session.execute(select(Zone).join(ZoneResident, ZoneResident.zone_id == Zone.id).where(
        ZoneResident.person_id == person_id, ZoneResident.ended_at.is_(None), Zone.status == "active")).scalars()
    rank = {"high": 3, "medium": 2, "low": 1}
    return max(rows, key=lambda z: (rank.get(z.level, 0), -z.id), default=None)


def nearest_hospital(session: Session, person: Person) -> str | None:
    """The designated hospital nearest the person by jurisdiction: a fever clinic (sentinel site) in the
    deepest unit the person's unit shares with it."""
    from fangkong.kernel.places.models import Place

    best: tuple[int, str] | None = None
    for name, path in session.execute(select(Place.name, Place.unit_path).where(
            Place.kind == "sentinel", Place.category == "fever_clinic")).all():
        shared = 0
        for a, b in zip(person.unit_path.strip("/").split("/"), path.strip("/").split("/"), strict=False):
            if a != b:
                break
            shared += 1
        if best is None or shared > best[0]:
            best = (shared, name)
    return best[1] if best else None


def request_help(session: Session, actor: Actor, *, person_id: int, kind: str, detail: str = "",
                 via: str = "staff") -> HelpRequest:
    """A help request for a resident (求助): a task for the person's grid due by kind (pack
    `zones.help_due_hours`; 急症 at once, with the nearest designated hospital named)."""
    if actor.role != "citizen":
        actor.require("task.work")
    if kind not in HELP_KINDS:
        raise ValidationFailed(INVALID_HELP(), [FieldError("kind", UNKNOWN_KIND())])
    person = session.get(Person, person_id)
    if person is None or (actor.role != "citizen" and not scope.sees(actor, person)):
        raise ValidationFailed(INVALID_HELP(), [FieldError("person", NOT_FOUND_PERSON())])
    from fangkong.kernel.tasks import service as tasks_service

    pack = policy_service.active_pack(session)
    now = clock.now()
    hours = pack.zones.help_due_hours.get(kind, 24.0)
    zone = _active_zone_of(session, person.id)
    hospital = nearest_hospital(session, person) if kind in ("emergency", "medical") else None
    req = HelpRequest(zone_id=zone.id if zone else None, person_id=person.id, kind=kind, detail=detail.strip()[:500],
                      via=via if via in ("phone", "hotline", "staff") else "staff", status="open", created_at=now,
                      created_by=actor.username, due_at=now + dt.timedelta(hours=hours), hospital=hospital,
                      token=secrets.token_urlsafe(16)[:22], unit_id=person.unit_id, unit_path=person.unit_path)
    session.add(req)
    session.flush()
    who = person.name or person.phone_masked or f"#{person.id}"
    doer = actor.acting_for("task.work", "task.view")  # a resident's own request holds task.work for this alone
    [req.task_id] = tasks_service.create_tasks(session, doer, [tasks_service.NewTask(
        kind=HELP, title=f"{'【急症】' if kind == 'emergency' else ''}封控区求助 {who}: {req.detail[:60]}",
        unit_id=person.unit_id, subject_type="zone_help_request", subject_id=req.id, due_at=req.due_at,
        policy_version=pack.version_tag, rule=f"zones.help_due_hours.{kind}",
        detail={"kind": kind, "hospital": hospital})])
    session.flush()
    audit.record(session, actor, "help.requested", object_type="zone_help_request", object_id=req.id,
                 person_id=person.id, kind=kind, via=req.via, due_hours=hours, zone_id=req.zone_id,
                 policy_version=pack.version_tag, rule=f"zones.help_due_hours.{kind}")
    return req


def request_help_by_resident(session: Session, *, id_number: str, phone: str, kind: str, detail: str = "",
                             ip: str | None = None) -> HelpRequest | None:
    """The resident's own phone page: ID number and the phone registered with it must both match a
    person living in an active zone; None otherwise (never saying which was wrong)."""
    from fangkong.kernel.auth.actor import Actor as _Actor

    # the resident is the actor (audit names "citizen"), holding only what opening the grid's task needs
    citizen = _Actor(None, "citizen", "citizen", None, "/", frozenset({"task.work"}), ip)
    person = people_service.find_by_id_number(session, id_number)
    if person is not None and (not phone.strip() or person not in people_service.find_by_phone(session, phone)):
        person = None
    if person is not None and _active_zone_of(session, person.id) is None:
        person = None
    if person is None:
        audit.record(session, citizen, "help.requested", object_type="zone_help_request", object_id=None,
                     found=False)
        return None
    return request_help(session, citizen, person_id=person.id, kind=kind, detail=detail, via="phone")


def by_token(session: Session, token: str) -> HelpRequest | None:
    """The request the person follows (its state), by the token they were given."""
    if not token or len(token) > 32:
        return None
    return session.execute(select(HelpRequest).where(HelpRequest.token == token)).scalars().first()


def get_request(session: Session, actor: Actor, request_id: int) -> HelpRequest:
    actor.require("task.view")
    return scope.get_visible(session, actor, HelpRequest, request_id)


def queue(session: Session, actor: Actor, *, status: str | None = "open", zone_id: int | None = None,
          limit: int = 500) -> list[tuple[HelpRequest, Person]]:
    """The community staff's queue: requests in the actor's area, the most urgent (earliest due) first."""
    actor.require("task.view")
    stmt = scope.visible(select(HelpRequest, Person).join(Person, Person.id == HelpRequest.person_id), actor,
                         HelpRequest)
    if status:
        stmt = stmt.where(HelpRequest.status == status)
    if zone_id is not None:
        stmt = stmt.where(HelpRequest.zone_id == zone_id)
    return [(r, p) for r, p in session.execute(stmt.order_by(HelpRequest.due_at, HelpRequest.id).limit(limit)).all()]


def finish(session: Session, actor: Actor, *, request_id: int, status: str, outcome: str) -> HelpRequest:
    """Serve (已服务) or close (关闭: withdrawn, duplicate …) a request with what was done; its task
    closes with it. Audited."""
    from fangkong.kernel.tasks import service as tasks_service

    actor.require("task.work")
    req = get_request(session, actor, request_id)
    if req.status != "open":
        raise Conflict(ALREADY_DONE(id=req.id, status=req.status))
    if status not in ("served", "closed"):
        raise ValidationFailed(INVALID_HELP(), [FieldError("status", UNKNOWN_KIND())])
    if not outcome.strip():
        raise ValidationFailed(INVALID_HELP(), [FieldError("outcome", OUTCOME_REQUIRED())])
    now = clock.now()
    req.status, req.served_at, req.served_by, req.outcome = status, now, actor.username, outcome.strip()[:500]
    if req.task_id is not None:
        doer = actor.acting_for("task.work", "task.view")
        task = tasks_service.get_task(session, doer, req.task_id)
        if task.status == "open":
            tasks_service.complete_task(session, doer, req.task_id, outcome_code=status,
                                        outcome={"note": req.outcome[:200]}, by_owner=True)
    session.flush()
    audit.record(session, actor, f"help.{status}", object_type="zone_help_request", object_id=req.id,
                 person_id=req.person_id, kind=req.kind, late=now > req.due_at)
    return req


def record_special_need(session: Session, actor: Actor, *, person_id: int, need: str, note: str = ""
                        ) -> SpecialNeed:
    """A resident's special need from the community's records (idempotent per person and need)."""
    actor.require("task.work")
    if need not in SPECIAL_NEEDS:
        raise ValidationFailed(INVALID_HELP(), [FieldError("need", UNKNOWN_NEED())])
    person = people_service.get_person(session, actor, person_id, audit_view=False)
    found = session.execute(select(SpecialNeed).where(SpecialNeed.person_id == person.id,
                                                      SpecialNeed.need == need)).scalars().first()
    if found is not None:
        return found
    row = SpecialNeed(person_id=person.id, need=need, note=note.strip()[:200], recorded_at=clock.now(),
                      recorded_by=actor.username, unit_id=person.unit_id, unit_path=person.unit_path)
    session.add(row)
    session.flush()
    audit.record(session, actor, "help.special_need", object_type="person", object_id=person.id, need=need)
    return row


def record_special_needs(session: Session, actor: Actor, items: Sequence[tuple[int, str, str]]) -> list[bool]:
    """Many residents' special needs at once (the community's file): (person id, need, note) each;
    returns, in order, whether each was new (a person and need already recorded is left as it is).
    One audit entry names every new record."""
    actor.require("task.work")
    bad = [i for i, (_p, need, _n) in enumerate(items) if need not in SPECIAL_NEEDS]
    if bad:
        raise ValidationFailed(INVALID_HELP(), [FieldError(f"items[{i}].need", UNKNOWN_NEED()) for i in bad[:20]])
    pids = sorted({p for p, _n, _t in items})
    stored: set[tuple[int, str]] = set()
    units: dict[int, tuple[int, str]] = {}
    for chunk in chunks(pids):
        stored.update((pid, need) for pid, need in session.execute(select(SpecialNeed.person_id, SpecialNeed.need)
                                                                    .where(in_list(session, SpecialNeed.person_id, chunk))))
        units.update((pid, (uid, path)) for pid, uid, path in session.execute(
            scope.visible(select(Person.id, Person.unit_id, Person.unit_path), actor, Person).where(
                in_list(session, Person.id, chunk))))
    now = clock.now()
    out: list[bool] = []
    new: list[SpecialNeed] = []
    for pid, need, note in items:
        if pid not in units:
            raise NotFound(record_not_found("person", pid))
        if (pid, need) in stored:
            out.append(False)
            continue
        stored.add((pid, need))
        new.append(SpecialNeed(person_id=pid, need=need, note=(note or "").strip()[:200], recorded_at=now,
                               recorded_by=actor.username, unit_id=units[pid][0], unit_path=units[pid][1]))
        out.append(True)
    if new:
        session.add_all(new)
        session.flush()
        audit.record(session, actor, "help.special_need", object_type="person",
                     object_id=new[0].person_id if len(new) == 1 else None, count=len(new),
                     ids=audit.compact_ids(n.id for n in new), persons=audit.compact_ids(n.person_id for n in new),
                     needs=dict(Counter(n.need for n in new)))
    return out


def elderly_alone_from_registry(session: Session, actor: Actor, zone_id: int) -> list[Person]:
    """Residents of the zone the registry shows as elderly living alone (独居老人, from the registry's
    attributes): the only person registered at their address, at least the pack's `elderly_alone_age`
    years old today — unless the community already recorded them as such."""
    actor.require("zone.view")
    age = policy_service.active_pack(session).zones.elderly_alone_age
    today = clock.to_local(clock.now()).date()  # type: ignore[union-attr]
    try:
        born_by = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        born_by = today.replace(year=today.year - age, day=28)
    alone = (select(ZoneResident.address_id).where(ZoneResident.zone_id == zone_id, ZoneResident.ended_at.is_(None),
                                                   ZoneResident.address_id.is_not(None))
             .group_by(ZoneResident.address_id).having(func.count(func.distinct(ZoneResident.person_id)) == 1))
    recorded = select(SpecialNeed.person_id).where(SpecialNeed.need == "elderly_alone")
    stmt = scope.visible(select(Person).join(ZoneResident, ZoneResident.person_id == Person.id).where(
        ZoneResident.zone_id == zone_id, ZoneResident.ended_at.is_(None), ZoneResident.address_id.in_(alone),
        Person.birth_date.is_not(None), Person.birth_date <= born_by, Person.id.not_in(recorded)), actor, ZoneResident)
    return list(session.execute(stmt.order_by(ZoneResident.unit_id, Person.id)).scalars().unique())


def special_needs_of_zone(session: Session, actor: Actor, zone_id: int) -> list[tuple[SpecialNeed, Person]]:
    """The zone's residents with special needs (in the actor's area), by grid."""
    actor.require("zone.view")
    stmt = scope.visible(select(SpecialNeed, Person).join(Person, Person.id == SpecialNeed.person_id).join(
        ZoneResident, ZoneResident.person_id == SpecialNeed.person_id).where(
        ZoneResident.zone_id == zone_id, ZoneResident.ended_at.is_(None)), actor, SpecialNeed)
    return [(n, p) for n, p in session.execute(stmt.order_by(SpecialNeed.unit_id, SpecialNeed.person_id)).all()]


def requests_of(session: Session, person_ids: Sequence[int]) -> list[HelpRequest]:
    return list(session.execute(select(HelpRequest).where(HelpRequest.person_id.in_(list(person_ids)))).scalars())
