"""Surveillance's indicator on the command screen (未处置预警), registered when the command centre loads its
indicators (`command.indicators.load`); it asks surveillance's own service."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangkong.command.indicators import Indicator, Window, register
from fangkong.command.rules import Figure
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.surveillance import service


def signals_open(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return {p: Figure(numerator=n) for p, n in service.open_signal_counts(session, base, at=w.cutoff).items()}


register(Indicator("signals.open", "未处置预警", "Open signals", "count", "down",
                   "Early-warning signals opened before C and not closed at C (dismissed or investigated to a "
                   "result), at the unit that holds them now.", signals_open))
