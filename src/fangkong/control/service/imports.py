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
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.control.service import bulk_start
from fangkong.control.service.measures import measures_in_force
from fangkong.control.sites.models import Room, RoomStay
from fangkong.control.sites.service import stays as stays_service
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.clock import BadTime
from fangkong.kernel.errors import REQUIRED, DomainError
from fangkong.kernel.messages import FieldIssue, _, labels, message
from fangkong.kernel.people import service as people_service
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
NEED_PERSON = message("measure_import.need_person", _("give id_number, or phone and name"))
UNKNOWN_CONTACT = message("measure_import.unknown_contact", _("no person with this ID number: not linked"))
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


def import_measures(session: Session, actor: Actor, path: Path, *, anchor: str = "start",
                    progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import measures FILE` (CSV or XLSX). Raises UnusableFile."""
    actor.require(PERMISSION)
    if anchor not in ANCHORS:
        raise ValueError(anchor)
    table = read_table(Path(path), MEASURE_COLUMNS, required_any=["category"])
    pack = policy_service.active_pack(session)
    by_label = {**{c.name_zh: code for code, c in pack.categories.items() if c.name_zh}, **LABELS}
    reports = ReportLog()
    seen: set[str] = set()
    for chunk in table.chunks():
        now = clock.now()
        rows: list[ReportRow] = []
        todo: list[tuple[ReportRow, bulk_start.NewMeasure, Room | None]] = []
        refs = [(r.values.get("source_ref") or "").strip()[:64] for r in chunk]
        stored = set(session.execute(select(Measure.source_ref).where(
            in_list(session, Measure.source_ref, [x for x in refs if x]))).scalars()) if any(refs) else set()
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
                    held = set(session.execute(select(RoomStay.household).where(
                        RoomStay.room_id == room.id, RoomStay.until_at.is_(None))).scalars())
                    held |= {h for _r, it, rm in todo if rm is not None and rm.id == room.id for h in [it.household]}
                    if held and (household is None or held != {household}):
                        rep.issues.append(FieldIssue("room", ROOM_TAKEN(text=room_text[:20])))
            if rep.issues:
                continue
            id_number, phone, name = (v.get(k, "").strip() for k in ("id_number", "phone", "name"))
            if not id_number and not (phone and name):
                rep.issues.append(FieldIssue("id_number", NEED_PERSON()))
                continue
            ids, issue = find_known(session, id_number=id_number or None, phone=None if id_number else phone,
                                    name=name or None)
            if issue:
                rep.issues.append(issue)
                continue
            if ids:
                pid = ids[0]
                running = measures_in_force(session, [pid], at=now).get(pid, [])
                open_planned = session.execute(select(Measure.id).where(
                    Measure.person_id == pid, Measure.status == "planned")).scalars().first()
                if running or open_planned:
                    rep.issues.append(FieldIssue("id_number", UNDER_MEASURE(
                        id=running[0].id if running else open_planned)))
                    continue
            else:
                try:
                    pid = people_service.register_person(session, actor, name=name or None, id_number=id_number or None,
                                                         phone=phone or None, address_text=v.get("address") or None,
                                                         source="control", strict=False).id
                except DomainError as exc:
                    rep.issues.extend(FieldIssue(f.field, f.message) for f in exc.fields)
                    continue
            contact_of = None
            linked = (v.get("contact_of") or "").strip()
            if linked:
                found, _issue = find_known(session, id_number=linked)
                contact_of = found[0] if found else None
                if contact_of is None:
                    rep.issues.append(FieldIssue("contact_of", UNKNOWN_CONTACT()))
            rep.person_id = pid
            seen.add(ref)
            todo.append((rep, bulk_start.NewMeasure(
                person_id=pid, category=category, rule=f"import:{category}", started_at=started,
                place_kind="site" if central else "home", place_id=site.id if central and site else None,
                exposure_at=exposure, planned=central, anchor=anchor, source_ref=ref, household=household,
                contact_of=contact_of), room))
        ids = bulk_start.start_many(session, actor, [it for _r, it, _rm in todo]) if todo else []
        for (rep, it, room), mid in zip(todo, ids, strict=True):
            rep.status = "accepted"
            rep.extra["measure_id"] = mid
            if room is not None:
                stays_service.assign_room(session, actor, measure_ids=[mid], room_id=room.id, at=it.started_at)
                stays_service.arrive(session, actor, measure_id=mid, at=it.started_at)
        if progress:
            progress(len(chunk))
        reports.extend(table.report(rows))
        checkpoint(session)
    return table.report(reports)
