"""The control status of persons (管控状态): one read for every page and answer that says whether
someone is under a measure — the person page, the lead, a case's contacts, the citizen's own page,
the venue scan. Bulk and cheap: one query for any number of persons (in chunks of 500 ids)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control import rules
from fangkong.control.models import Measure
from fangkong.control.rules import ControlStatus
from fangkong.control.service import due
from fangkong.control.service.due import DueTestView
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.people import service as people_service
from fangkong.kernel.places.models import Place

CHUNK = 500


def _facts(session: Session, person_ids: Sequence[int], lo: dt.datetime, hi: dt.datetime
           ) -> dict[int, list[rules.MeasureFacts]]:
    """Measures of these persons that may be in force at some moment in [lo, hi]."""
    out: dict[int, list[rules.MeasureFacts]] = defaultdict(list)
    ids = sorted(set(person_ids))
    for i in range(0, len(ids), CHUNK):
        stmt = (select(Measure, Place.name).outerjoin(Place, Place.id == Measure.place_id)
                .where(in_list(session, Measure.person_id, ids[i:i + CHUNK]),
                       Measure.status.in_(("active", "ended")), Measure.started_at <= hi,
                       or_(Measure.ended_at.is_(None), Measure.ended_at > lo),
                       or_(Measure.planned_end_at.is_(None), Measure.planned_end_at > lo)))
        for m, site in session.execute(stmt):
            out[m.person_id].append(rules.MeasureFacts(
                m.id, m.person_id, m.category, m.kind, m.phases or [], m.started_at, m.planned_end_at, m.status,
                m.ended_at, m.place_kind, m.place_id, site, m.unit_id, m.pack_version))
    return out


def status_of(session: Session, person_ids: Iterable[int], *, at: dt.datetime) -> dict[int, ControlStatus]:
    """Each person's control status at `at` (every id gets one; `kind == "none"` when not under
    control). Unscoped: callers show it only for persons they may see."""
    ids = sorted(set(person_ids))
    facts = _facts(session, ids, at, at)
    return {pid: rules.status_from(pid, facts.get(pid, []), at) for pid in ids}


def statuses_at(session: Session, items: Sequence[tuple[int, dt.datetime]]) -> list[ControlStatus]:
    """The status of each (person, moment) pair, in order — e.g. a batch of scans, each at its own
    time — from one query over all the persons."""
    if not items:
        return []
    lo, hi = min(at for _p, at in items), max(at for _p, at in items)
    facts = _facts(session, [p for p, _at in items], lo, hi)
    return [rules.status_from(pid, facts.get(pid, []), at) for pid, at in items]


@dataclass
class PersonControl:
    """What the person page and the API show of one person's control: the status now, the person's
    measures (newest first) and the test days of them (应检日)."""

    status: ControlStatus
    measures: list[Measure]
    due_tests: list[DueTestView]


def control_of_person(session: Session, actor: Actor, person_id: int, *, at: dt.datetime,
                      audit_view: bool = True) -> PersonControl:
    """One person's control (NotFound outside the actor's jurisdiction; the view audited unless the
    page that includes it has audited it already)."""
    person = people_service.get_person(session, actor, person_id, audit_view=audit_view)
    measures = list(session.execute(select(Measure).where(Measure.person_id == person.id)
                                    .order_by(Measure.started_at.desc(), Measure.id.desc()).limit(20)).scalars())
    return PersonControl(status_of(session, [person.id], at=at)[person.id], measures,
                         due.due_tests_of_person(session, person.id, at=at))
