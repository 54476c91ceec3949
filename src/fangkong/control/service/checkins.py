"""Check-ins (健康打卡): twice a day — slots 00:00–12:00 and 12:00–24:00, local time (the pack's
`control.checkin_slots`) — a person in the central, home-quarantine or home-monitoring phase of a
measure reports a temperature and symptoms: taken by site staff on the room page, sent by the person
from the phone page of a signed SMS link, posted by another system (`POST /api/v1/checkins`) or
imported (`fangkong import checkins FILE`). One path for all of them: `record_checkins`.

- Idempotent by person + `checked_at`: the same check-in sent twice is stored once (`duplicate`).
- Refused: no measure with check-ins in force at `checked_at` (the message says when the person was
  released or became a case), a temperature outside 34–43 °C, a time in the future.
- ≥ the pack's fever threshold (37.3 °C) or a listed symptom: a task to the site doctor (the site's
  unit, else the measure's) and a task to sample the person that day.
- Missed slots (`create_missed_checkin_tasks`, a job, as of T): a slot lying wholly inside the measure's
  check-in stretches before T without a check-in gets a task for the measure's unit — one open task per
  person at a time; later missed slots are added to it.
- Home measures (`create_home_confirmations`, a job, as of T): one task per home-measure household and
  day for its community to confirm it is in (phone, video or visit), overdue at `control.home_confirm_due`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control import checkin_rules as cr
from fangkong.control import kinds
from fangkong.control.measure_rules import CHECKIN_PHASES, PHASE_OF_KIND
from fangkong.control.models import CheckIn, CheckInMissed, HomeConfirmation, Measure
from fangkong.control.service import lifecycle
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.clock import BadTime
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.messages import FieldIssue, _, labels, message, reason_of
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.resolution import find_known
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.kernel.tasks import service as tasks_service

CHUNK = 500
PERMISSION = "measure.checkin"
#: missed slots are looked for in the last this many hours before T (the job runs every hour)
LOOKBACK = dt.timedelta(hours=72)
HOME_PHASES = ("home_quarantine", "home_monitoring")

OUT_OF_RANGE = message("checkin.temperature_range", _("out of range 34–43 °C"))
NOT_A_NUMBER = message("checkin.temperature_text", _("not a temperature: %(text)s"))
NO_MEASURE = message("checkin.no_measure", _("no measure with check-ins in force at %(at)s"))
RELEASED = message("checkin.released", _("the person was released on %(on)s: no check-ins after release"))
CONVERTED = message("checkin.converted", _("the person became a case on %(on)s: no check-ins"))
NO_PERSON = message("checkin.no_person", _("nobody under a measure has this number"))
SEVERAL = message("checkin.several", _("%(n)s persons share this phone: give the name or the ID number"))
NEED_PERSON = message("checkin.need_person", _("give id_number or phone"))
FUTURE = message("checkin.future", _("in the future"))

labels("field", {"temperature": _("Temperature"), "checked_at": _("Check-in time"), "symptoms": _("Symptoms")})

CHECKIN_COLUMNS: dict[str, list[str]] = {
    "id_number": ["身份证号", "身份证号码", "身份证", "证件号码", "证件号", "公民身份号码", "id", "id no", "id card"],
    "phone": ["手机号", "手机号码", "手机", "联系电话", "电话", "mobile", "phone number", "telephone", "tel"],
    "name": ["姓名", "名字", "人员姓名", "full name", "person name"],
    "checked_at": ["打卡时间", "测温时间", "体温时间", "检测时间", "时间", "checked at", "check-in time", "time"],
    "temperature": ["体温", "体温(℃)", "体温℃", "温度", "temperature", "temp", "body temperature"],
    "symptoms": ["症状", "有无症状", "不适症状", "symptoms", "symptom"],
    "by": ["登记人", "测温人", "填报人", "记录人", "by", "recorded by", "reported by"],
}


@dataclass
class CheckInItem:
    """One check-in to record: its row number (file row or batch position) and its fields."""

    number: int
    values: dict[str, str]
    #: the person already known (the staff page, the phone link): no lookup by number
    person_id: int | None = None


# ---------------------------------------------------------------------------------------- reading

def _changes(m: Measure, events: Sequence[Any]) -> list[cr.Change]:
    if events:
        return [cr.Change(e.at, e.to_status, e.to_phase) for e in events]
    kind = (m.phases or [{}])[0].get("kind", "") if m.phases else ""
    out = [cr.Change(m.started_at, "active", PHASE_OF_KIND.get(kind, m.phase or "ended"))]
    if m.ended_at is not None:
        out.append(cr.Change(m.ended_at, m.status, "ended"))
    return out


def changes_of(session: Session, measures: Sequence[Measure], *, at: dt.datetime | None = None
               ) -> dict[int, list[cr.Change]]:
    """Each measure's changes of state and phase, oldest first (up to `at` when given)."""
    events = lifecycle.events_of(session, [m.id for m in measures], at=at)
    return {m.id: _changes(m, events.get(m.id, [])) for m in measures}


def stretches_of(session: Session, measures: Sequence[Measure], *, at: dt.datetime | None = None
                 ) -> dict[int, list[tuple[dt.datetime, dt.datetime | None]]]:
    """Each measure's check-in stretches (changes up to `at` when given)."""
    return {mid: cr.periods(ch) for mid, ch in changes_of(session, measures, at=at).items()}


def phase_at(changes: Sequence[cr.Change], at: dt.datetime) -> str | None:
    """The phase of the last change at or before `at`."""
    last = [c for c in changes if c.at <= at]
    return last[-1].phase if last else None


def _measures_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[Measure]]:
    out: dict[int, list[Measure]] = defaultdict(list)
    ids = sorted(set(person_ids))
    for i in range(0, len(ids), CHUNK):
        for m in session.execute(select(Measure).where(in_list(session, Measure.person_id, ids[i:i + CHUNK]))
                                 .order_by(Measure.started_at, Measure.id)).scalars():
            out[m.person_id].append(m)
    return out


def _checkins_of(session: Session, measure_ids: Sequence[int], *, until: dt.datetime
                 ) -> dict[int, list[tuple[dt.datetime, float]]]:
    out: dict[int, list[tuple[dt.datetime, float]]] = defaultdict(list)
    ids = sorted(set(measure_ids))
    for i in range(0, len(ids), CHUNK):
        for mid, at, temp in session.execute(select(CheckIn.measure_id, CheckIn.checked_at, CheckIn.temperature)
                                             .where(in_list(session, CheckIn.measure_id, ids[i:i + CHUNK]),
                                                    CheckIn.checked_at <= until)):
            out[mid].append((at if at.tzinfo else at.replace(tzinfo=dt.UTC), temp))
    return out


def counts(session: Session, measures: Sequence[Measure], *, at: dt.datetime) -> dict[int, tuple[int, int]]:
    """measure id → (missed check-in slots, check-ins at or above the fever threshold), as of `at`
    (changes and check-ins after `at` ignored): the `checkins_missed` and `fevers` of the export."""
    pack = policy_service.active_pack(session)
    tz = clock.tz()
    stretches = stretches_of(session, measures, at=at)
    checkins = _checkins_of(session, [m.id for m in measures], until=at)
    out = {}
    for m in measures:
        got = checkins.get(m.id, [])
        missed = cr.missed(stretches.get(m.id, []), [t for t, _temp in got], at, tz, pack.control.checkin_slots)
        out[m.id] = (len(missed), sum(1 for _t, temp in got if temp >= pack.control.fever_celsius))
    return out


# ---------------------------------------------------------------------------------------- writing

def _who(p: Person | None) -> str:
    if p is None:
        return ""
    return p.name or p.phone_masked or p.id_number_masked or f"#{p.id}"


def _find_person(session: Session, v: dict[str, str], rep: ReportRow) -> list[int]:
    id_number, phone, name = v.get("id_number", ""), v.get("phone", ""), v.get("name", "")
    if not id_number and not phone:
        rep.issues.append(FieldIssue("id_number", NEED_PERSON()))
        return []
    ids, issue = find_known(session, id_number=id_number or None, phone=None if id_number else phone,
                            name=name or None)
    if issue:
        rep.issues.append(issue)
        return []
    if not ids:
        rep.issues.append(FieldIssue("id_number" if id_number else "phone", NO_PERSON()))
    return ids


def _refusal(measures: Sequence[Measure], stretches: dict[int, list[Any]], at: dt.datetime) -> FieldIssue:
    """Why nobody's measure takes a check-in at `at`: released or converted before it, else none in force."""
    ended = [m for m in measures if m.ended_at is not None and m.ended_at <= at and m.status in ("released",
                                                                                                  "converted")]
    if ended and not any(cr.in_force(stretches.get(m.id, []), at) for m in measures):
        last = max(ended, key=lambda m: m.ended_at)  # type: ignore[arg-type, return-value]
        on = clock.to_local(last.ended_at).date().isoformat()  # type: ignore[union-attr]
        return FieldIssue("checked_at", (CONVERTED if last.status == "converted" else RELEASED)(on=on))
    return FieldIssue("checked_at", NO_MEASURE(at=clock.format_local(at)))


def record_checkins(session: Session, actor: Actor, *, items: Sequence[CheckInItem], via: str = "import",
                    user_by: str | None = None, advance: Callable[[int], None] | None = None,
                    measure_ids: Iterable[int] | None = None) -> list[ReportRow]:
    """Record check-ins (记录健康打卡), one report row per item: `accepted`, `duplicate` (this person
    checked in at this moment already) or `rejected` with `field: message` issues. Persons are found by
    ID number, or by phone (narrowed by name); only measures the actor sees take check-ins (the phone
    page passes its one `measure_ids`). Fever or a listed symptom makes the alert and sampling tasks."""
    actor.require(PERMISSION)
    now = clock.now()
    pack = policy_service.active_pack(session)
    tz = clock.tz()
    reports = [ReportRow(it.number, "accepted") for it in items]
    parsed: list[tuple[ReportRow, list[int], dt.datetime | None, float | None, list[str], str]] = []
    for it, rep in zip(items, reports, strict=True):
        v = {k: (val or "").strip() for k, val in it.values.items()}
        pids = [it.person_id] if it.person_id is not None else _find_person(session, v, rep)
        when = None
        try:
            when = clock.parse_time(v.get("checked_at", ""))
            if when is None:
                rep.issues.append(FieldIssue("checked_at", REQUIRED()))
            elif when > now + dt.timedelta(minutes=5):
                rep.issues.append(FieldIssue("checked_at", FUTURE()))
                when = None
        except BadTime as exc:
            rep.issues.append(FieldIssue("checked_at", reason_of(exc)))
        temp, why = cr.parse_temperature(v.get("temperature", ""))
        if why == "missing":
            rep.issues.append(FieldIssue("temperature", REQUIRED()))
        elif why == "out_of_range":
            rep.issues.append(FieldIssue("temperature", OUT_OF_RANGE()))
        elif why:
            rep.issues.append(FieldIssue("temperature", NOT_A_NUMBER(text=repr(v.get("temperature", ""))[:40])))
        parsed.append((rep, pids, when, temp, cr.parse_symptoms(v.get("symptoms", "")),
                       (v.get("by") or user_by or "")[:64]))
    all_pids = sorted({p for _r, pids, *_rest in parsed for p in pids})
    measures = _measures_of(session, all_pids)
    if measure_ids is not None:
        allowed = set(measure_ids)
        measures = {p: [m for m in ms if m.id in allowed] for p, ms in measures.items()}
    flat = [m for ms in measures.values() for m in ms]
    changes = changes_of(session, flat)
    stretches = {mid: cr.periods(ch) for mid, ch in changes.items()}
    existing: set[tuple[int, dt.datetime]] = set()
    for i in range(0, len(all_pids), CHUNK):
        for pid, at in session.execute(select(CheckIn.person_id, CheckIn.checked_at).where(
                in_list(session, CheckIn.person_id, all_pids[i:i + CHUNK]))):
            existing.add((pid, at if at.tzinfo else at.replace(tzinfo=dt.UTC)))
    sites = {p.id: p for p in session.execute(select(Place).where(
        Place.id.in_({m.place_id for m in flat if m.place_id is not None} or {0}))).scalars()}
    persons = {p.id: p for p in session.execute(select(Person).where(
        Person.id.in_(all_pids or [0]))).scalars()} if len(all_pids) <= CHUNK else {}
    stored: list[CheckIn] = []
    for rep, pids, when, temp, symptoms, by in parsed:
        if rep.issues or when is None or temp is None or not pids:
            rep.status = "rejected"
            continue
        found = [(p, m) for p in pids for m in measures.get(p, [])
                 if scope.sees(actor, m) and cr.in_force(stretches.get(m.id, []), when)]
        if not found:
            rep.status = "rejected"
            rep.issues.append(_refusal([m for p in pids for m in measures.get(p, []) if scope.sees(actor, m)],
                                       stretches, when))
            continue
        if len({p for p, _m in found}) > 1:
            rep.status = "rejected"
            rep.issues.append(FieldIssue("phone", SEVERAL(n=len({p for p, _m in found}))))
            continue
        pid, m = found[-1]
        rep.person_id = pid
        rep.extra["measure_id"] = m.id
        if (pid, when) in existing:
            rep.status = "duplicate"
            continue
        existing.add((pid, when))
        phase = phase_at(changes.get(m.id, []), when)
        site_id = m.place_id if m.place_kind == "site" and phase == "central" else None
        row = CheckIn(measure_id=m.id, person_id=pid, checked_at=when, temperature=temp, symptoms=symptoms,
                      by=by, via=via, user_id=actor.user_id, phase=phase, site_id=site_id,
                      alert=cr_alert(temp, symptoms, pack), created_at=now, unit_id=m.unit_id,
                      unit_path=m.unit_path)
        session.add(row)
        stored.append(row)
        rep.extra["alert"] = ";".join(row.alert)
    session.flush()
    alerts = [r for r in stored if r.alert]
    if alerts:
        _alert_tasks(session, actor, alerts, sites, persons, pack, tz)
    if stored:
        audit.record(session, actor, "control.checkins", object_type="checkin", via=via, stored=len(stored),
                     alerts=len(alerts), ids=audit.compact_ids(r.id for r in stored))
    if advance is not None:
        advance(len(items))
    return reports


def cr_alert(temp: float, symptoms: Sequence[str], pack: Any) -> list[str]:
    from fangkong.control.measure_rules import checkin_alert

    return checkin_alert(temp, symptoms, fever_celsius=pack.control.fever_celsius, listed=pack.control.symptoms)


def _alert_tasks(session: Session, actor: Actor, rows: Sequence[CheckIn], sites: dict[int, Place],
                 persons: dict[int, Person], pack: Any, tz: dt.tzinfo) -> None:
    """The site doctor's alert (the site's unit, else the measure's) and a sampling task due at the
    end of the check-in's local day — one open sampling task per person at a time."""
    missing = sorted({r.person_id for r in rows} - set(persons))
    if missing:
        persons.update({p.id: p for p in session.execute(select(Person).where(
            in_list(session, Person.id, missing))).scalars()})
    items: list[tasks_service.NewTask] = []
    owners: list[tuple[CheckIn, str]] = []
    sampling: set[int] = set()
    for r in rows:
        who = _who(persons.get(r.person_id))
        site = sites.get(r.site_id) if r.site_id else None
        words = "、".join(["发热" if a == "fever" else a for a in r.alert])
        local = clock.format_local(r.checked_at)
        detail = {"checkin_id": r.id, "measure_id": r.measure_id, "temperature": r.temperature,
                  "symptoms": list(r.symptoms), "alert": list(r.alert), "site_id": r.site_id}
        items.append(tasks_service.NewTask(
            kinds.CHECKIN_ALERT, f"{who} {r.temperature}℃ {words}({local}{' ' + site.name if site else ''})",
            site.unit_id if site is not None else r.unit_id, "person", r.person_id,
            due_at=r.checked_at + dt.timedelta(hours=1), policy_version=pack.version_tag,
            rule="control.fever_celsius", detail=detail))
        owners.append((r, "alert"))
        if r.person_id not in sampling and tasks_service.open_task_for(
                session, kind=kinds.CHECKIN_SAMPLING, subject_type="person", subject_id=r.person_id) is None:
            sampling.add(r.person_id)
            day = r.checked_at.astimezone(tz).date()
            items.append(tasks_service.NewTask(
                kinds.CHECKIN_SAMPLING, f"{who} 发热/症状当日采样({day.isoformat()})", r.unit_id, "person",
                r.person_id, due_at=clock.local_day_bounds(day)[1], policy_version=pack.version_tag,
                rule="control.fever_celsius", detail=detail))
            owners.append((r, "sampling"))
    ids = tasks_service.create_tasks(session, actor.acting_for(PERMISSION, "task.view", "task.work"), items)
    for (r, what), tid in zip(owners, ids, strict=True):
        if what == "alert":
            r.alert_task_id = tid
        else:
            r.sampling_task_id = tid
    session.flush()


def import_checkins(session: Session, actor: Actor, path: Path, *,
                    progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import checkins FILE` (CSV or XLSX). Raises UnusableFile."""
    table = read_table(Path(path), CHECKIN_COLUMNS, required_any=["checked_at", "temperature"])
    reports = ReportLog()
    for chunk in table.chunks():
        items = [CheckInItem(row.number, row.values) for row in chunk]
        reports.extend(table.report(record_checkins(session, actor, items=items, via="import", advance=progress)))
        checkpoint(session)
    if not reports:
        actor.require(PERMISSION)
    return table.report(reports)


# ------------------------------------------------------------------------------------------- jobs

def _active_measures(session: Session, at: dt.datetime, after_id: int) -> list[Measure]:
    """Measures that may have check-in stretches in the lookback before `at`, a chunk at a time."""
    return list(session.execute(
        select(Measure).where(Measure.id > after_id, Measure.started_at <= at,
                              or_(Measure.status.in_(("active", "planned")), Measure.ended_at > at - LOOKBACK))
        .order_by(Measure.id).limit(CHUNK)).scalars())


def create_missed_checkin_tasks(session: Session, actor: Actor, *, at: dt.datetime) -> dict[str, int]:
    """Every check-in slot that ended in the last 72 hours before `at`, lying wholly inside a measure's
    check-in stretches, without a check-in, is recorded once as missed (漏报), and gets a task for the
    measure's unit — or joins the person's open missed check-in task. Running it again changes nothing."""
    pack = policy_service.active_pack(session)
    tz = clock.tz()
    due = dt.timedelta(hours=pack.control.checkin_missed_due_hours)
    checked = recorded = made = 0
    after = 0
    while True:
        batch = _active_measures(session, at, after)
        if not batch:
            break
        after = batch[-1].id
        checked += len(batch)
        stretches = stretches_of(session, batch, at=at)
        checkins = _checkins_of(session, [m.id for m in batch], until=at)
        known = {(mid, s if s.tzinfo else s.replace(tzinfo=dt.UTC)) for mid, s in session.execute(
            select(CheckInMissed.measure_id, CheckInMissed.slot_start).where(
                in_list(session, CheckInMissed.measure_id, [m.id for m in batch]),
                CheckInMissed.slot_start >= at - LOOKBACK - dt.timedelta(days=1)))}
        new: list[tuple[Measure, dt.datetime, dt.datetime]] = []
        for m in batch:
            slots = cr.missed(stretches.get(m.id, []), [t for t, _ in checkins.get(m.id, [])], at, tz,
                              pack.control.checkin_slots)
            new += [(m, a, b) for a, b in slots if b > at - LOOKBACK and (m.id, a) not in known]
        if not new:
            continue
        persons = {p.id: p for p in session.execute(select(Person).where(
            in_list(session, Person.id, sorted({m.person_id for m, _a, _b in new})))).scalars()}
        open_tasks: dict[int, int | None] = {}
        items: list[tasks_service.NewTask] = []
        item_persons: list[int] = []
        pending: dict[int, list[CheckInMissed]] = defaultdict(list)
        for m, a, b in new:
            row = CheckInMissed(measure_id=m.id, person_id=m.person_id, slot_start=a, slot_end=b, created_at=at,
                                unit_id=m.unit_id, unit_path=m.unit_path)
            session.add(row)
            recorded += 1
            pid = m.person_id
            if pid not in open_tasks:
                task = tasks_service.open_task_for(session, kind=kinds.MISSED_CHECKIN, subject_type="person",
                                                   subject_id=pid)
                open_tasks[pid] = task.id if task is not None else None
            if open_tasks[pid] is not None:
                row.task_id = open_tasks[pid]
                continue
            if pid not in pending:
                slot = f"{clock.format_local(a)}–{b.astimezone(tz).strftime('%H:%M')}"
                items.append(tasks_service.NewTask(
                    kinds.MISSED_CHECKIN, f"管控人员漏报体温 {_who(persons.get(pid))}({slot})", m.unit_id,
                    "person", pid, due_at=at + due, policy_version=pack.version_tag,
                    rule="control.checkin_missed_due_hours",
                    detail={"measure_id": m.id, "slot_start": clock.iso_local(a), "slot_end": clock.iso_local(b)}))
                item_persons.append(pid)
            pending[pid].append(row)
        ids = tasks_service.create_tasks(session, actor, items)
        for pid, tid in zip(item_persons, ids, strict=True):
            for row in pending[pid]:
                row.task_id = tid
        made += len(ids)
        session.flush()
    if recorded:
        audit.record(session, actor, "control.missed_checkins", object_type="checkin_missed", slots=recorded,
                     tasks=made, at=at.isoformat())
    return {"checked": checked, "missed_slots": recorded, "tasks": made}


def household_of(person: Person) -> str:
    """The key of a person's household: the address record, else the address text, else the person."""
    if person.address_id is not None:
        return f"address:{person.address_id}"
    text = "".join((person.address_text or "").split())
    return f"text:{text}"[:200] if text else f"person:{person.id}"


def create_home_confirmations(session: Session, actor: Actor, *, at: dt.datetime) -> dict[str, int]:
    """One task per home-measure household (the persons in a home-quarantine or home-monitoring
    stretch at `at`, by address) and local day, for the measure's unit to confirm it is in — by phone,
    video or a visit — overdue at the pack's `control.home_confirm_due` (20:00). Running it again the
    same day makes no second task."""
    pack = policy_service.active_pack(session)
    tz = clock.tz()
    day = at.astimezone(tz).date()
    hh, mm = (int(x) for x in pack.control.home_confirm_due.split(":"))
    due_at = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=tz).astimezone(dt.UTC)
    households: dict[tuple[int, str], list[tuple[Measure, Person]]] = defaultdict(list)
    after = checked = 0
    while True:
        batch = list(session.execute(select(Measure).where(
            Measure.id > after, Measure.status == "active", Measure.started_at <= at).order_by(Measure.id)
            .limit(CHUNK)).scalars())
        if not batch:
            break
        after = batch[-1].id
        changes = changes_of(session, batch, at=at)
        home = [m for m in batch if changes[m.id] and changes[m.id][-1].status == "active"
                and changes[m.id][-1].phase in HOME_PHASES]
        checked += len(home)
        if not home:
            continue
        persons = {p.id: p for p in session.execute(select(Person).where(
            in_list(session, Person.id, sorted({m.person_id for m in home})))).scalars()}
        for m in home:
            p = persons[m.person_id]
            households[(m.unit_id, household_of(p))].append((m, p))
    done = {(u, h) for u, h in session.execute(select(HomeConfirmation.unit_id, HomeConfirmation.household)
                                                .where(HomeConfirmation.on == day))}
    todo = [(k, v) for k, v in sorted(households.items()) if k not in done]
    items = []
    for (_unit, _key), members in todo:
        names = "、".join(_who(p) for _m, p in members[:4]) + (f"等{len(members)}人" if len(members) > 4 else "")
        address = members[0][1].address_text or ""
        items.append(tasks_service.NewTask(
            kinds.HOME_CONFIRMATION, f"居家管控在位核查 {names} {address}"[:200], members[0][0].unit_id,
            "person", members[0][1].id, due_at=due_at, policy_version=pack.version_tag,
            rule="control.home_confirm_due",
            detail={"on": day.isoformat(), "measure_ids": [m.id for m, _p in members],
                    "person_ids": [p.id for _m, p in members]}))
    ids = tasks_service.create_tasks(session, actor, items)
    for ((unit_id, key), members), tid in zip(todo, ids, strict=True):
        m0 = members[0][0]
        session.add(HomeConfirmation(household=key, on=day, person_ids=[p.id for _m, p in members], task_id=tid,
                                     created_at=at, unit_id=unit_id, unit_path=m0.unit_path))
    session.flush()
    if ids:
        audit.record(session, actor, "control.home_confirmations", object_type="home_confirmation", tasks=len(ids),
                     on=day.isoformat())
    return {"home_measures": checked, "households": len(households), "tasks": len(ids)}


def checkins_of_person(session: Session, person_id: int, *, limit: int = 40) -> list[CheckIn]:
    """A person's latest check-ins, newest first (unscoped: the caller has checked the person)."""
    return list(session.execute(select(CheckIn).where(CheckIn.person_id == person_id)
                                .order_by(CheckIn.checked_at.desc()).limit(limit)).scalars())


def in_checkin_phase(session: Session, measure: Measure, at: dt.datetime) -> bool:
    return cr.in_force(stretches_of(session, [measure]).get(measure.id, []), at)


# ------------------------------------------------------------------------------------------ pages

#: a phone link works until this many days after the measure's end
LINK_DAYS = 7
LINK_REFUSED = {
    "invalid": message("checkin_link.invalid", _("This link is not valid. Please use the link in the text message.")),
    "expired": message("checkin_link.expired", _("This link has expired.")),
    "ended": message("checkin_link.ended", _("Your measure has ended: no more check-ins are needed.")),
    "not_yet": message("checkin_link.not_yet", _("Check-ins start when your measure starts.")),
}


class LinkRefused(Exception):
    """A phone link that cannot be used now: `reason` is a key of LINK_REFUSED."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def link_of(measure: Measure) -> str:
    """The path of the measure's phone link (`/c/{token}`), for the SMS."""
    from fangkong.control import links

    return links.path_of(measure.id)


def link_expires_at(measure: Measure) -> dt.datetime | None:
    """7 days after the measure's end (its release or other end, else the end of day N); None when
    open-ended (the link then lasts while the measure takes check-ins)."""
    if measure.ended_at is not None:
        end = measure.ended_at if measure.ended_at.tzinfo else measure.ended_at.replace(tzinfo=dt.UTC)
    elif measure.planned_end_on is not None:
        end = clock.local_day_bounds(measure.planned_end_on)[1]
    else:
        return None
    return end + dt.timedelta(days=LINK_DAYS)


def measure_for_link(session: Session, token: str, *, at: dt.datetime) -> Measure:
    """The measure a phone link names, when it takes a check-in at `at`; LinkRefused otherwise."""
    from fangkong.control import links

    try:
        measure_id = links.verify_token(token[:80])
    except links.BadLink:
        raise LinkRefused("invalid") from None
    measure = session.get(Measure, measure_id)
    if measure is None:
        raise LinkRefused("invalid")
    expires = link_expires_at(measure)
    if expires is not None and at > expires:
        raise LinkRefused("expired")
    if not cr.in_force(stretches_of(session, [measure]).get(measure.id, []), at):
        raise LinkRefused("not_yet" if measure.status == "planned" or at < measure.started_at else "ended")
    return measure


def link_actor(ip: str | None = None) -> Actor:
    """Who checks in from a phone link: the person (no account), allowed only that."""
    return Actor(None, "self", "citizen", None, "/", frozenset({PERMISSION}), ip)


@dataclass
class RosterRow:
    """One person under a measure on the staff check-in page, with the day's check-ins."""

    measure_id: int
    person_id: int
    name: str | None
    id_number_masked: str | None
    phase: str | None
    site_name: str | None
    unit_id: int
    today: list[CheckIn]
    link: str
    #: the room held now (`A-301`), None at home or awaiting a room
    room: str | None = None
    room_key: tuple[str, int, str] = ("", 0, "")


def roster(session: Session, actor: Actor, *, at: dt.datetime, site_id: int | None = None,
           unit_id: int | None = None, measure_id: int | None = None, limit: int = 500) -> list[RosterRow]:
    """Persons in a check-in phase at `at` in the actor's jurisdiction (a site's, a unit's subtree),
    by site then name, with their check-ins of `at`'s local day (rooms join here when sites have them)."""
    from fangkong.kernel.jurisdictions import service as jurisdictions_service

    actor.require(PERMISSION)
    stmt = scope.visible(select(Measure), actor, Measure).where(Measure.status == "active", Measure.started_at <= at)
    if site_id is not None:
        stmt = stmt.where(Measure.place_id == site_id, Measure.place_kind == "site")
    if measure_id is not None:
        stmt = stmt.where(Measure.id == measure_id)
    if unit_id is not None:
        stmt = scope.within(stmt, jurisdictions_service.get_unit(session, actor, unit_id), Measure)
    measures = list(session.execute(stmt.order_by(Measure.id).limit(max(1, min(limit, 2000)))).scalars())
    changes = changes_of(session, measures)
    measures = [m for m in measures if cr.in_force(cr.periods(changes[m.id]), at)]
    persons = {p.id: p for p in session.execute(select(Person).where(
        in_list(session, Person.id, sorted({m.person_id for m in measures}) or [0]))).scalars()}
    sites = {p.id: p.name for p in session.execute(select(Place).where(
        Place.id.in_({m.place_id for m in measures if m.place_id} or {0}))).scalars()}
    lo, hi = clock.local_day_bounds(at.astimezone(clock.tz()).date())
    today: dict[int, list[CheckIn]] = defaultdict(list)
    ids = [m.id for m in measures]
    for i in range(0, len(ids), CHUNK):
        for c in session.execute(select(CheckIn).where(in_list(session, CheckIn.measure_id, ids[i:i + CHUNK]),
                                                       CheckIn.checked_at >= lo, CheckIn.checked_at < hi)
                                 .order_by(CheckIn.checked_at)).scalars():
            today[c.measure_id].append(c)
    from fangkong.control.sites.service.stays import stays_of

    rooms = {mid: room for mid, (_stay, room) in stays_of(session, ids, at=at).items()}
    rows = [RosterRow(m.id, m.person_id, persons[m.person_id].name, persons[m.person_id].id_number_masked,
                      phase_at(changes[m.id], at), sites.get(m.place_id) if m.place_kind == "site" else None,
                      m.unit_id, today.get(m.id, []), link_of(m),
                      f"{rooms[m.id].building}-{rooms[m.id].number}" if m.id in rooms else None,
                      (rooms[m.id].building, rooms[m.id].floor, rooms[m.id].number) if m.id in rooms else ("", 0, ""))
            for m in measures]
    # the room grid: by site, then building, floor and room (the staff walk the corridors), then name
    return sorted(rows, key=lambda r: (r.site_name or "", r.room is None, r.room_key, r.name or "", r.measure_id))


def roster_row(session: Session, actor: Actor, measure_id: int, *, at: dt.datetime) -> RosterRow | None:
    m = scope.get_visible(session, actor, Measure, measure_id)
    return next(iter(roster(session, actor, at=at, measure_id=m.id)), None)


def masked_name(session: Session, person_id: int) -> str:
    """The person's name as the phone page shows it: the first and last character (张*接, 张*)."""
    name = session.execute(select(Person.name).where(Person.id == person_id)).scalar() or ""
    if len(name) <= 1:
        return name
    return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def masked_phones(session: Session, person_ids: Sequence[int]) -> dict[int, str]:
    """Masked phones of these persons (the SMS gateway has the numbers; this says whom it goes to)."""
    return {pid: ph or "" for pid, ph in session.execute(select(Person.id, Person.phone_masked).where(
        in_list(session, Person.id, sorted(set(person_ids)) or [0])))}


def split_entry(text: str) -> tuple[str, str]:
    """A staff page entry `37.5 干咳` → (temperature text, symptoms text)."""
    parts = (text or "").strip().split(None, 1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")




# ------------------------------------------------------------------------------------------ the SMS

#: the outbox subject of a check-in SMS: one per person and local day
SMS_SUBJECT = "checkin_link"


@dataclass
class LinkSms:
    """What `queue_checkin_sms` did: messages put in the outbox, persons already sent one that day,
    persons without a phone number (nothing to send to)."""

    queued: list[int]
    already: list[int]
    no_phone: list[int]


def sms_text(url: str) -> str:
    """The check-in SMS (Chinese: it goes to residents, whatever the operator's language)."""
    return f"【防控】您正在接受健康管理,请每天上午、下午各打卡一次(体温、症状),点击链接填报:{url} 解除管理后链接失效。"


def queue_checkin_sms(session: Session, actor: Actor, *, base: str, at: dt.datetime | None = None,
                      site_id: int | None = None, limit: int = 2000) -> LinkSms:
    """One SMS with the signed check-in link to every person taking check-ins at `at` (default now),
    through the kernel's outbox (`held`, never sent, in a drill or test database). The outbox keeps the
    person, not the number: the SMS sender decrypts the phone when it delivers. Idempotent per person
    and local day of `at`: a person already sent a check-in SMS that day gets none."""
    from fangkong.kernel.messaging import service as messaging
    from fangkong.kernel.messaging.models import OutboxMessage

    at = at or clock.now()
    rows = roster(session, actor, at=at, site_id=site_id, limit=limit)
    lo, hi = clock.local_day_bounds(at.astimezone(clock.tz()).date())
    pids = sorted({r.person_id for r in rows})
    sent: set[int] = set()
    phones: set[int] = set()
    for i in range(0, len(pids), CHUNK):
        chunk = pids[i:i + CHUNK]
        sent |= set(session.execute(select(OutboxMessage.person_id).where(
            OutboxMessage.channel == "sms", OutboxMessage.subject_type == SMS_SUBJECT,
            in_list(session, OutboxMessage.person_id, chunk),
            OutboxMessage.created_at >= lo, OutboxMessage.created_at < hi)).scalars())
        phones |= set(session.execute(select(Person.id).where(
            in_list(session, Person.id, chunk), Person.phone_enc.is_not(None))).scalars())
    out = LinkSms([], [], [])
    for r in rows:
        if r.person_id in sent:
            out.already.append(r.person_id)
        elif r.person_id not in phones:
            out.no_phone.append(r.person_id)
        else:
            messaging.send(session, actor, channel="sms", person_id=r.person_id, subject_type=SMS_SUBJECT,
                           subject_id=r.measure_id, body=sms_text(f"{base.rstrip('/')}{r.link}"))
            sent.add(r.person_id)
            out.queued.append(r.person_id)
    return out


__all__ = ["CHECKIN_PHASES", "CheckInItem", "counts", "create_home_confirmations", "create_missed_checkin_tasks",
           "import_checkins", "queue_checkin_sms", "record_checkins"]
