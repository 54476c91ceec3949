"""The command centre's figures from checkpoints (its `command_indicators`): counts per owning unit path
over a base unit's subtree, one grouped statement each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fangkong.checkpoints.models import CheckpointRecord, Trip
from fangkong.kernel import scope
from fangkong.kernel.jurisdictions.models import Unit


def inspected_counts(session: Session, base: Unit, *, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Passages inspected (查验: one record per person or vehicle) in [start, end), per unit path of the record."""
    stmt = scope.within(select(CheckpointRecord.unit_path, func.count()).where(
        CheckpointRecord.inspected_at >= start, CheckpointRecord.inspected_at < end)
        .group_by(CheckpointRecord.unit_path), base, CheckpointRecord)
    return {path: int(n) for path, n in session.execute(stmt)}


def open_trip_counts(session: Session, base: Unit, *, at: dt.datetime) -> dict[str, int]:
    """Truck trips (点对点闭环) entered by `at` and not closed by then, per unit path of the trip."""
    stmt = scope.within(select(Trip.unit_path, func.count()).where(
        Trip.entered_at <= at, or_(Trip.closed_at.is_(None), Trip.closed_at > at))
        .group_by(Trip.unit_path), base, Trip)
    return {path: int(n) for path, n in session.execute(stmt)}
