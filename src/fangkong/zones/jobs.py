"""Scheduled zone work: the door-knock tasks of rounds at the pack's share of their deadline, the
daily rounds of high-risk zones, and persons registered in a zone after it was drawn."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog


@job("zones.door_knock", schedule="*/10 * * * *", label=N_("Door-knock tasks of testing rounds near their deadline"))
def door_knock(session: Session, at: str | None = None) -> dict[str, Any]:
    """One task per building with targets not yet sampled, for every round past the pack's share of its
    deadline (once per round)."""
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones.service import rounds

    when = clock.parse_time(at) if at else None
    return rounds.create_door_knock_tasks(session, SYSTEM_ACTOR, at=when or clock.now())


@job("zones.daily_rounds", schedule="0 7 * * *", label=N_("Daily testing round of every high-risk zone until lifted"))
def daily_rounds(session: Session, at: str | None = None) -> dict[str, Any]:
    """A round for every high-risk zone in force whose last round is the pack's `high_round_every_days`
    old or more (local dates), until the zone is lifted or downgraded."""
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones.service import rounds

    when = clock.parse_time(at) if at else None
    return rounds.start_daily_rounds(session, SYSTEM_ACTOR, at=when or clock.now())


@job("zones.new_residents", schedule="*/30 * * * *",
     label=N_("Persons registered in a zone after it was drawn put under its measure"))
def new_residents(session: Session, at: str | None = None) -> dict[str, Any]:
    """Persons arriving later in a zone in force are decided by its level (the zone's measure)."""
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones.service import zones

    when = clock.parse_time(at) if at else None
    return zones.admit_new_residents(session, SYSTEM_ACTOR, at=when or clock.now())
