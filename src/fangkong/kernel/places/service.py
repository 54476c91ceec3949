"""Places (场所): create, get and list the sites capabilities hang their details on."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import REQUIRED_TOO_LONG, TOO_LONG, Conflict, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import Term, _, message
from fangkong.kernel.places.models import KINDS, Place

UNKNOWN_KIND = message("place.unknown_kind", _("unknown kind %(kind)s; use one of %(kinds)s"))
NEGATIVE = message("field.negative", _("must not be negative"))
INVALID_PLACE = message("place.invalid", _("invalid place"))
CODE_EXISTS = message("place.code_exists", _("place code %(code)s already exists"))
REF_EXISTS = message("place.ref_exists", _("place ref %(ref)s already exists"))

#: generated codes: kind prefix + zero-padded id (VEN000042)
CODE_PREFIX: dict[str, str] = {
    "employer": "EMP",
    "venue": "VEN",
    "checkpoint": "CHK",
    "sampling_point": "SMP",
    "sentinel": "SEN",
    "quarantine_site": "QRS",
}


def create_place(session: Session, actor: Actor, *, kind: str, name: str, category: str | None = None,
                 code: str | None = None, address_text: str | None = None, unit_id: int | None = None,
                 capacity: int | None = None, ref: str | None = None) -> Place:
    """Register a place. Its unit is `unit_id` when given, else the grid its address matches, else the
    actor's own unit (the root for the system). Needs `place.manage`."""
    actor.require("place.manage")
    errors: list[FieldError] = []
    name = (name or "").strip()
    if kind not in KINDS:
        errors.append(FieldError("kind", UNKNOWN_KIND(kind=repr(kind),
                                                      kinds=[Term(k, kind="place_kind") for k in KINDS])))
    if not name or len(name) > 120:
        errors.append(FieldError("name", REQUIRED_TOO_LONG(max=120)))
    if code is not None and (not code.strip() or len(code.strip()) > 40):
        errors.append(FieldError("code", TOO_LONG(max=40)))
    if category is not None and len(category) > 32:
        errors.append(FieldError("category", TOO_LONG(max=32)))
    if capacity is not None and capacity < 0:
        errors.append(FieldError("capacity", NEGATIVE()))
    if ref is not None and (not ref.strip() or len(ref.strip()) > 64):
        errors.append(FieldError("ref", TOO_LONG(max=64)))
    if address_text is not None and len(address_text) > 255:
        errors.append(FieldError("address", TOO_LONG(max=255)))
    if errors:
        raise ValidationFailed(INVALID_PLACE(), errors)
    code = code.strip() if code else None
    ref = ref.strip() if ref else None
    if code and session.execute(select(Place.id).where(Place.code == code)).first():
        raise Conflict(CODE_EXISTS(code=code))
    if ref and session.execute(select(Place.id).where(Place.ref == ref)).first():
        raise Conflict(REF_EXISTS(ref=ref))

    address_id = None
    unit: Unit | None = None
    if unit_id is not None:
        unit = scope.visible_unit(session, actor, unit_id)
    if address_text and address_text.strip():
        match = jurisdictions_service.match_address(session, address_text)
        if match.address is not None:
            address_id = match.address.id
        if unit is None:
            unit = scope.visible_or_none(actor, match.unit)
    if unit is None:  # no better home: the actor's own unit, else the root
        unit = scope.base_unit(session, actor)

    place = Place(kind=kind, category=category, code=code or f"tmp-{uuid.uuid4().hex}", name=name,
                  address_id=address_id, address_text=address_text.strip() if address_text else None,
                  capacity=capacity, ref=ref, unit_id=unit.id, unit_path=unit.path)
    session.add(place)
    session.flush()
    if code is None:
        generated = f"{CODE_PREFIX.get(kind, 'PLC')}{place.id:06d}"
        taken = session.execute(select(Place.id).where(Place.code == generated)).first()
        place.code = generated if taken is None else f"{generated}-{uuid.uuid4().hex[:6]}"
    audit.record(session, actor, "place.created", object_type="place", object_id=place.id, kind=kind,
                 code=place.code, unit=unit.code)
    session.flush()
    return place


def get_place(session: Session, actor: Actor, place_id: int) -> Place:
    """A place in the actor's jurisdiction; NotFound otherwise."""
    actor.require("place.view")
    return scope.get_visible(session, actor, Place, place_id)


def get_place_by_ref(session: Session, actor: Actor, ref: str) -> Place | None:
    """The place imported under the sender's reference `ref`, if the actor can see it."""
    return scope.find_visible_by(session, actor, Place, ref=ref)


def get_place_by_code(session: Session, actor: Actor, code: str) -> Place | None:
    """The place with this code, if the actor can see it."""
    return scope.find_visible_by(session, actor, Place, code=code)


def list_places(session: Session, actor: Actor, *, kind: str | None = None, category: str | None = None,
                limit: int = 50, after_id: int | None = None) -> list[Place]:
    """Places in the actor's jurisdiction, by id, `limit` at a time after `after_id` (the cursor)."""
    actor.require("place.view")
    stmt = scope.visible(select(Place), actor, Place)
    if kind is not None:
        stmt = stmt.where(Place.kind == kind)
    if category is not None:
        stmt = stmt.where(Place.category == category)
    if after_id is not None:
        stmt = stmt.where(Place.id > after_id)
    stmt = stmt.order_by(Place.id).limit(max(1, min(limit, 1000)))
    return list(session.execute(stmt).scalars())
