"""Releasing (解除管控) as an action: one person or a whole cohort, with the release notice printed as
one PDF. The rules are `lifecycle.release_measure`'s (day N, every test day matched by a negative,
an override only with a reason and `case.manage`); the steps page and the API call this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.control.service import lifecycle
from fangkong.control.service import notices as notices_service
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.people.models import Person


@dataclass
class Released:
    """What a release did: the steps taken (in the order asked) and the notices' PDF (empty when no
    one was released or no notice was asked for)."""

    steps: list[lifecycle.Step] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    pdf: bytes = b""
    file_sha256: str = ""


def release_persons(session: Session, actor: Actor, *, measure_ids: Sequence[int], at: dt.datetime | None = None,
                    override_reason: str | None = None, notices: bool = True) -> Released:
    """Release every measure in `measure_ids` at `at` (each by `release_measure`'s rule and audit) and
    print one release notice per person as one PDF. All or nothing: the first refusal (409, naming
    the missing test days or day N) raises, and the caller's transaction rolls back."""
    at = at or clock.now()
    out = Released()
    for mid in dict.fromkeys(measure_ids):
        m = lifecycle.release_measure(session, actor, measure_id=mid, at=at, override_reason=override_reason)
        out.measures.append(m)
        out.steps.append(lifecycle.Step(m.person_id, m.id, "release"))
    return _print(session, actor, out, at=at, notices=notices)


def apply_steps(session: Session, actor: Actor, *, measure_ids: Sequence[int], at: dt.datetime | None = None,
                notices: bool = True) -> Released:
    """Apply the due step (stepdown or release, as `due_steps` finds it at `at`) of each chosen measure
    and print the release notices of those released. A chosen measure with no due step is skipped."""
    at = at or clock.now()
    wanted = set(measure_ids)
    out = Released()
    for s in lifecycle.due_steps(session, actor, at=at, measure_ids=sorted(wanted)):
        if s.action == "release":
            out.measures.append(lifecycle.release_measure(session, actor, measure_id=s.measure_id, at=at))
        else:
            lifecycle.stepdown_measure(session, actor, measure_id=s.measure_id, at=at)
        out.steps.append(s)
    return _print(session, actor, out, at=at, notices=notices)


def _print(session: Session, actor: Actor, out: Released, *, at: dt.datetime, notices: bool) -> Released:
    if not notices or not out.measures:
        return out
    printed = notices_service.issue_notices(session, actor, kind="release_notice",
                                            measure_ids=[m.id for m in out.measures], at=at)
    numbers = {n.measure_id: n.notice_no for n in printed.notices}
    out.steps = [lifecycle.Step(s.person_id, s.measure_id, s.action, numbers.get(s.measure_id, "")) for s in out.steps]
    out.pdf, out.file_sha256 = printed.pdf, printed.sha256
    return out


def persons_of(session: Session, person_ids: Sequence[int]) -> dict[int, Person]:
    """The persons of a steps list (their name and masked ID beside each step), by id."""
    ids = sorted(set(person_ids))
    out: dict[int, Person] = {}
    for i in range(0, len(ids), 500):
        out.update({p.id: p for p in session.execute(select(Person).where(
            in_list(session, Person.id, ids[i:i + 500]))).scalars()})
    return out


def upcoming(session: Session, actor: Actor, *, at: dt.datetime, days: int = 7, site_id: int | None = None,
             skip: set[int] | None = None, limit: int = 500) -> list[Measure]:
    """Active measures the actor sees whose day N falls within `days` days of `at` (by planned end
    date), soonest first; those in `skip` (already due) left out."""
    actor.require("measure.start")
    today = clock.to_local(at).date()  # type: ignore[union-attr]
    stmt = scope.visible(select(Measure), actor, Measure).where(
        Measure.status == "active", Measure.planned_end_on.is_not(None),
        Measure.planned_end_on <= today + dt.timedelta(days=days))
    if site_id is not None:
        stmt = stmt.where(Measure.place_id == site_id)
    rows = session.execute(stmt.order_by(Measure.planned_end_on, Measure.id).limit(limit)).scalars().all()
    return [m for m in rows if m.id not in (skip or set())]
