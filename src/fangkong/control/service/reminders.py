"""Check-in reminders (打卡提醒): at the pack's reminder times (08:00 and 15:00), one SMS through the
kernel's outbox to every person in a check-in phase (central, home quarantine, home monitoring) who has
not checked in yet in that check-in slot. Idempotent per person and slot (`checkin_reminder`); `at` is
the moment the job stands at (`fangkong jobs run control.checkin_reminders at=T` replays any instant)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import checkin_rules as cr
from fangkong.control.models import CheckIn, CheckInReminder, Measure
from fangkong.control.service.checkins import _active_measures, link_of, stretches_of
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service

#: the outbox subject of a reminder (the subject id is the measure's)
SUBJECT = "checkin_reminder"


def reminder_text(url: str, slot_start: dt.datetime) -> str:
    """The reminder SMS (Chinese: it goes to residents)."""
    half = "上午" if slot_start.astimezone(clock.tz()).hour < 12 else "下午"
    return f"【防控】您今天{half}还未健康打卡,请尽快填报体温和症状:{url}"


def queue_checkin_reminders(session: Session, actor: Actor, *, at: dt.datetime, base: str | None = None
                            ) -> dict[str, int]:
    """Queue the reminders due at `at` (see the module docstring). Returns counts: `checked` measures
    looked at, `queued` reminders, `checked_in` persons who need none, `already` reminded in this slot,
    `no_phone` persons without a number (nothing to send to)."""
    from fangkong.kernel.messaging import service as messaging
    from fangkong.settings import get_settings

    pack = policy_service.active_pack(session)
    out = {"checked": 0, "queued": 0, "checked_in": 0, "already": 0, "no_phone": 0}
    slot = cr.reminder_slot(at, clock.tz(), pack.control.checkin_reminders, pack.control.checkin_slots)
    if slot is None:
        return out
    lo, _hi = slot
    base = (base if base is not None else get_settings().public_url or "").rstrip("/")
    done: set[int] = set()  # persons settled this run (a person under two measures gets one reminder)
    after = 0
    while True:
        batch = _active_measures(session, at, after)
        if not batch:
            break
        after = batch[-1].id
        out["checked"] += len(batch)
        stretches = stretches_of(session, batch, at=at)
        due: dict[int, Measure] = {}
        for m in batch:
            if m.person_id not in done and m.person_id not in due and cr.in_force(stretches.get(m.id, []), at):
                due[m.person_id] = m
        if not due:
            continue
        pids = sorted(due)
        checked_in = set(session.execute(select(CheckIn.person_id).where(
            in_list(session, CheckIn.person_id, pids), CheckIn.checked_at >= lo, CheckIn.checked_at <= at)).scalars())
        already = set(session.execute(select(CheckInReminder.person_id).where(
            in_list(session, CheckInReminder.person_id, pids), CheckInReminder.slot_start == lo)).scalars())
        phones = set(session.execute(select(Person.id).where(
            in_list(session, Person.id, pids), Person.phone_enc.is_not(None))).scalars())
        for pid in pids:
            done.add(pid)
            m = due[pid]
            if pid in checked_in:
                out["checked_in"] += 1
            elif pid in already:
                out["already"] += 1
            elif pid not in phones:
                out["no_phone"] += 1
            else:
                msg = messaging.send(session, actor, channel="sms", person_id=pid, subject_type=SUBJECT,
                                     subject_id=m.id, body=reminder_text(f"{base}{link_of(m)}", lo))
                session.add(CheckInReminder(person_id=pid, measure_id=m.id, slot_start=lo, outbox_id=msg.id,
                                            created_at=at))
                out["queued"] += 1
        session.flush()
    if out["queued"]:
        audit.record(session, actor, "control.checkin_reminders", object_type="checkin_reminder",
                     slot_start=clock.iso_local(lo), at=at.isoformat(), **out)
    return out
