"""Control's indicator on the command screen (隔离点使用率), registered when the command centre loads its
indicators (`command.indicators.load`); it asks the quarantine sites' own service."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangkong.command.indicators import Indicator, Window, register
from fangkong.command.rules import Figure
from fangkong.control.sites.service import capacity
from fangkong.kernel.jurisdictions.models import Unit


def occupancy(session: Session, base: Unit, w: Window) -> dict[str, Figure]:
    return {p: Figure(numerator=occupied, denominator=usable)
            for p, (occupied, usable) in capacity.occupancy_by_unit(session, base, at=w.cutoff).items()}


register(Indicator("quarantine.occupancy", "隔离点使用率", "Quarantine occupancy", "rate", "down",
                   "Rooms occupied at C over the rooms in service at C, at the quarantine sites of the subtree "
                   "(a room out of service is not counted; no room: —).", occupancy))
