"""Declared headcounts (申报人数) where the registry is thin: a community says how many persons live at
a household; a round's coverage shows, per grid, the persons declared beyond those registered there
(`declared_extra`) — targets still to find and register, not counted among the round's targets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Address
from fangkong.kernel.messages import _, labels, message
from fangkong.kernel.people.models import Person
from fangkong.zones.models import DeclaredHeadcount, TestingRound, ZoneAddress

INVALID_HEADCOUNT = message("zone.headcount_invalid", _("invalid declared headcount"))
HEADCOUNT_RANGE = message("zone.headcount_range", _("between 0 and %(max)s persons"))
ADDRESS_UNKNOWN = message("zone.headcount_address", _("%(text)s is not a household of the gazetteer in your area"))
labels("audit_action", {"zone.headcount_declared": _("Household headcount declared")})
labels("field", {"headcount": _("Declared headcount")})

#: the most persons a household may be declared to hold
MAX_HEADCOUNT = 200


@dataclass
class Declared:
    address_id: int
    address: str
    unit_id: int
    headcount: int
    registered: int

    @property
    def extra(self) -> int:
        return max(0, self.headcount - self.registered)


def declare_headcount(session: Session, actor: Actor, *, address: str, headcount: int, note: str = "",
                      at: dt.datetime | None = None) -> Declared:
    """Record how many persons live at a household (the gazetteer's address, in the actor's area) as
    the community declares it; declared again, the new figure replaces the old. Audited."""
    actor.require("round.manage")
    errors: list[FieldError] = []
    if not 0 <= headcount <= MAX_HEADCOUNT:
        errors.append(FieldError("headcount", HEADCOUNT_RANGE(max=MAX_HEADCOUNT)))
    [m] = jurisdictions_service.match_addresses(session, [address])
    place = m.address if m.address is not None and scope.sees(actor, m.address) else None
    if place is None:
        errors.append(FieldError("address", ADDRESS_UNKNOWN(text=address.strip()[:100])))
    if errors:
        raise ValidationFailed(INVALID_HEADCOUNT(), errors)
    assert place is not None
    now = at or clock.now()
    row = session.execute(select(DeclaredHeadcount).where(DeclaredHeadcount.address_id == place.id)).scalar()
    before = row.headcount if row is not None else None
    if row is None:
        row = DeclaredHeadcount(address_id=place.id, unit_id=place.unit_id, unit_path=place.unit_path)
        session.add(row)
    row.headcount, row.note, row.declared_at, row.declared_by = headcount, note.strip()[:200], now, actor.username
    session.flush()
    audit.record(session, actor, "zone.headcount_declared", object_type="address", object_id=place.id,
                 headcount=headcount, before=before)
    registered = session.execute(select(func.count()).select_from(Person).where(
        Person.address_id == place.id)).scalar_one()
    return Declared(place.id, place.text, place.unit_id, headcount, int(registered))


def declared_in_round(session: Session, rnd: TestingRound) -> list[Declared]:
    """The households of the round's area with a declared headcount, with how many are registered
    there now (a zone round: the zone's addresses; a unit round: the addresses under the unit)."""
    d = DeclaredHeadcount
    stmt = select(d.address_id, Address.text, d.unit_id, d.headcount).join(Address, Address.id == d.address_id)
    if rnd.zone_id is not None:
        stmt = stmt.join(ZoneAddress, (ZoneAddress.address_id == d.address_id) & (ZoneAddress.zone_id == rnd.zone_id))
    else:
        stmt = scope.within(stmt, rnd.unit_path, DeclaredHeadcount)
    rows = session.execute(stmt.order_by(d.address_id)).all()
    if not rows:
        return []
    registered: dict[int, int] = {}
    for chunk in chunks([r[0] for r in rows], 5000):
        registered.update(session.execute(select(Person.address_id, func.count()).where(
            in_list(session, Person.address_id, chunk)).group_by(Person.address_id)).all())
    return [Declared(aid, text, uid, n, int(registered.get(aid, 0))) for aid, text, uid, n in rows]


def declared_extra(session: Session, round_id: int) -> dict[int, int]:
    """Per grid: the persons declared at its households beyond those registered (unscoped: the caller
    keeps the grids its actor sees)."""
    rnd = session.get(TestingRound, round_id)
    out: dict[int, int] = {}
    if rnd is None:
        return out
    for x in declared_in_round(session, rnd):
        if x.extra:
            out[x.unit_id] = out.get(x.unit_id, 0) + x.extra
    return out
