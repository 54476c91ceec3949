"""`fangkong import measures FILE`: measures already running in another system, taken over (接管).

One row per person: source_ref, name, id_number, phone, category (code or label), started_at,
exposure_at, site, room, household, contact_of (the linked close contact's ID number), address. Each
row finds its person (or registers them from what it gives) and starts through `start_many` — the same
rules, pack version and audit as any start — keeping the sender's day count: day 0 is the local date of
`started_at`, or of `exposure_at` with `anchor="exposure"`. A central row with a room is assigned the
room and has arrived at `started_at`; without one it is planned (awaiting a room). Idempotent by
source_ref (stored on the measure). Rejected, naming the field: an unknown category, a missing or
future `started_at`, a central category without a site, an unknown site or room, a room taken by
someone outside the household, a person already under an active measure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.control.service import bulk_start
from fangkong.control.service.measures import measures_in_force
from fangkong.control.sites.models import Room, RoomStay
from fangkong.control.sites.service import stays as stays_service
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.clock import BadTime
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.messages import FieldIssue, _, labels, message
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.resolution import find_known
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table

PERMISSION = "measure.start"
ANCHORS = ("start", "exposure")

UNKNOWN_CATEGORY = message("measure_import.unknown_category", _("unknown category %(text)s"))
FUTURE = message("measure_import.future", _("in the future"))
NOT_A_TIME = message("measure_import.not_a_time", _("not a time: %(text)s"))
SITE_NEEDED = message("measure_import.site_needed", _("a central category needs a site"))
UNKNOWN_SITE = message("measure_import.unknown_site", _("unknown quarantine site %(text)s"))
UNKNOWN_ROOM = message("measure_import.unknown_room", _("unknown room %(text)s at this site"))
ROOM_TAKEN = message("measure_import.room_taken", _("room %(text)s is taken by someone outside the household"))
UNDER_MEASURE = message("measure_import.under_measure", _("already under an active measure (%(id)s)"))
SAME_PERSON = message("measure_import.same_person", _("the same person as row %(row)s"))
UNKNOWN_CONTACT = message("measure_import.unknown_contact", _("no person with this ID number: not linked"))
OUTSIDE = message("measure_import.outside_jurisdiction",
                  _("the person belongs to a unit outside your jurisdiction (the address places them there or "
                    "nowhere): the unit above yours imports this row"))
# `source_ref` and `room` are labelled by intake and the sites (one label per field code)
labels("field", {"started_at": _("Start time"), "exposure_at": _("Last exposure"), "household": _("Household"),
                 "contact_of": _("Close contact of")})

MEASURE_COLUMNS: dict[str, list[str]] = {
    "source_ref": ["编号", "来源编号", "措施编号", "记录编号", "source ref", "reference", "ref"],
    "name": ["姓名", "名字", "人员姓名", "full name", "person name"],
    "id_number": ["身份证号", "身份证号码", "身份证", "证件号码", "证件号", "公民身份号码", "id", "id no"],
    "phone": ["手机号", "手机号码", "手机", "联系电话", "电话", "mobile", "phone number", "tel"],
    "category": ["类别", "人员类别", "管控类别", "category", "type"],
    "started_at": ["开始时间", "管控开始时间", "隔离开始时间", "入住时间", "started at", "start", "start time"],
    "exposure_at": ["末次暴露时间", "暴露时间", "最后接触时间", "exposure at", "last exposure"],
    "site": ["隔离点", "集中隔离点", "隔离场所", "quarantine site"],
    "room": ["房间", "房间号", "房号", "room number"],
    "household": ["户", "家庭", "户号", "家庭编号", "household id"],
    "contact_of": ["密接身份证号", "关联密接", "关联密接身份证号", "contact of"],
    "address": ["住址", "现住址", "地址", "居住地址", "home address"],
}

#: the short labels other systems use (issue #12's table) beside the pack's own names
LABELS = {"密接": "close_contact", "次密接": "secondary_contact", "入境人员": "inbound_traveller",
          "高风险区旅居": "high_risk_area", "中风险区旅居": "medium_risk_area", "低风险区旅居": "low_risk_area",
          "时空伴随": "colocation", "出院病例": "case_discharge", "混管阳性": "positive_pool_member"}


def _time(v: dict[str, str], name: str, rep: ReportRow) -> dt.datetime | None:
    text = (v.get(name) or "").strip()
    if not text:
        return None
    try:
        return clock.parse_time(text)
    except BadTime:
        rep.issues.append(FieldIssue(name, NOT_A_TIME(text=text[:40])))
        return None


def _room(session: Session, site_id: int, text: str) -> Room | None:
    """A room of the site by its number (`301`) or building and number (`A-301`, `A栋301`)."""
    t = text.strip().upper().replace("栋", "-").replace("幢", "-").replace("号楼", "-")
    building, _sep, number = t.rpartition("-")
    stmt = select(Room).where(Room.site_id == site_id, Room.number == (number or t))
    if building:
        stmt = stmt.where(Room.building == building)
    rooms = session.execute(stmt).scalars().all()
    return rooms[0] if len(rooms) == 1 else None


def _lead_item(row_number: int, v: dict[str, str], category: str, started: dt.datetime, ref: str,
               extra: dict[str, str]) -> Any:
    """The row as a lead of the internal `control` channel: who, where, the category that fixes the
    decision; the raw row kept as its payload."""
    from fangkong.intake import service as intake_service

    values = {k: (v.get(k) or "") for k in ("name", "id_number", "phone", "address")}
    values.update(source_ref=ref, category=category,
                  reason=f"接管在管人员:{clock.iso_local(started)} 起"[:255])
    return intake_service.LeadItem(row_number, values, {}, {**{k: x for k, x in v.items() if x}, **extra})


def import_measures(session: Session, actor: Actor, path: Path, *, anchor: str = "start",
                    progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import measures FILE` (CSV or XLSX). Raises UnusableFile.

    Each row that passes the measure's own checks enters intake as a lead of the internal channel
    `control` (`intake.ingest_leads(fixed_decision=True)`: the person resolved by the one matcher, the
    decision fixed by the category, no verification task), then starts through `start_many` with that
    lead, and the lead is marked controlled."""
    from fangkong.intake import service as intake_service

    actor.require(PERMISSION)
    if anchor not in ANCHORS:
        raise ValueError(anchor)
    table = read_table(Path(path), MEASURE_COLUMNS, required_any=["category"])
    pack = policy_service.active_pack(session)
    by_label = {**{c.name_zh: code for code, c in pack.categories.items() if c.name_zh}, **LABELS}
    reports = ReportLog()
    seen: set[str] = set()
    handing = actor.acting_for(PERMISSION, "lead.import")  # the rows become leads as this user
    batch_id: int | None = None
    for chunk in table.chunks():
        now = clock.now()
        rows: list[ReportRow] = []
        checked: list[tuple[ReportRow, _Checked]] = []
        refs = [(r.values.get("source_ref") or "").strip()[:64] for r in chunk]
        stored = set(session.execute(select(Measure.source_ref).where(
            in_list(session, Measure.source_ref, [x for x in refs if x]))).scalars()) if any(refs) else set()
        rooms_taken: dict[int, set[str | None]] = {}
        for row, ref in zip(chunk, refs, strict=True):
            v = row.values
            rep = ReportRow(row.number, "rejected")
            rows.append(rep)
            if not ref:
                rep.issues.append(FieldIssue("source_ref", REQUIRED()))
                continue
            if ref in stored or ref in seen:
                rep.status = "duplicate"
                continue
            text = (v.get("category") or "").strip()
            category = pack.category_code(text) if text in pack.categories or pack.category_code(text) != text \
                else by_label.get(text, text)
            if category not in pack.categories:
                rep.issues.append(FieldIssue("category", UNKNOWN_CATEGORY(text=text[:40] or "—")))
            started = _time(v, "started_at", rep)
            exposure = _time(v, "exposure_at", rep)
            if started is None and not any(getattr(i, "field", "") == "started_at" for i in rep.issues):
                rep.issues.append(FieldIssue("started_at", REQUIRED()))
            elif started is not None and started > now:
                rep.issues.append(FieldIssue("started_at", FUTURE()))
            central = category in pack.categories and any(
                pack.measure(p.measure).kind == "centralised_quarantine" for p in pack.category(category).phases)
            site_text, room_text = (v.get("site") or "").strip(), (v.get("room") or "").strip()
            household = (v.get("household") or "").strip()[:64] or None
            site = room = None
            if site_text:
                site = session.execute(select(Place).where(Place.kind == "quarantine_site", or_(
                    Place.ref == site_text, Place.name == site_text))).scalars().first()
                if site is None:
                    rep.issues.append(FieldIssue("site", UNKNOWN_SITE(text=site_text[:40])))
            elif central:
                rep.issues.append(FieldIssue("site", SITE_NEEDED()))
            if site is not None and room_text:
                room = _room(session, site.id, room_text)
                if room is None:
                    rep.issues.append(FieldIssue("room", UNKNOWN_ROOM(text=room_text[:20])))
                else:
                    if room.id not in rooms_taken:
                        rooms_taken[room.id] = set(session.execute(select(RoomStay.household).where(
                            RoomStay.room_id == room.id, RoomStay.until_at.is_(None))).scalars())
                    held = rooms_taken[room.id]
                    if held and (household is None or held != {household}):
                        rep.issues.append(FieldIssue("room", ROOM_TAKEN(text=room_text[:20])))
            if rep.issues:
                continue
            id_number, phone, name = (v.get(k, "").strip() for k in ("id_number", "phone", "name"))
            # a person already under a measure, by the keys that settle who they are (valid ID, else
            # phone and name); what the matcher finds otherwise is checked again once resolved
            ids, _bad = find_known(session, id_number=id_number or None, phone=None if id_number else phone,
                                   name=name or None)
            if not ids and _bad is not None and id_number and phone:
                ids, _bad = find_known(session, phone=phone, name=name or None)
            busy = _under_measure(session, ids[:1], now)
            if busy is not None:
                rep.issues.append(FieldIssue("id_number", UNDER_MEASURE(id=busy)))
                continue
            assert started is not None
            if room is not None:
                rooms_taken[room.id].add(household)
            seen.add(ref)
            checked.append((rep, _Checked(row.number, category, started, exposure, central, site, room, household,
                                          (v.get("contact_of") or "").strip(), ref)))
            rep.extra["_lead"] = _lead_item(row.number, v, category, started, ref, row.extra)

        # the rows enter intake as leads of the internal channel `control`, decided by their category
        todo: list[tuple[ReportRow, _Checked, int, int]] = []
        leads = [rep.extra.pop("_lead") for rep, _c in checked]
        if checked:
            # A measure belongs to its person's unit. A person outside the importer's subtree (an address
            # that places them elsewhere, or nowhere: the root, intake's rule) could not be seen, housed or
            # released by the importer, so the row is refused naming `address` — and leaves nothing: the
            # leads (and persons) of the chunk are stored under a savepoint, undone when any row falls
            # outside, and stored again without those rows. So the unit above can import the row later.
            savepoint = session.begin_nested()
            result = _ingest_control_leads(session, handing, leads, path, batch_id)
            outside = _outside(session, actor, result.rows)
            if outside:
                savepoint.rollback()
                for i in sorted(outside):
                    checked[i][0].issues.append(FieldIssue("address", OUTSIDE()))
                checked = [c for i, c in enumerate(checked) if i not in outside]
                leads = [x for i, x in enumerate(leads) if i not in outside]
                if leads:
                    result = _ingest_control_leads(session, handing, leads, path, batch_id)
            else:
                savepoint.commit()
        if checked:
            batch_id = result.batch_id
            taken: dict[int, int] = {}
            in_force = measures_in_force(session, [r.person_id for r in result.rows if r.person_id], at=now)
            for (rep, c), lead_rep in zip(checked, result.rows, strict=True):
                rep.issues.extend(lead_rep.issues)
                rep.person_id = lead_rep.person_id
                if lead_rep.status != "accepted" or rep.person_id is None:
                    rep.status = lead_rep.status if lead_rep.status in ("duplicate", "rejected") else "rejected"
                    continue
                pid = rep.person_id
                lead_id = int(lead_rep.extra["lead_id"])
                rep.extra["lead_id"] = lead_id
                busy = (in_force[pid][0].id if in_force.get(pid) else None) or _under_measure(session, [pid], now)
                if busy is not None:
                    rep.issues.append(FieldIssue("id_number", UNDER_MEASURE(id=busy)))
                    continue
                if pid in taken:
                    rep.issues.append(FieldIssue("id_number", SAME_PERSON(row=taken[pid])))
                    continue
                taken[pid] = c.number
                todo.append((rep, c, pid, lead_id))
        items: list[bulk_start.NewMeasure] = []
        for rep, c, pid, lead_id in todo:
            contact_of = None
            if c.contact_of:
                found, _issue = find_known(session, id_number=c.contact_of)
                contact_of = found[0] if found else None
                if contact_of is None:
                    rep.issues.append(FieldIssue("contact_of", UNKNOWN_CONTACT()))
            items.append(bulk_start.NewMeasure(
                person_id=pid, category=c.category, rule=f"import:{c.category}", started_at=c.started,
                place_kind="site" if c.central else "home", place_id=c.site.id if c.central and c.site else None,
                lead_id=lead_id, exposure_at=c.exposure, planned=c.central, anchor=anchor, source_ref=c.ref,
                household=c.household, contact_of=contact_of))
        ids = bulk_start.start_many(session, actor, items) if items else []
        if ids:
            intake_service.leads_controlled(session, handing, measures={
                lead_id: mid for (_rep, _c, _pid, lead_id), mid in zip(todo, ids, strict=True)})
        for (rep, c, _pid, _lead), mid in zip(todo, ids, strict=True):
            rep.status = "accepted"
            rep.extra["measure_id"] = mid
            if c.room is not None:
                stays_service.assign_room(session, actor, measure_ids=[mid], room_id=c.room.id, at=c.started)
                stays_service.arrive(session, actor, measure_id=mid, at=c.started)
        for rep in rows:
            rep.extra.pop("_lead", None)
        if progress:
            progress(len(chunk))
        reports.extend(table.report(rows))
        checkpoint(session)
    return table.report(reports)


def _ingest_control_leads(session: Session, actor: Actor, leads: list[Any], path: Path,
                          batch_id: int | None) -> Any:
    """The rows as leads of the internal channel `control`, decided by their category (intake's service)."""
    from fangkong.intake import service as intake_service

    return intake_service.ingest_leads(session, actor, channel="control", items=leads, via="file",
                                       filename=Path(path).name, batch_id=batch_id, fixed_decision=True)


def _outside(session: Session, actor: Actor, lead_rows: Sequence[ReportRow]) -> set[int]:
    """Positions of the accepted lead rows whose person lies outside the actor's subtree."""
    pids = [r.person_id for r in lead_rows if r.status == "accepted" and r.person_id]
    if not pids:
        return set()
    paths = {pid: upath for pid, upath in session.execute(
        select(Person.id, Person.unit_path).where(in_list(session, Person.id, pids)))}
    return {i for i, r in enumerate(lead_rows)
            if r.status == "accepted" and r.person_id and not scope.sees(actor, paths.get(r.person_id))}


@dataclass(frozen=True)
class _Checked:
    """A row that passed the measure's own checks, waiting for its person."""

    number: int
    category: str
    started: dt.datetime
    exposure: dt.datetime | None
    central: bool
    site: Place | None
    room: Room | None
    household: str | None
    contact_of: str
    ref: str


def _under_measure(session: Session, person_ids: Sequence[int], at: dt.datetime) -> int | None:
    """The id of an active measure in force, or a planned one (awaiting a room), of these persons."""
    if not person_ids:
        return None
    running = measures_in_force(session, person_ids, at=at)
    for pid in person_ids:
        if running.get(pid):
            return running[pid][0].id
    return session.execute(select(Measure.id).where(
        in_list(session, Measure.person_id, list(person_ids)), Measure.status == "planned")).scalars().first()

