"""Undoing a wrong merge (拆分人员): some of a person's leads belong to someone else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake.models import Lead
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person

NO_LEADS = message("split.no_leads", _("no leads to split"))
NAME_ONE = message("split.name_one", _("name at least one lead"))
NOT_LEADS_OF = message("split.not_leads_of", _("not leads of person %(person)s: %(leads)s"))
ALL_LEADS = message("split.all_leads", _("these are all the person's leads: nothing would stay"))
SAME_ID = message("split.same_id", _("a lead to move and a lead to keep carry the same valid ID number"))
CANNOT_SPLIT = message("split.invalid", _("cannot split"))

#: until roles.py has "person.split", splitting needs "person.edit" (see the report to the lead)
SPLIT_PERMISSION = "person.split"


def _id_index(row: Any) -> str | None:
    """The row's ID blind index under the current key (during a key rotation rows may still hold the
    retiring key's, so stored indexes are compared after recomputing them from the number)."""
    if not row.id_number_bidx or row.id_number_enc is None:
        return row.id_number_bidx
    return crypto.blind_index(crypto.decrypt(row.id_number_enc), "id_number")


def split_person(session: Session, actor: Actor, *, person_id: int, lead_ids: list[int]) -> Person:
    """Move `lead_ids` (and the measures they started) from `person_id` to a new person built from the
    first of them; a valid ID number only the moved leads carry moves with them. Refused when a lead
    to move and a lead to keep carry the same valid ID number (same ID, same person) or when they are
    all of the person's leads. Audited."""
    actor.require(SPLIT_PERMISSION)
    person = scope.get_visible(session, actor, Person, person_id)
    wanted = sorted(set(lead_ids))
    if not wanted:
        raise ValidationFailed(NO_LEADS(), [FieldError("lead_ids", NAME_ONE())])
    leads = list(session.execute(select(Lead).where(Lead.person_id == person.id).order_by(Lead.id)).scalars())
    moving = [lead for lead in leads if lead.id in wanted]
    errors = []
    if len(moving) != len(wanted):
        missing = sorted(set(wanted) - {lead.id for lead in moving})
        errors.append(FieldError("lead_ids", NOT_LEADS_OF(person=person.id, leads=[str(m) for m in missing])))
    elif len(moving) == len(leads):
        errors.append(FieldError("lead_ids", ALL_LEADS()))
    staying_ids = {_id_index(lead) for lead in leads if lead.id not in wanted and lead.id_number_bidx}
    if any(_id_index(lead) in staying_ids for lead in moving if lead.id_number_bidx):
        errors.append(FieldError("lead_ids", SAME_ID()))
    if errors:
        raise ValidationFailed(CANNOT_SPLIT(), errors)
    first = moving[0]
    ids = sorted({_id_index(lead) for lead in moving if lead.id_number_bidx})
    phones = [lead for lead in moving if lead.phone_enc is not None]
    src = next((lead for lead in moving if lead.id_number_bidx), first)
    ph = phones[0] if phones else None
    now = clock.now()
    # an ID number the wrong merge copied onto the old person leaves with its leads
    if ids and person.id_number_bidx and _id_index(person) in ids:
        person.id_number_bidx, person.id_number_enc, person.id_number_masked = None, None, None
        person.id_number_valid, person.sex, person.birth_date = False, None, None
        session.flush()
    # the registry's one write path; the numbers are the leads' (already encrypted, masked and indexed)
    [new_id] = people_service.create_persons(session, actor, [people_service.NewPerson(
        unit_id=first.unit_id, name=first.name, address_id=first.address_id, address_text=first.address_text,
        gained={"id_number_enc": src.id_number_enc, "id_number_bidx": ids[0] if ids else None,
                "id_number_valid": bool(ids) or src.id_number_valid, "id_number_masked": src.id_number_masked,
                "phone_enc": ph.phone_enc if ph else None, "phone_bidx": ph.phone_bidx if ph else None,
                "phone_masked": ph.phone_masked if ph else None})], source="split")
    new = session.get(Person, new_id)
    assert new is not None
    for lead in moving:
        lead.person_id, lead.match_rule = new.id, "split"
    person.updated_at = now
    session.flush()
    # the measures these leads started go with them (control moves its own rows and due tests)
    control_service.move_measures(session, actor, measure_ids=[lead.measure_id for lead in moving
                                                               if lead.measure_id is not None],
                                  from_person_id=person.id, to_person_id=new.id)
    audit.record(session, actor, "person.split", object_type="person", object_id=person.id,
                 new_person_id=new.id, lead_ids=[lead.id for lead in moving])
    return new
