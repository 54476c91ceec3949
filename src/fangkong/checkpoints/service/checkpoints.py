"""Checkpoints (卡口): importing them, finding them, their shifts, rosters and handover notes (班次交接)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints import rules
from fangkong.checkpoints.models import KINDS, Checkpoint, ShiftLog
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    REQUIRED,
    TOO_LONG,
    UNKNOWN_UNIT,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
)
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportRow, read_table
from fangkong.kernel.tabular import checkpoint as commit_chunk

UNKNOWN_KIND = message("checkpoint.unknown_kind", _("unknown checkpoint kind %(kind)s; one of %(kinds)s"))
BAD_SHIFTS = message("checkpoint.bad_shifts", _("not shifts like 00:00-08:00;08:00-16:00;16:00-24:00 (%(part)s)"))
REF_TAKEN = message("checkpoint.ref_taken", _("already used by another place"))
REPEATED = message("checkpoint.ref_repeated", _("repeated in this file"))
UNKNOWN_CHECKPOINT = message("checkpoint.unknown", _("unknown checkpoint %(ref)s"))
UNKNOWN_SHIFT = message("checkpoint.unknown_shift", _("no shift %(shift)s at this checkpoint (shifts: %(shifts)s)"))
INVALID_LOG = message("checkpoint.invalid_log", _("invalid shift log"))

#: header aliases of a checkpoints file (canonical English name first)
CHECKPOINT_COLUMNS: dict[str, list[str]] = {
    "ref": ["checkpoint ref", "编号", "卡口编号", "卡口编码"],
    "name": ["checkpoint name", "名称", "卡口名称"],
    "kind": ["type", "类型", "卡口类型"],
    "unit": ["unit_code", "unit code", "属地", "属地编码", "所属单位", "责任单位"],
    "address": ["地址", "卡口地址", "详细地址", "位置"],
    "shifts": ["班次", "班次设置"],
}
#: kinds by their Chinese names too
_KIND_WORDS = {**{k: k for k in KINDS}, **{v: k for k, v in KINDS.items()}, "高速卡口": "highway_exit",
               "高速公路出口": "highway_exit", "国省道卡口": "road", "公路": "road", "火车站": "rail",
               "铁路": "rail", "汽车客运站": "bus", "服务区": "service_area", "港口": "dock", "口岸": "road"}


def parse_kind(text: str) -> str | None:
    return _KIND_WORDS.get("".join((text or "").split()).lower()) or _KIND_WORDS.get("".join((text or "").split()))


def import_checkpoints_file(session: Session, actor: Actor, path: Path, *,
                            progress: Callable[[int], None] | None = None) -> list[ReportRow]:
    """`fangkong import checkpoints FILE` (导入卡口): ref, name, kind, unit, address, shifts. Idempotent by
    ref: a stored ref is `duplicate` (its kind and shifts are updated when the file changes them, an
    issue says so). Report extra columns: `checkpoint_id` (the place id), `place_code`."""
    actor.require("place.manage")
    table = read_table(path, CHECKPOINT_COLUMNS, required_any=["ref", "name"])
    out: list[ReportRow] = []
    seen: set[str] = set()
    for rows in table.chunks():
        for row in rows:
            v = row.values
            rep = ReportRow(row.number, "accepted")
            out.append(rep)
            ref, name = v.get("ref", "").strip(), " ".join(v.get("name", "").split())
            issues: list[str] = []
            if not ref:
                issues.append(FieldIssue("ref", REQUIRED()))
            elif ref in seen:
                issues.append(FieldIssue("ref", REPEATED()))
            kind = parse_kind(v.get("kind", ""))
            if kind is None:
                issues.append(FieldIssue("kind", UNKNOWN_KIND(kind=repr(v.get("kind", "")),
                                                             kinds=", ".join(KINDS))))
            shifts_text = v.get("shifts", "").strip()
            try:
                shifts = rules.parse_shifts(shifts_text)
            except rules.BadShifts as exc:
                issues.append(FieldIssue("shifts", BAD_SHIFTS(part=str(exc))))
                shifts = []
            unit_id = None
            code = v.get("unit", "").strip()
            if code:
                unit = scope.visible_unit_or_none(session, actor, code=code)
                if unit is None:
                    issues.append(FieldIssue("unit", UNKNOWN_UNIT(code=code)))
                else:
                    unit_id = unit.id
            if issues:
                rep.status, rep.issues = "rejected", issues
                continue
            seen.add(ref)
            shifts_label = ";".join(s.label for s in shifts)
            place = session.execute(select(Place).where(Place.ref == ref)).scalar_one_or_none()
            if place is not None:
                detail = _detail(session, place.id)
                if place.kind != "checkpoint" or detail is None or not scope.sees(actor, place):
                    rep.status, rep.issues = "rejected", [FieldIssue("ref", REF_TAKEN())]
                    continue
                rep.status = "duplicate"
                if (detail.kind, detail.shifts) != (kind, shifts_label):
                    detail.kind, detail.shifts = kind or detail.kind, shifts_label
                    rep.status = "accepted"
                rep.extra = {"checkpoint_id": place.id, "place_code": place.code}
                continue
            try:
                place = places_service.create_place(session, actor, kind="checkpoint", category=kind, name=name,
                                                    ref=ref, unit_id=unit_id,
                                                    address_text=v.get("address", "").strip() or None)
            except DomainError as exc:
                rep.status = "rejected"
                rep.issues = [FieldIssue(f.field, f.message) for f in exc.fields] or [FieldIssue("ref", exc.message)]
                continue
            session.add(Checkpoint(place_id=place.id, kind=kind, shifts=shifts_label))
            session.flush()
            rep.extra = {"checkpoint_id": place.id, "place_code": place.code}
            if progress is not None:
                progress(1)
        commit_chunk(session)
    out = table.report(out)
    audit.record(session, actor, "checkpoints.imported", object_type="place", file=Path(path).name,
                 rows=len(out), accepted=sum(r.status == "accepted" for r in out))
    return out


def create_checkpoint(session: Session, actor: Actor, *, name: str, kind: str, ref: str | None = None,
                      unit_id: int | None = None, address: str | None = None, shifts: str | None = None) -> Place:
    """Register one checkpoint (a place of kind checkpoint with its details). Needs `place.manage`."""
    errors: list[FieldError] = []
    if kind not in KINDS:
        errors.append(FieldError("kind", UNKNOWN_KIND(kind=repr(kind), kinds=", ".join(KINDS))))
    try:
        parsed = rules.parse_shifts(shifts)
    except rules.BadShifts as exc:
        errors.append(FieldError("shifts", BAD_SHIFTS(part=str(exc))))
        parsed = []
    if errors:
        raise ValidationFailed(INVALID_LOG(), errors)
    place = places_service.create_place(session, actor, kind="checkpoint", category=kind, name=name, ref=ref,
                                        unit_id=unit_id, address_text=address)
    session.add(Checkpoint(place_id=place.id, kind=kind, shifts=";".join(s.label for s in parsed)))
    session.flush()
    return place


def _detail(session: Session, place_id: int) -> Checkpoint | None:
    return session.execute(select(Checkpoint).where(Checkpoint.place_id == place_id)).scalar_one_or_none()


@dataclass(frozen=True)
class CheckpointView:
    """A checkpoint as lists show it: its place and details."""

    place_id: int
    ref: str | None
    code: str
    name: str
    kind: str
    shifts: list[rules.Shift]
    unit_id: int
    unit_path: str


def _view(place: Place, detail: Checkpoint) -> CheckpointView:
    return CheckpointView(place.id, place.ref, place.code, place.name, detail.kind, rules.parse_shifts(detail.shifts),
                          place.unit_id, place.unit_path)


def list_checkpoints(session: Session, actor: Actor, *, include_service_areas: bool = True) -> list[CheckpointView]:
    """Checkpoints in the actor's jurisdiction, by name. Needs `checkpoint.view`."""
    actor.require("checkpoint.view")
    stmt = scope.visible(select(Place, Checkpoint).join(Checkpoint, Checkpoint.place_id == Place.id), actor, Place)
    if not include_service_areas:
        stmt = stmt.where(Checkpoint.kind != "service_area")
    return [_view(p, d) for p, d in session.execute(stmt.order_by(Place.name, Place.id))]


def all_checkpoints(session: Session) -> dict[int, CheckpointView]:
    """Every checkpoint by place id (for ingestion, which scopes by the checkpoint it finds)."""
    stmt = select(Place, Checkpoint).join(Checkpoint, Checkpoint.place_id == Place.id)
    return {p.id: _view(p, d) for p, d in session.execute(stmt)}


def find_checkpoint(session: Session, actor: Actor, text: str) -> CheckpointView | None:
    """A checkpoint in the actor's jurisdiction by ref, place code or exact name."""
    text = " ".join((text or "").split())
    if not text:
        return None
    for cond in (Place.ref == text, Place.code == text, Place.name == text):
        stmt = scope.visible(select(Place, Checkpoint).join(Checkpoint, Checkpoint.place_id == Place.id)
                             .where(cond), actor, Place)
        found = session.execute(stmt.order_by(Place.id).limit(1)).first()
        if found is not None:
            return _view(*found)
    return None


def get_checkpoint(session: Session, actor: Actor, place_id: int) -> CheckpointView:
    actor.require("checkpoint.view")
    place = scope.get_visible(session, actor, Place, place_id)
    detail = _detail(session, place.id)
    if detail is None:
        raise NotFound(UNKNOWN_CHECKPOINT(ref=place_id))
    return _view(place, detail)


# ------------------------------------------------------------------------------- roster and handover

def save_shift_log(session: Session, actor: Actor, *, place_id: int, day: dt.date, shift: str,
                   roster: str | None = None, handover: str | None = None) -> ShiftLog:
    """Record who is on a shift (排班) and the handover note (交接) for the next; one log per
    checkpoint, start day and shift, updated in place. Needs `checkpoint.record`; audited."""
    actor.require("checkpoint.record")
    cp = get_checkpoint(session, actor, place_id)
    labels = [s.label for s in cp.shifts]
    errors = []
    if shift not in labels:
        errors.append(FieldError("shift", UNKNOWN_SHIFT(shift=shift, shifts=", ".join(labels))))
    roster = " ".join((roster or "").split()) or None
    handover = (handover or "").strip() or None
    if roster and len(roster) > 500:
        errors.append(FieldError("roster", TOO_LONG(max=500)))
    if handover and len(handover) > 4000:
        errors.append(FieldError("handover", TOO_LONG(max=4000)))
    if errors:
        raise ValidationFailed(INVALID_LOG(), errors)
    log = session.execute(select(ShiftLog).where(ShiftLog.place_id == place_id, ShiftLog.day == day,
                                                 ShiftLog.shift == shift)).scalar_one_or_none()
    if log is None:
        log = ShiftLog(place_id=place_id, day=day, shift=shift)
        session.add(log)
    if roster is not None:
        log.roster = roster
    if handover is not None:
        log.handover = handover
    log.updated_at, log.updated_by = clock.now(), actor.username
    session.flush()
    audit.record(session, actor, "checkpoints.shift_logged", object_type="place", object_id=place_id,
                 day=day.isoformat(), shift=shift)
    return log


def shift_logs(session: Session, actor: Actor, *, place_id: int, day: dt.date) -> dict[str, ShiftLog]:
    """The logs of a checkpoint's shifts starting on `day`, by shift label."""
    get_checkpoint(session, actor, place_id)
    rows = session.execute(select(ShiftLog).where(ShiftLog.place_id == place_id, ShiftLog.day == day)).scalars()
    return {r.shift: r for r in rows}


def previous_handover(session: Session, actor: Actor, *, place_id: int, at: dt.datetime) -> ShiftLog | None:
    """The handover note left for the shift running at `at`: the log of the shift before it."""
    cp = get_checkpoint(session, actor, place_id)
    found = rules.shift_of(at, cp.shifts, clock.tz())
    if found is None:
        return None
    day, shift = found
    start, _end = shift.window(day, clock.tz())
    before = rules.shift_of(start - dt.timedelta(minutes=1), cp.shifts, clock.tz())
    if before is None:
        return None
    return session.execute(select(ShiftLog).where(ShiftLog.place_id == place_id, ShiftLog.day == before[0],
                                                  ShiftLog.shift == before[1].label)).scalar_one_or_none()
