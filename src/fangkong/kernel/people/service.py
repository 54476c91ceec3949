"""Person registry (人员库): registering, finding, showing and unmasking persons.

ID and phone numbers are stored encrypted (`crypto.encrypt`) with a keyed blind index for exact
lookups; only *valid* numbers get an index, so an invalid number is kept and shown but never used as
a match key (decisions.md, "Identity fields"). Full values leave the registry only through `unmask`,
which is permission-checked and audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import bulk_insert, chunks, in_list
from fangkong.kernel.errors import ONE_OF, TOO_LONG, Conflict, FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import Joined, Term, _, message
from fangkong.kernel.people import crypto
from fangkong.kernel.people.findable import is_name
from fangkong.kernel.people.identity import (
    IdNumberCheck,
    PhoneCheck,
    age_on,
    check_id_number,
    check_phone,
    clean_name,
    mask_id,
    mask_phone,
    name_key,
    name_keys,
)
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportRow

UNKNOWN_UNIT_ID = message("unit.unknown_id", _("unknown unit %(id)s"))
NAME_REQUIRED = message("person.name_required", _("required unless a valid ID or phone number is given"))
UNKNOWN_EMPLOYER = message("person.unknown_employer", _("unknown employer %(id)s"))
INVALID_PERSON = message("person.invalid", _("invalid person"))
ID_REGISTERED = message("person.id_registered", _("id_number already registered as person %(person)s"))
#: the same conflict when the registered person lies outside the caller's jurisdiction: who and where
#: stay unsaid (an existence oracle otherwise: issue #11)
ID_REGISTERED_ELSEWHERE = message("person.id_registered_elsewhere", _("id_number already registered"))
INVALID_FIELD = message("field.invalid_field", _("invalid field"))
NO_VALUE = message("person.no_value", _("person %(id)s has no %(field)s"))

NAME_MAX = 64
ADDRESS_MAX = 255
UNMASK_FIELDS = ("id_number", "phone")


def identity_columns(*, id_check: IdNumberCheck | None, phone_check: PhoneCheck | None) -> dict[str, Any]:
    """Person column values for checked ID and phone numbers (bulk loaders build rows with it).

    The number is encrypted whether valid or not; the blind index only for a valid one.
    """
    cols: dict[str, Any] = {
        "id_number_enc": None, "id_number_bidx": None, "id_number_valid": False, "id_number_masked": None,
        "sex": None, "birth_date": None, "phone_enc": None, "phone_bidx": None, "phone_masked": None,
    }
    if id_check is not None:
        cols["id_number_enc"] = crypto.encrypt(id_check.value)
        cols["id_number_masked"] = mask_id(id_check.value)
        cols["id_number_valid"] = id_check.valid
        if id_check.valid:
            cols["id_number_bidx"] = crypto.blind_index(id_check.value, "id_number")
            cols["sex"] = id_check.sex
            cols["birth_date"] = id_check.birth_date
    if phone_check is not None:
        cols["phone_enc"] = crypto.encrypt(phone_check.value)
        cols["phone_masked"] = mask_phone(phone_check.value)
        if phone_check.valid:
            cols["phone_bidx"] = crypto.blind_index(phone_check.value, "phone")
    return cols


def name_columns(raw: object) -> dict[str, Any]:
    """`name` (as written, cleaned for display) and `name_key` (for comparison) of a Person row."""
    name = clean_name(raw)
    return {"name": name[:NAME_MAX] if name else None, "name_key": (name_key(name) or "")[:NAME_MAX] or None}


@dataclass
class NewPerson:
    """One person to register (`create_persons`): what a form, a file row or a channel says about them,
    with ID and phone numbers already checked (`check_id_number`, `check_phone`)."""

    unit_id: int
    name: object = None
    id_check: IdNumberCheck | None = None
    phone_check: PhoneCheck | None = None
    address_id: int | None = None
    address_text: str | None = None
    employer_id: int | None = None
    #: columns a later row of the same batch taught this new person (an ID number, a phone …)
    gained: dict[str, Any] | None = None


def create_persons(session: Session, actor: Actor, items: Sequence[NewPerson], *, source: str) -> list[int]:
    """The one write path of the person registry (人员登记), for one person or a whole import: every row
    gets the same columns by the same rules (the name cleaned for display and keyed for comparison,
    at most 64 characters; ID and phone numbers encrypted and masked, a blind index only for a valid
    number; the address as one line, at most 255 characters), rows are inserted in bulk and one audit
    entry `person.registered` names them all. Returns the new ids in item order.

    Who may register persons is the use case's question, checked before calling this: `register_person`
    (a form) needs `person.edit`; a channel (a lead, a roster row, a sample, a scan) registers whom it
    cannot match under its own permission (decisions.md: the registry is the union of every channel).
    """
    if not items:
        return []
    unit_ids = sorted({it.unit_id for it in items})
    units: dict[int, tuple[str, str]] = {}
    for chunk in chunks(unit_ids):
        units.update({uid: (path, code) for uid, path, code in session.execute(
            select(Unit.id, Unit.path, Unit.code).where(in_list(session, Unit.id, chunk)))})
    missing = [uid for uid in unit_ids if uid not in units]
    if missing:
        raise ValidationFailed("invalid person", [FieldError("unit_id", f"unknown unit {missing[0]}")])
    now = clock.now()
    displays = [clean_name(it.name) for it in items]
    keys = name_keys(displays)
    params: list[dict[str, Any]] = []
    for it, display, key in zip(items, displays, keys, strict=True):
        address = " ".join(it.address_text.split())[:ADDRESS_MAX] if it.address_text else None
        row = {
            "name": display[:NAME_MAX] if display else None, "name_key": (key or "")[:NAME_MAX] or None,
            **identity_columns(id_check=it.id_check, phone_check=it.phone_check),
            "address_id": it.address_id, "address_text": address or None, "employer_id": it.employer_id,
            "unit_id": it.unit_id, "unit_path": units[it.unit_id][0], "created_at": now, "updated_at": now,
            "source": source,
        }
        row.update(it.gained or {})
        params.append(row)
    ids = bulk_insert(session, Person.__table__, params)
    audit.record(
        session, actor, "person.registered", object_type="person", object_id=ids[0] if len(ids) == 1 else None,
        source=source, count=len(ids), ids=audit.compact_ids(ids),
        units=sorted({units[it.unit_id][1] for it in items})[:50],
        invalid_id_numbers=sum(1 for p in params if p["id_number_enc"] is not None and not p["id_number_valid"]),
        converted_id_numbers=sum(1 for it in items if it.id_check is not None and it.id_check.converted),
        invalid_phones=sum(1 for p in params if p["phone_enc"] is not None and p["phone_bidx"] is None))
    return ids


def _place(session: Session, actor: Actor, *, unit_id: int | None, address_text: str | None,
           errors: list[FieldError]) -> tuple[Unit | None, int | None]:
    """The unit that owns a new person, and the gazetteer address when the text matched one."""
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    if unit_id is not None:
        unit = scope.visible_unit_or_none(session, actor, unit_id)
        if unit is None:
            errors.append(FieldError("unit_id", UNKNOWN_UNIT_ID(id=unit_id)))
            return None, None
        return unit, None
    address_id = None
    if address_text:
        match = jurisdictions_service.match_address(session, address_text)
        address_id = match.address.id if match.address is not None else None
        if match.unit is not None:
            return match.unit, address_id
    # no grid from the address: the actor's own unit (so a grid worker sees whom they registered),
    # the root for the system and for data that arrives before the tree exists
    return scope.base_unit(session, actor), address_id


def register_person(
    session: Session,
    actor: Actor,
    *,
    name: str | None,
    id_number: object = None,
    phone: object = None,
    address_text: str | None = None,
    unit_id: int | None = None,
    employer_id: int | None = None,
    source: str = "manual",
    strict: bool = True,
) -> Person:
    """Register one person (人员登记). `strict` refuses an invalid ID or phone number; otherwise it is
    stored (encrypted, masked, unindexed) and the person registered anyway.

    A valid ID number already in the registry is a Conflict naming the existing person (exception
    attribute `person_id`) when that person is in the actor's jurisdiction, and naming nobody when not
    (a 409 that says no more than "registered"; the unique registry cannot hold the number twice). A name is required unless a valid ID or phone number identifies the person.
    Placement: `unit_id`, else the grid of the matched address, else the actor's unit, else the root.
    """
    actor.require("person.edit")
    errors: list[FieldError] = []
    display = clean_name(name)
    if display and len(display) > NAME_MAX:
        errors.append(FieldError("name", TOO_LONG(max=NAME_MAX)))
    id_check = check_id_number(id_number)
    phone_check = check_phone(phone)
    if strict and id_check is not None and not id_check.valid:
        errors.append(FieldError("id_number", Joined(id_check.issues)))
    if strict and phone_check is not None and not phone_check.valid:
        errors.append(FieldError("phone", Joined(phone_check.issues)))
    identified = (id_check is not None and id_check.valid) or (phone_check is not None and phone_check.valid)
    if not identified and not is_name(display):
        errors.append(FieldError("name", NAME_REQUIRED()))
    address = " ".join(address_text.split()) if address_text else None
    if address and len(address) > ADDRESS_MAX:
        errors.append(FieldError("address", TOO_LONG(max=ADDRESS_MAX)))
    if employer_id is not None and scope.visible_or_none(actor, session.get(Place, employer_id)) is None:
        errors.append(FieldError("employer_id", UNKNOWN_EMPLOYER(id=employer_id)))
    if errors:
        raise ValidationFailed(INVALID_PERSON(), errors)
    if id_check is not None and id_check.valid:
        existing = find_by_id_number(session, id_check.value)
        if existing is not None:
            if scope.visible_or_none(actor, existing) is None:
                raise Conflict(ID_REGISTERED_ELSEWHERE())
            exc = Conflict(ID_REGISTERED(person=existing.id))
            exc.person_id = existing.id  # type: ignore[attr-defined]
            raise exc
    unit, address_id = _place(session, actor, unit_id=unit_id, address_text=address, errors=errors)
    if errors or unit is None:
        raise ValidationFailed(INVALID_PERSON(), errors)
    [person_id] = create_persons(session, actor, [NewPerson(
        unit_id=unit.id, name=name, id_check=id_check, phone_check=phone_check, address_id=address_id,
        address_text=address, employer_id=employer_id)], source=source)
    person = session.get(Person, person_id)
    assert person is not None
    return person


# -------------------------------------------------------------------------- internal (unscoped) lookups

def find_by_id_number(session: Session, raw: object) -> Person | None:
    """The person with this ID number (valid numbers only, by blind index). Unscoped: for matching."""
    check = check_id_number(raw)
    if check is None or not check.valid:
        return None
    bidx = crypto.blind_indexes(check.value, "id_number")  # the retiring key's too, during a rotation
    return session.execute(select(Person).where(Person.id_number_bidx.in_(bidx)).order_by(Person.id)
                           ).scalars().first()


def find_by_phone(session: Session, raw: object) -> list[Person]:
    """Everyone registered with this phone (families share one), by id. Unscoped: for matching."""
    check = check_phone(raw)
    if check is None or not check.valid:
        return []
    bidx = crypto.blind_indexes(check.value, "phone")
    return list(session.execute(select(Person).where(Person.phone_bidx.in_(bidx)).order_by(Person.id)).scalars())


# ---------------------------------------------------------------------------------- scoped use cases

def visible_person_ids(session: Session, actor: Actor, person_ids: Iterable[int | None]) -> set[int]:
    """Those of `person_ids` that lie in the actor's jurisdiction: the only persons an answer to the
    actor may name (a report of an intake, a sample or a scan resolves people anywhere in the city)."""
    ids = sorted({p for p in person_ids if p is not None})
    seen: set[int] = set()
    for chunk in chunks(ids):
        stmt = scope.visible(select(Person.id).where(in_list(session, Person.id, chunk)), actor, Person)
        seen.update(session.execute(stmt).scalars())
    return seen


def hide_foreign_persons(session: Session, actor: Actor, rows: Sequence[ReportRow]) -> None:
    """Blank what a per-row report says about persons outside the actor's jurisdiction — their id and
    the rule that matched them — so that submitting a row is no way to learn who lives elsewhere
    (existence oracle, issue #11). The rows are stored as they were; only the answer is narrowed."""
    seen = visible_person_ids(session, actor, (r.person_id for r in rows))
    for r in rows:
        if r.person_id is not None and r.person_id not in seen:
            r.person_id = None
            r.extra.pop("match_rule", None)

def get_person(session: Session, actor: Actor, person_id: int, *, audit_view: bool = True) -> Person:
    """One person in the actor's jurisdiction (NotFound otherwise); the view is audited."""
    actor.require("person.view")
    person = scope.get_visible(session, actor, Person, person_id)
    if audit_view:
        audit.record(session, actor, "person.view", object_type="person", object_id=person.id)
    return person


def _query_kind(q: str) -> tuple[str, Any]:
    """What a search box holds: ("id_number" | "phone", blind indexes under every searched key), ("name", key),
    ("number", None) for a number that is neither a valid ID nor a valid mobile, or ("all", None)."""
    if not q:
        return "all", None
    id_check = check_id_number(q)
    if id_check is not None and id_check.valid:
        return "id_number", crypto.blind_indexes(id_check.value, "id_number")
    phone_check = check_phone(q)
    if phone_check is not None and phone_check.valid and not phone_check.issues:
        return "phone", crypto.blind_indexes(phone_check.value, "phone")
    compact = "".join(q.split())
    if sum(c.isdigit() for c in compact) >= 6:
        # partial or invalid numbers cannot be searched (they are encrypted): find nobody
        return "number", None
    return "name", name_key(q)


def search_persons(session: Session, actor: Actor, *, q: str, limit: int = 50,
                   after_id: int | None = None) -> list[Person]:
    """Persons in the actor's jurisdiction by full ID number, full mobile number, or name (exact or
    prefix of the comparison key), ordered by id; `after_id` continues a page. Audited without the
    number searched for."""
    actor.require("person.view")
    q = (q or "").strip()
    kind, key = _query_kind(q)
    limit = max(1, min(int(limit), 500))
    persons: list[Person] = []
    if kind != "number":
        stmt = scope.visible(select(Person), actor, Person)
        if kind == "id_number":
            stmt = stmt.where(Person.id_number_bidx.in_(key))
        elif kind == "phone":
            stmt = stmt.where(Person.phone_bidx.in_(key))
        elif kind == "name" and key:
            stmt = stmt.where(Person.name_key.startswith(key, autoescape=True))
        if after_id is not None:
            stmt = stmt.where(Person.id > after_id)
        persons = list(session.execute(stmt.order_by(Person.id).limit(limit)).scalars())
    detail: dict[str, Any] = {"kind": kind, "count": len(persons)}
    if kind == "name":
        detail["q"] = q
    audit.record(session, actor, "person.search", object_type="person", **detail)
    return persons


def unmask(session: Session, actor: Actor, person_id: int, *, field: str) -> str:
    """The full ID or phone number of a person in the actor's jurisdiction (查看完整号码); audited."""
    actor.require("person.unmask")
    if field not in UNMASK_FIELDS:
        raise ValidationFailed(INVALID_FIELD(), [FieldError("field", ONE_OF(choices=list(UNMASK_FIELDS)))])
    person = scope.get_visible(session, actor, Person, person_id)
    blob = person.id_number_enc if field == "id_number" else person.phone_enc
    if blob is None:
        raise NotFound(NO_VALUE(id=person_id, field=Term(field, kind="field")))
    value = crypto.decrypt(blob)
    audit.record(session, actor, "person.unmask", object_type="person", object_id=person.id, field=field)
    return value


def masked_view(person: Person) -> dict[str, Any]:
    """What lists and pages show of a person: masked numbers, age from the platform clock."""
    return {
        "id": person.id,
        "name": person.name,
        "id_number_masked": person.id_number_masked,
        "id_number_valid": person.id_number_valid,
        "phone_masked": person.phone_masked,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "age": age_on(person.birth_date, clock.today()),
        "address_text": person.address_text,
        "unit_id": person.unit_id,
        "employer_id": person.employer_id,
    }
