"""Testing's figures for the command centre's indicators (指挥部指标): counts per owning unit path of a
subtree, no personal data. The caller passes a unit it found visible; rolling up is the caller's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.kernel import scope
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.testing.models import EmployerHeadcount, GroupMember, Tube, TubeSample
from fangkong.testing.service import common
from fangkong.testing.service.compliance import status_counts


def compliance_counts(session: Session, base: Unit, *, at: dt.datetime) -> dict[str, tuple[int, int]]:
    """应检尽检 at `at`, per unit path: (members compliant or not yet due, active members) — the
    compliance summary's and export's statuses at that moment."""
    grace = common.grace(common.pack(session))
    return {path: (c[0] + c[3], sum(c)) for path, c in status_counts(session, base, now=at, grace=grace).items()}


def coverage_counts(session: Session, base: Unit) -> dict[str, tuple[int, int]]:
    """应纳尽纳 per unit path of the declaring employer: (enrolled up to the declared headcount,
    declared headcount), over every (employer, group) that declared one."""
    declared = {(eid, g): (path, n) for eid, g, path, n in session.execute(scope.within(select(
        EmployerHeadcount.employer_id, EmployerHeadcount.group_code, EmployerHeadcount.unit_path,
        EmployerHeadcount.declared), base, EmployerHeadcount))}
    enrolled = {(eid, g): int(n) for eid, g, n in session.execute(
        select(GroupMember.employer_id, GroupMember.group_code, func.count())
        .where(GroupMember.active.is_(True), GroupMember.employer_id.in_(sorted({k[0] for k in declared}) or [0]))
        .group_by(GroupMember.employer_id, GroupMember.group_code))}
    out: dict[str, tuple[int, int]] = {}
    for key, (path, n) in declared.items():
        num, den = out.get(path, (0, 0))
        out[path] = (num + min(enrolled.get(key, 0), n), den + n)
    return out


def sampled_counts(session: Session, base: Unit, *, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Persons sampled (采样人次) in [start, end) per unit path of the tube (the sampling point's unit)."""
    stmt = scope.within(select(Tube.unit_path, func.count()).join(TubeSample, TubeSample.tube_id == Tube.id)
                        .where(TubeSample.collected_at >= start, TubeSample.collected_at < end)
                        .group_by(Tube.unit_path), base, Tube)
    return {path: int(n) for path, n in session.execute(stmt)}


def positive_pool_counts(session: Session, base: Unit, *, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Pooled tubes (混采管) that turned positive (their pool actions set off, else their first report) in [start, end), per unit path."""
    turned = func.coalesce(Tube.pool_actions_at, Tube.reported_at)
    stmt = scope.within(select(Tube.unit_path, func.count()).where(
        Tube.pool_size > 1, Tube.result == "positive", turned >= start, turned < end)
        .group_by(Tube.unit_path), base, Tube)
    return {path: int(n) for path, n in session.execute(stmt)}
