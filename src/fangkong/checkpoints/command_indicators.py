"""Checkpoints' indicators on the command screen (卡口查验, 未闭环行程), registered when the command
centre loads its indicators (`command.indicators.load`); each asks checkpoints' own service."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangkong.checkpoints.service import figures
from fangkong.command.indicators import Indicator, Window, register
from fangkong.command.rules import Figure
from fangkong.kernel.jurisdictions.models import Unit


def inspected(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return {p: Figure(numerator=n) for p, n in figures.inspected_counts(session, base, start=w.start,
                                                                        end=w.cutoff).items()}


def trips_open(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return {p: Figure(numerator=n) for p, n in figures.open_trip_counts(session, base, at=w.cutoff).items()}


register(Indicator("checkpoints.inspected", "卡口查验", "Checkpoint inspections", "count", "up",
                   "Persons and vehicles inspected at the checkpoints of the subtree in [D, C) (one checkpoint "
                   "record each).", inspected))
register(Indicator("trips.open", "未闭环行程", "Open trips", "count", "down",
                   "Truck trips (点对点闭环) entered by C and not closed at C, at the unit that owns the trip.",
                   trips_open))
