"""Check-in reminders at the pack's 08:00 and 15:00: one SMS through the kernel's outbox for each person
in a check-in phase who has not checked in yet in that slot, once per person and slot, replayable at any
instant (the job's `at`); the pure rule picks the slot whose reminder is due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from control_factories import build_world, make_id, person
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import checkin_rules as cr
from fangkong.control import jobs as _jobs  # noqa: F401  (registers the jobs)
from fangkong.control import service as control_service
from fangkong.control.models import CheckInReminder, Measure
from fangkong.control.service import checkins, reminders
from fangkong.control.service.checkins import CheckInItem
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import JOBS
from fangkong.kernel.messaging.models import OutboxMessage

TZ = dt.timezone(dt.timedelta(hours=8))
D0 = dt.date(2022, 4, 18)


def t(day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(t(6, 9)):
        yield


@pytest.mark.parametrize(("hour", "slot"), [
    (7.99, None), (8, (0, 12)), (11.5, (0, 12)), (12, None), (14.99, None), (15, (12, 24)), (23.9, (12, 24))])
def test_the_reminder_slot_is_the_one_whose_reminder_time_has_come(hour: float, slot: tuple[int, int] | None
                                                                   ) -> None:
    got = cr.reminder_slot(t(3, hour), TZ, ("08:00", "15:00"), ("00:00", "12:00"))
    assert got == (None if slot is None else (t(3, slot[0]).astimezone(dt.UTC), t(3, slot[1]).astimezone(dt.UTC)))


def _start(session: Session, w, seq: int, name: str, category: str, **kw) -> Measure:
    pid = person(session, w, seq, name)
    return control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category=category,
                                         rule=f"categories.{category}", started_at=t(2, 10), **kw)


def _reminders(session: Session) -> list[OutboxMessage]:
    return list(session.execute(select(OutboxMessage).where(OutboxMessage.subject_type == reminders.SUBJECT)
                                .order_by(OutboxMessage.id)).scalars())


def test_one_reminder_per_person_and_slot_for_who_has_not_checked_in(session: Session) -> None:
    from fangkong.kernel.people import service as people_service

    w = build_world(session)
    central = _start(session, w, 10, "张密接", "close_contact", place_kind="site", place_id=w.site.id,
                     exposure_at=t(0, 19))
    home = _start(session, w, 20, "赵居家", "secondary_contact", exposure_at=t(1, 19))
    nophone = people_service.register_person(session, SYSTEM_ACTOR, name="钱无机", id_number=make_id(30),
                                             unit_id=w.grid.id).id
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=nophone, category="secondary_contact",
                                  rule="categories.secondary_contact", started_at=t(2, 10))
    _start(session, w, 40, "孙待房", "close_contact", place_kind="site", place_id=w.site.id, planned=True)
    checkins.record_checkins(session, SYSTEM_ACTOR, items=[CheckInItem(2, {
        "id_number": make_id(10), "checked_at": "2022-04-23 07:30", "temperature": "36.5"})], via="import")
    job = JOBS["control.checkin_reminders"]  # registered; `at` replays any instant

    assert job(session, at="2022-04-23T07:59:00+08:00")["queued"] == 0  # before the first reminder
    first = job(session, at="2022-04-23T08:00:00+08:00")
    assert {k: first[k] for k in ("queued", "checked_in", "no_phone", "already")} == {
        "queued": 1, "checked_in": 1, "no_phone": 1, "already": 0}  # the planned measure takes no check-ins
    [sms] = _reminders(session)
    assert (sms.person_id, sms.subject_id, sms.status, sms.channel) == (home.person_id, home.id, "held", "sms")
    assert "上午" in sms.body and checkins.link_of(home) in sms.body
    again = job(session, at="2022-04-23T09:00:00+08:00")
    assert (again["queued"], again["already"]) == (0, 1) and len(_reminders(session)) == 1
    assert job(session, at="2022-04-23T13:00:00+08:00")["queued"] == 0  # between the morning slot and 15:00
    afternoon = job(session, at="2022-04-23T15:00:00+08:00")
    assert afternoon["queued"] == 2  # a new slot: both who have a phone, the morning check-in counts no more
    rows = session.execute(select(CheckInReminder).order_by(CheckInReminder.id)).scalars().all()
    assert [(r.person_id, r.slot_start) for r in rows] == [
        (home.person_id, t(5, 0)), (central.person_id, t(5, 12)), (home.person_id, t(5, 12))]
    assert "下午" in _reminders(session)[-1].body
