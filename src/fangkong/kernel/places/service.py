"""Places (场所): create, get and list the sites capabilities hang their details on."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import Conflict, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.places.models import KINDS, Place

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
        errors.append(FieldError("kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}"))
    if not name or len(name) > 120:
        errors.append(FieldError("name", "required, at most 120 characters"))
    if code is not None and (not code.strip() or len(code.strip()) > 40):
        errors.append(FieldError("code", "at most 40 characters"))
    if category is not None and len(category) > 32:
        errors.append(FieldError("category", "at most 32 characters"))
    if capacity is not None and capacity < 0:
        errors.append(FieldError("capacity", "must not be negative"))
    if ref is not None and (not ref.strip() or len(ref.strip()) > 64):
        errors.append(FieldError("ref", "at most 64 characters"))
    if address_text is not None and len(address_text) > 255:
        errors.append(FieldError("address", "at most 255 characters"))
    if errors:
        raise ValidationFailed("invalid place", errors)
    code = code.strip() if code else None
    ref = ref.strip() if ref else None
    if code and session.execute(select(Place.id).where(Place.code == code)).first():
        raise Conflict(f"place code {code} already exists")
    if ref and session.execute(select(Place.id).where(Place.ref == ref)).first():
        raise Conflict(f"place ref {ref} already exists")

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
