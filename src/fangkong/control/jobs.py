"""Scheduled control work (管控督促): a task for every test day of a measure that passed without a sample."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fangkong.control import retention as _retention  # noqa: F401  (registers its retention kinds and holds)
from fangkong.kernel import clock
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog


@job("control.missed_tests", schedule="20 * * * *",
     label=N_("Turn missed test days of measures into tasks"))
def missed_tests(session: Session, at: str | None = None) -> dict[str, Any]:
    """Daily (or hourly): one task per missed test day of a measure in force (no sample by the end of
    its day plus the pack's grace); running it again makes no second task."""
    from fangkong.control import service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = clock.parse_time(at) if at else None
    return service.create_missed_tasks(session, SYSTEM_ACTOR, at=when or clock.now())


@job("control.missed_checkins", schedule="5 * * * *",
     label=N_("Turn missed check-in slots of measures into tasks"))
def missed_checkins(session: Session, at: str | None = None) -> dict[str, Any]:
    """Hourly: every check-in slot (00–12, 12–24) that passed inside a measure's check-in phases
    without a check-in is recorded once and chased by a task (one open task per person)."""
    from fangkong.control.service import checkins
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = clock.parse_time(at) if at else None
    return checkins.create_missed_checkin_tasks(session, SYSTEM_ACTOR, at=when or clock.now())


@job("control.home_confirmations", schedule="10 * * * *",
     label=N_("Daily confirmation tasks for home-measure households"))
def home_confirmations(session: Session, at: str | None = None) -> dict[str, Any]:
    """Hourly (new households join the day): one task per home-measure household for its community to confirm it is in
    (phone, video or visit), overdue at 20:00; running it again the same day makes no second task."""
    from fangkong.control.service import checkins
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = clock.parse_time(at) if at else None
    return checkins.create_home_confirmations(session, SYSTEM_ACTOR, at=when or clock.now())


@job("control.checkin_reminders", schedule="0 * * * *",
     label=N_("Remind persons under measures who have not checked in yet (08:00, 15:00)"))
def checkin_reminders(session: Session, at: str | None = None) -> dict[str, Any]:
    """Hourly: from each of the pack's reminder times (08:00, 15:00) until its check-in slot ends, one SMS
    (kernel outbox) to each person in a check-in phase who has not checked in in that slot; once per
    person and slot."""
    from fangkong.control.service import reminders
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = clock.parse_time(at) if at else None
    return reminders.queue_checkin_reminders(session, SYSTEM_ACTOR, at=when or clock.now())
