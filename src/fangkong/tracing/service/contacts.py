"""Contacts (密接、次密接、场所同时段人员): the investigator confirms them; each becomes a lead on intake's
`tracing` or `colocation` channel, so intake decides the measure and starts the clocks.

A venue co-visitor is a risk person (category `colocation`), not a close contact, until an
epidemiologist upgrades them (`followup.upgrade_contact`). A secondary contact must have met the close contact
inside the close contact's exposure window (from their first contact with the case until they were
controlled): a contact time outside it refuses the item with an issue on `last_contact_at`; an item
without a time is accepted (someone who lives or works with the close contact met them throughout)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake import service as intake_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import ONE_OF, FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.messages import FieldIssue, Term, _, issue, message
from fangkong.kernel.people import crypto
from fangkong.kernel.people.identity import check_id_number, check_phone, name_key
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.tracing import rules
from fangkong.tracing.models import CONFIRMABLE_KINDS, Case, Contact
from fangkong.tracing.service import investigation as inv_service
from fangkong.tracing.service.cases import get_case

MAX_ITEMS = 500
#: what a lead's reason says the person is to the case
LABELS = {"close_contact": "密接", "secondary_contact": "次密接", "colocation": "场所同时段人员"}

OUTSIDE_EXPOSURE = message(
    "tracing.outside_exposure_window",
    _("%(at)s is outside the close contact's exposure window (%(start)s to %(end)s)"))
NOT_IN_PACK = message("contact.category_not_in_pack", _(
    "%(category)s is not a category of the active policy pack %(pack)s: the contact was not recorded"))


TOO_MANY = message("contacts.too_many", _("too many contacts"))
AT_MOST_ITEMS = message("contacts.at_most", _("at most %(max)s per call"))
NOT_CLOSE = message("contacts.not_close", _("not a close contact of this case"))
NOT_OF_KIND = message("contacts.not_of_kind", _("not a %(kind)s contact of this case"))
REQUIRED_FOR_KIND = message("contacts.person_required", _("required for this kind"))
GIVE_NAME = message("contacts.give_name", _("give a name, phone or ID number"))
REPEATS = message("contacts.repeats", _("repeats item %(item)s"))

@dataclass
class ContactItem:
    """One contact to confirm: a person the page listed (`person_id`), or someone named in the interview."""

    kind: str
    person_id: int | None = None
    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    relation: str | None = None
    last_contact_at: dt.datetime | None = None
    venue_id: int | None = None
    overlap_min: float | None = None
    #: for a secondary contact: the close contact (of this case) they are a contact of
    via_contact_id: int | None = None
    #: for a close contact: their first contact with the case (default: the case's window start)
    first_contact_at: dt.datetime | None = None


@dataclass
class ContactReport:
    """The answer for one item: `accepted` (contact and lead stored), `duplicate` (already confirmed:
    nothing changed) or `rejected` (nothing stored; `issues` say why)."""

    item: int
    status: str
    contact_id: int | None = None
    lead_id: int | None = None
    person_id: int | None = None
    channel: str | None = None
    category: str | None = None
    issues: list[str] = field(default_factory=list)  # `field: message` (FieldIssue where known)


@dataclass
class ContactView:
    """A confirmed contact with its lead's state (线索状态) as intake keeps it."""

    contact: Contact
    person: Person | None
    venue_name: str | None
    lead_status: str | None
    measure_code: str | None
    known_at: dt.datetime | None
    managed_at: dt.datetime | None
    controlled_at: dt.datetime | None
    #: the person's control status now, from control's service (the one every page shows)
    control: control_service.ControlStatus | None = None

    @property
    def graph_status(self) -> str:
        return rules.contact_status(self.contact.tier, self.control)


def _named_key(item: ContactItem) -> str | None:
    """A stable key for someone named in the interview: their ID number, else phone, else name
    (blind-indexed: the reference must not carry the numbers)."""
    idc = check_id_number(item.id_number) if item.id_number else None
    if idc is not None and idc.valid:
        return "i" + crypto.stable_digest(idc.value, "tracing_contact")[:20]
    ph = check_phone(item.phone) if item.phone else None
    if ph is not None and ph.valid:
        return "p" + crypto.stable_digest(ph.value, "tracing_contact")[:20]
    nk = name_key(item.name) if item.name else None
    if nk:
        return "n" + crypto.stable_digest(nk, "tracing_contact")[:20]
    return None


def _person_values(person: Person) -> dict[str, str]:
    return {
        "name": person.name or "",
        "id_number": crypto.decrypt(person.id_number_enc) if person.id_number_enc else "",
        "phone": crypto.decrypt(person.phone_enc) if person.phone_enc else "",
        "address": person.address_text or "",
    }


class _Allowed:
    """The persons the case's own sources name, computed once per call and only when needed."""

    def __init__(self, session: Session, actor: Actor, case: Case, person: Person) -> None:
        self.session, self.actor, self.case, self.person = session, actor, case, person
        self._sets: dict[str, Any] = {}

    def household(self) -> set[int]:
        if "household" not in self._sets:
            self._sets["household"] = {p.id for p in inv_service.household_of(self.session, self.person)}
        return self._sets["household"]  # type: ignore[no-any-return]

    def workplace(self) -> set[int]:
        if "workplace" not in self._sets:
            self._sets["workplace"] = {p.id for p in inv_service.colleagues_of(self.session, self.person)}
        return self._sets["workplace"]  # type: ignore[no-any-return]

    def hits(self) -> dict[int, inv_service.HitRow]:
        if "hits" not in self._sets:
            window, _d, _r = inv_service.case_window(self.session, self.case)
            found = inv_service.colocation_hits(self.session, self.actor, self.case, window) or []
            self._sets["hits"] = {h.person_id: h for h in found}
        return self._sets["hits"]  # type: ignore[no-any-return]


def _secondary_allowed(session: Session, actor: Actor, via_person_id: int | None, person: Person) -> bool:
    if scope.sees(actor, person):
        return True
    if via_person_id is None:
        return False
    via = session.get(Person, via_person_id)
    if via is None:
        return False
    return any(p.id == person.id for p in [*inv_service.household_of(session, via),
                                           *inv_service.colleagues_of(session, via)])


def _listed(session: Session, actor: Actor, allowed: _Allowed, kind: str, person: Person, via: Contact | None) -> bool:
    """Is `person` a contact of this kind by the case's own sources (or, for named people, in reach)?"""
    if kind == "household":
        return person.id in allowed.household()
    if kind == "workplace":
        return person.id in allowed.workplace()
    if kind == "colocation":
        return person.id in allowed.hits()
    if kind == "named":
        return scope.sees(actor, person)
    return _secondary_allowed(session, actor, via.person_id if via is not None else None, person)


@dataclass
class _Pending:
    """An accepted item on its way to intake."""

    index: int
    item: ContactItem
    values: dict[str, Any]
    tier: str
    person: Person | None
    via: Contact | None


def _local(at: dt.datetime) -> str:
    return clock.to_local(at).strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]


def exposure_window_of(session: Session, actor: Actor, case: Case, close: Contact
                       ) -> tuple[dt.datetime, dt.datetime]:
    """The close contact's exposure window (for their secondary contacts): from their first contact
    with the case (else the case's tracing window start) until their lead was controlled (else now)."""
    first = close.first_contact_at
    if first is None:
        window, _d, _r = inv_service.case_window(session, case)
        first = window[0] if window is not None else close.confirmed_at
    states = intake_service.lead_states(session, actor, [close.lead_id]) if close.lead_id else {}
    state = states.get(close.lead_id or 0)
    return rules.exposure_window(first_contact_at=first, controlled_at=state.controlled_at if state else None,
                                 now=clock.now())


def confirm_contacts(session: Session, actor: Actor, *, case_id: int, items: list[ContactItem]) -> list[ContactReport]:
    """Confirm contacts of a case (确认密接), one report per item, in order.

    Household members, colleagues and venue co-visitors are given by `person_id` and must be what the
    case's own sources list; named people and secondary contacts come with name, phone or ID number
    (or a person in the actor's jurisdiction). Each accepted contact is a lead through intake with
    source_ref `case:{case}:person:{person}` (or `…:named:{key}`), so confirming twice changes nothing.
    A co-visitor becomes a `colocation` lead (场所同时段人员), not a close contact; a secondary contact's
    `last_contact_at`, when given, must lie in the close contact's exposure window."""
    actor.require("contact.confirm")
    case = get_case(session, actor, case_id)
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(TOO_MANY(), [FieldError("items", AT_MOST_ITEMS(max=MAX_ITEMS))])
    subject = session.get(Person, case.person_id)
    assert subject is not None
    allowed = _Allowed(session, actor, case, subject)
    reports = [ContactReport(i + 1, "accepted") for i in range(len(items))]
    pending: list[_Pending] = []
    close = {c.id: c for c in session.execute(select(Contact).where(Contact.case_id == case.id,
                                                                   Contact.tier == "close")).scalars()}
    windows: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    seen_refs: dict[str, int] = {}
    pack = policy_service.active_pack(session)
    for i, (item, rep) in enumerate(zip(items, reports, strict=True)):
        if item.kind not in CONFIRMABLE_KINDS:
            rep.status, rep.issues = "rejected", [FieldIssue("kind", ONE_OF(choices=[
                Term(k, kind="contact_kind") for k in CONFIRMABLE_KINDS]))]
            continue
        tier, channel, category = rules.route(item.kind)
        rep.channel, rep.category = channel, category
        if not pack.has_category(category):  # 二十条 on: 不再判定密接的密接
            known = policy_service.known_category(category)
            rep.status, rep.issues = "rejected", [issue("kind", NOT_IN_PACK(
                category=policy_service.pack_name("category", category, known) if known else category,
                pack=pack.title()))]
            continue
        via: Contact | None = None
        if item.kind == "secondary":
            via = close.get(item.via_contact_id or 0)
            if via is None:
                rep.status, rep.issues = "rejected", [FieldIssue("via_contact_id", NOT_CLOSE())]
                continue
            if item.last_contact_at is not None:
                window = windows.get(via.id) or windows.setdefault(via.id, exposure_window_of(session, actor, case, via))
                if not rules.in_window(item.last_contact_at, window):
                    rep.status = "rejected"
                    rep.issues = [FieldIssue("last_contact_at", OUTSIDE_EXPOSURE(
                        at=_local(item.last_contact_at), start=_local(window[0]), end=_local(window[1])))]
                    continue
        person: Person | None = None
        if item.person_id is not None:
            person = session.get(Person, item.person_id)
            ok = person is not None and person.id != case.person_id and _listed(
                session, actor, allowed, item.kind, person, via)
            if not ok:
                rep.status, rep.issues = "rejected", [FieldIssue("person_id", NOT_OF_KIND(
                    kind=Term(item.kind, kind="contact_kind")))]
                continue
            assert person is not None
            ref = f"case:{case.id}:person:{person.id}"
            values = _person_values(person)
            if item.kind == "colocation":
                hit = allowed.hits()[person.id]
                item.venue_id = item.venue_id or hit.venue_id
                item.last_contact_at = item.last_contact_at or hit.covisitor_scanned_at
                item.overlap_min = item.overlap_min if item.overlap_min is not None else hit.gap_min
        elif item.kind in ("household", "workplace", "colocation"):
            rep.status, rep.issues = "rejected", [FieldIssue("person_id", REQUIRED_FOR_KIND())]
            continue
        else:
            key = _named_key(item)
            if key is None:
                rep.status, rep.issues = "rejected", [FieldIssue("name", GIVE_NAME())]
                continue
            ref = f"case:{case.id}:named:{key}"
            values = {"name": item.name or "", "id_number": item.id_number or "", "phone": item.phone or "",
                      "address": item.address or ""}
        existing = session.execute(select(Contact).where(Contact.source_ref == ref)).scalar_one_or_none()
        if existing is not None or ref in seen_refs:
            rep.status = "duplicate"
            if existing is not None:
                rep.contact_id, rep.lead_id, rep.person_id = existing.id, existing.lead_id, existing.person_id
                rep.channel, rep.category = existing.channel, existing.category
            else:
                rep.issues = [FieldIssue("item", REPEATS(item=seen_refs[ref]))]
            continue
        seen_refs[ref] = i + 1
        values.update({"source_ref": ref, "reason": f"病例 #{case.id} 的{LABELS[category]}"})
        pending.append(_Pending(i, item, values, tier, person, via))

    if pending:
        window, _d, _r = inv_service.case_window(session, case)
        stored = hand_to_intake(session, actor.acting_for("contact.confirm", "lead.import"), case, pending,
                                window_start=window[0] if window else None)
        for p, (contact, row) in zip(pending, stored, strict=True):
            rep = reports[p.index]
            rep.issues = list(row.issues)
            if contact is None:
                rep.status = "rejected"
                continue
            rep.contact_id, rep.lead_id, rep.person_id = contact.id, contact.lead_id, contact.person_id
    counts = {s: sum(1 for r in reports if r.status == s) for s in ("accepted", "duplicate", "rejected")}
    audit.record(session, actor, "tracing.contacts_confirmed", object_type="case", object_id=case.id,
                 items=len(items), **counts)
    return reports


def _lead_items(case: Case, group: list[_Pending]) -> list[intake_service.LeadItem]:
    return [intake_service.LeadItem(
        n + 1, p.values, {}, {"case_id": case.id, "kind": p.item.kind, "relation": p.item.relation or "",
                              "last_contact_at": clock.iso_local(p.item.last_contact_at), **p.values})
        for n, p in enumerate(group)]


def hand_to_intake(session: Session, actor: Actor, case: Case, pending: list[_Pending], *,
                   window_start: dt.datetime | None) -> list[tuple[Contact | None, Any]]:
    """Each accepted item as a lead through intake (grouped by channel and category) and a stored
    contact; per item (contact or None when intake rejected it, intake's report row). The lead follows
    from the confirmation: it is handed in as the actor, whom callers pass as
    `actor.acting_for(<their permission>, "lead.import")`."""
    groups: dict[tuple[str, str], list[_Pending]] = defaultdict(list)
    for p in pending:
        _tier, channel, category = rules.route(p.item.kind)
        groups[(channel, category)].append(p)
    out: dict[int, tuple[Contact | None, Any]] = {}
    now = clock.now()
    for (channel, category), group in groups.items():
        result = intake_service.ingest_leads(session, actor, channel=channel, items=_lead_items(case, group),
                                             category=category, via="api")
        for p, row in zip(group, result.rows, strict=True):
            if row.status == "rejected" or row.person_id is None:
                out[id(p)] = (None, row)
                continue
            item = p.item
            first = item.first_contact_at
            if p.tier == "close" and first is None:
                first = item.last_contact_at if item.kind == "colocation" else window_start
            contact = Contact(
                case_id=case.id, person_id=row.person_id, tier=p.tier, kind=item.kind,
                via_contact_id=p.via.id if p.via is not None else None,
                name=(p.person.name if p.person is not None else p.values.get("name")) or None,
                relation=(item.relation or "").strip()[:64] or None, last_contact_at=item.last_contact_at,
                venue_id=item.venue_id, overlap_min=item.overlap_min, channel=channel, category=category,
                source_ref=p.values["source_ref"], lead_id=row.extra.get("lead_id"), confirmed_at=now,
                confirmed_by=actor.username, detail={"lead_report": row.status}, first_contact_at=first)
            session.add(contact)
            session.flush()
            out[id(p)] = (contact, row)
    return [out[id(p)] for p in pending]


def _views(session: Session, actor: Actor, contacts: list[Contact]) -> list[ContactView]:
    lead_ids = [c.lead_id for c in contacts if c.lead_id is not None]
    # the state of the leads these contacts became, through intake (the cases were checked by the caller)
    leads = intake_service.lead_states(session, actor, lead_ids) if lead_ids else {}
    pids = [c.person_id for c in contacts if c.person_id is not None]
    persons = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(pids))).scalars()} if pids else {}
    vids = [c.venue_id for c in contacts if c.venue_id is not None]
    venues = dict(session.execute(select(Place.id, Place.name).where(Place.id.in_(vids))).all()) if vids else {}
    statuses = control_service.status_of(session, pids, at=clock.now())
    out = []
    for c in contacts:
        lead = leads.get(c.lead_id or 0)
        out.append(ContactView(c, persons.get(c.person_id or 0), venues.get(c.venue_id or 0),
                               lead.status if lead else None, lead.measure_code if lead else None,
                               lead.known_at if lead else None, lead.managed_at if lead else None,
                               lead.controlled_at if lead else None, statuses.get(c.person_id or 0)))
    return out


def contact_views(session: Session, actor: Actor, case_id: int) -> list[ContactView]:
    """The case's confirmed contacts with their lead state, close contacts first, in confirmation order."""
    case = get_case(session, actor, case_id)
    return views_of_cases(session, actor, [case.id]).get(case.id, [])


def views_of_cases(session: Session, actor: Actor, case_ids: list[int]) -> dict[int, list[ContactView]]:
    """Contacts of several cases (callers have checked the cases)."""
    if not case_ids:
        return {}
    contacts = list(session.execute(select(Contact).where(Contact.case_id.in_(case_ids))
                                    .order_by(Contact.tier, Contact.id)).scalars())
    out: dict[int, list[ContactView]] = {}
    for v in _views(session, actor, contacts):
        out.setdefault(v.contact.case_id, []).append(v)
    return out


def get_contact(session: Session, actor: Actor, case_id: int, contact_id: int) -> ContactView:
    """One contact of a case, with its lead state; NotFound when it is not this case's."""
    case = get_case(session, actor, case_id)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.case_id != case.id:
        raise NotFound(record_not_found("contact", contact_id))
    return _views(session, actor, [contact])[0]
