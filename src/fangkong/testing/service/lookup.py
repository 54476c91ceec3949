"""Reads other capabilities make of testing (检测结果查询): case candidates and a person's results, as
plain values. Tracing confirms case candidates and follows a close contact's first tests here,
never through testing's tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import PermissionDenied
from fangkong.kernel.people.models import Person
from fangkong.testing.models import CaseCandidate, Tube, TubeSample

MAX_LIMIT = 500


@dataclass(frozen=True)
class CandidateView:
    """A positive individual result awaiting confirmation as a case (病例候选)."""

    id: int
    person_id: int
    via: str
    collected_at: dt.datetime | None
    reported_at: dt.datetime | None
    created_at: dt.datetime
    unit_id: int


@dataclass(frozen=True)
class TestResult:
    """One test of a person (核酸检测): sampled at `collected_at`; `result` is the tube's standing result
    (None while pending); `pool_size` > 1 for a pooled tube."""

    __test__ = False  # not a pytest class

    tube_id: int
    collected_at: dt.datetime
    result: str | None
    pool_size: int


def _view(c: CaseCandidate) -> CandidateView:
    return CandidateView(c.id, c.person_id, c.via, c.collected_at, c.reported_at, c.created_at, c.unit_id)


def _require_any(actor: Actor, *permissions: str) -> None:
    if not any(actor.can(p) for p in permissions):
        raise PermissionDenied(permissions[0])


def get_case_candidate(session: Session, actor: Actor, candidate_id: int) -> CandidateView:
    """One case candidate in the actor's jurisdiction (NotFound otherwise)."""
    _require_any(actor, "case.view", "testing.view")
    return _view(scope.get_visible(session, actor, CaseCandidate, candidate_id))


def case_candidates(session: Session, actor: Actor, *, limit: int = 100, before_id: int | None = None
                    ) -> list[CandidateView]:
    """Case candidates in the actor's jurisdiction, newest first (`before_id` continues a page)."""
    _require_any(actor, "case.view", "testing.view")
    stmt = scope.visible(select(CaseCandidate), actor, CaseCandidate)
    if before_id is not None:
        stmt = stmt.where(CaseCandidate.id < before_id)
    limit = max(1, min(int(limit), MAX_LIMIT))
    return [_view(c) for c in session.execute(stmt.order_by(CaseCandidate.id.desc()).limit(limit)).scalars()]


def results_of_person(session: Session, actor: Actor, *, person_id: int, since: dt.datetime | None = None
                      ) -> list[TestResult]:
    """The person's tests sampled at or after `since`, oldest first (a test counts from its sampling
    time). The person must be in the actor's jurisdiction (NotFound otherwise)."""
    _require_any(actor, "case.view", "testing.view")
    scope.get_visible(session, actor, Person, person_id)
    stmt = (select(Tube.id, TubeSample.collected_at, Tube.result, Tube.pool_size)
            .join(Tube, Tube.id == TubeSample.tube_id).where(TubeSample.person_id == person_id))
    if since is not None:
        stmt = stmt.where(TubeSample.collected_at >= since)
    return [TestResult(tid, at, result, size) for tid, at, result, size in
            session.execute(stmt.order_by(TubeSample.collected_at, Tube.id))]
