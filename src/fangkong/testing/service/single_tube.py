"""Single tubes where policy says so (单管单采): who may not be mixed into a multi-person tube.

The active pack says it (`pooling` sizes, each category's `pool`): close contacts and persons who
stayed in a high-risk area (a size-1 setting), persons under a measure (`pooling.under_measure`),
and tubes at a fever-clinic sampling point (`pooling.fever_clinic`). Whether a person is under a
measure comes from control's service, their open leads from intake's: never from their tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake import service as intake_service
from fangkong.kernel import scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError
from fangkong.kernel.messages import _, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Pack
from fangkong.testing import rules
from fangkong.testing.rules import TubeLimit

#: a sampling point of this category is a fever clinic: its tubes are single (发热门诊 单人单管)
FEVER_CLINIC = "fever_clinic"

SINGLE_TUBE = message("sample.single_tube", _(
    "%(who)s must be sampled in a single tube (%(reason)s): not put into this %(size)s-person tube"))
POOL_LIMIT = message("sample.pool_limit", _(
    "%(who)s may be pooled at most %(limit)s to a tube (%(reason)s): not put into this %(size)s-person tube"))
#: the same refusals for a person outside the sampler's jurisdiction: the rule still holds (the tube
#: must be single), but who they are and why (a close contact, a measure) stay unsaid (issue #11)
SINGLE_TUBE_UNNAMED = message("sample.single_tube_unnamed", _(
    "this person must be sampled in a single tube: not put into this %(size)s-person tube"))
POOL_LIMIT_UNNAMED = message("sample.pool_limit_unnamed", _(
    "this person may be pooled at most %(limit)s to a tube: not put into this %(size)s-person tube"))
UNDER_MEASURE_REASON = message("sample.reason_under_measure", _("under a measure: %(measure)s"))
FEVER_CLINIC_TUBE = message("tube.fever_clinic", _(
    "%(point)s is a fever clinic: its tubes hold at most %(limit)s person(s) (single tubes)"))


def limits(session: Session, pack: Pack, person_ids: Iterable[int], *, at: dt.datetime | None = None
           ) -> dict[int, TubeLimit]:
    """The tightest pooling limit of each person who has one (measures in force, open leads)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    in_force = control_service.measures_in_force(session, ids, at=at)
    open_leads = intake_service.open_lead_categories(session, ids)
    out: dict[int, TubeLimit] = {}
    for pid in ids:
        found = rules.tube_limit(pack, measures=[(m.category, m.kind) for m in in_force.get(pid, ())],
                                 lead_categories=sorted(open_leads.get(pid, ())))
        if found is not None:
            out[pid] = found
    return out


def point_limit(pack: Pack, point: Place | None) -> int | None:
    """The largest tube a sampling point may open (a fever clinic's), or None."""
    if point is None or point.category != FEVER_CLINIC or FEVER_CLINIC not in pack.pooling:
        return None
    return pack.pooling[FEVER_CLINIC].size


def fever_clinic_error(pack: Pack, point: Place | None, size: int) -> FieldError | None:
    """An issue on `pool_size` when a tube at a fever clinic would hold more than the pack allows."""
    limit = point_limit(pack, point)
    if limit is None or size <= limit or point is None:
        return None
    return FieldError("pool_size", FEVER_CLINIC_TUBE(point=point.name, limit=limit))


def _who(person: Person | None, person_id: int) -> str:
    if person is None:
        return f"#{person_id}"
    masked = person.id_number_masked or person.phone_masked
    if person.name and masked:
        return f"{person.name}({masked})"
    return person.name or masked or f"#{person_id}"


def refusal(session: Session, actor: Actor, pack: Pack, limit: TubeLimit, person_id: int,
            tube_size: int) -> FieldError:
    """The refusal, naming the person (name and masked ID) and why (category or measure) — when the
    person is in the actor's jurisdiction; otherwise the same rule without who or why."""
    person = session.get(Person, person_id)
    if scope.visible_or_none(actor, person) is None:
        if limit.size == 1:
            return FieldError("person", SINGLE_TUBE_UNNAMED(size=tube_size))
        return FieldError("person", POOL_LIMIT_UNNAMED(limit=limit.size, size=tube_size))
    who = _who(person, person_id)
    category = policy_service.known_category(limit.category, pack) if limit.category else None
    if limit.setting == rules.UNDER_MEASURE and limit.kind is not None:
        measure = next((m for m in pack.measures.values() if m.kind == limit.kind), None)
        reason = UNDER_MEASURE_REASON(measure=policy_service.pack_name("measure_kind", limit.kind, measure)
                                      if measure is not None else limit.kind)
    elif category is not None:
        reason = policy_service.pack_name("category", limit.category or "", category)
    else:
        reason = limit.rule
    if limit.size == 1:
        return FieldError("person", SINGLE_TUBE(who=who, reason=reason, size=tube_size))
    return FieldError("person", POOL_LIMIT(who=who, reason=reason, limit=limit.size, size=tube_size))
