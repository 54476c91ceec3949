"""Venues (场所): importing them from other systems, listing them, inspection flags, retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.db import put_setting
from fangkong.kernel.errors import (
    REQUIRED,
    REQUIRED_TOO_LONG,
    UNKNOWN_UNIT,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, _, message
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import Place
from fangkong.kernel.tabular import ReportRow, checkpoint, read_table
from fangkong.venues.fields import parse_category
from fangkong.venues.models import Scan, ScanUpload, VenueFlag
from fangkong.venues.service import codes as codes_service
from fangkong.venues.service.scans import retention_cutoff, retention_days

REPEATED = message("venue.ref_repeated", _("repeated in this file (row %(row)s)"))
REF_TAKEN = message("venue.ref_taken", _("already used by another place"))
ALREADY_IMPORTED = message("venue.already_imported", _("already imported as %(name)s; kept"))
CAPACITY = message("venue.capacity", _("a whole number of visitors a day"))
INVALID_FLAG = message("venue.invalid_flag", _("invalid flag"))

#: header aliases of a venues file (canonical English name first)
VENUE_COLUMNS: dict[str, list[str]] = {
    "ref": ["venue ref", "venue_ref", "编号", "场所编号", "场所编码", "外部编号", "单位编号"],
    "name": ["venue name", "名称", "场所名称", "场所名", "单位名称"],
    "category": ["type", "场所类型", "类型", "场所类别", "类别", "行业"],
    "address": ["地址", "场所地址", "详细地址"],
    "capacity": ["footfall", "expected footfall", "日均人流", "日均客流", "预计人流量", "人流量", "客流量"],
    "unit": ["unit_code", "unit code", "属地", "属地编码", "所属网格", "网格编码"],
}
REASON_MAX = 500
#: system_setting key: scans older than this (ISO UTC) have been deleted; the co-location index skips them
KEPT_FROM_SETTING = "venues.scans_kept_from"


def _int_cell(text: str) -> int | None:
    s = text.strip().replace(",", "")
    if not s:
        return None
    value = float(s)
    if not value.is_integer() or value < 0:
        raise ValueError
    return int(value)


def import_venues_file(session: Session, actor: Actor, path: Path, *,
                       progress: Callable[[int], None] | None = None) -> list[ReportRow]:
    """`fangkong import venues FILE` (导入场所): name, type, address, the sender's `ref`, optional
    expected footfall and unit code. Idempotent by `ref` (a stored ref is `duplicate`); every new venue
    gets its first code. Report extra columns: `venue_id`, `place_code`. Needs `venues.manage`."""
    actor.require("venues.manage")
    actor.require("place.manage")
    table = read_table(path, VENUE_COLUMNS, required_any=["ref", "name"])
    units: dict[str, Unit | None] = {}
    seen: dict[str, tuple[int, str]] = {}
    issued = 0
    out: list[ReportRow] = []
    # stored, given their codes and committed a chunk at a time; a stored ref is a duplicate
    for rows in table.chunks():
        refs = sorted({r.values.get("ref", "").strip() for r in rows if r.values.get("ref", "").strip()})
        stored: dict[str, Place] = {}
        for i in range(0, len(refs), 500):
            for place in session.execute(select(Place).where(Place.ref.in_(refs[i:i + 500]))).scalars():
                stored[place.ref or ""] = place
        new_ids: list[int] = []
        for row in rows:
            v = row.values
            rep = ReportRow(row.number, "accepted")
            out.append(rep)
            ref, name = v.get("ref", "").strip(), v.get("name", "").strip()
            if not ref:
                rep.status, rep.issues = "rejected", [FieldIssue("ref", REQUIRED())]
                continue
            if ref in stored or ref in seen:
                place = stored.get(ref) if ref not in seen else None  # a repeat within the file comes first
                if place is None:
                    rep.status, rep.extra = "duplicate", {"venue_id": seen[ref][0], "place_code": seen[ref][1]}
                    rep.issues.append(FieldIssue("ref", REPEATED(row=_row_of(out, seen[ref][0]))))
                    continue
                if place.kind != "venue" or not scope.sees(actor, place):
                    rep.status, rep.issues = "rejected", [FieldIssue("ref", REF_TAKEN())]
                    continue
                rep.status, rep.extra = "duplicate", {"venue_id": place.id, "place_code": place.code}
                if name and name != place.name:
                    rep.issues.append(FieldIssue("name", ALREADY_IMPORTED(name=place.name)))
                continue
            category, cat_issue = parse_category(v.get("category", ""))
            issues = [FieldIssue("category", cat_issue)] if cat_issue else []
            if not name:
                issues.append(FieldIssue("name", REQUIRED()))
            try:
                capacity = _int_cell(v.get("capacity", ""))
            except ValueError:
                capacity = None
                issues.append(FieldIssue("capacity", CAPACITY()))
            unit_id = None
            code = v.get("unit", "").strip()
            if code:
                if code not in units:
                    units[code] = scope.visible_unit_or_none(session, actor, code=code)
                if units[code] is None:
                    issues.append(FieldIssue("unit", UNKNOWN_UNIT(code=code)))
                else:
                    unit_id = units[code].id  # type: ignore[union-attr]
            if any(i.startswith(("name:", "capacity:", "unit:")) for i in issues):
                rep.status, rep.issues = "rejected", issues
                continue
            try:
                # create_place validates before it writes, so a refused row leaves nothing behind
                place = places_service.create_place(
                    session, actor, kind="venue", name=name, category=category, ref=ref, unit_id=unit_id,
                    address_text=v.get("address", "").strip() or None, capacity=capacity)
            except DomainError as exc:
                rep.status = "rejected"
                rep.issues = issues + ([FieldIssue(f.field, f.message) for f in exc.fields]
                                       or [FieldIssue("venue", exc.message)])
                continue
            rep.issues = issues
            rep.extra = {"venue_id": place.id, "place_code": place.code}
            seen[ref] = (place.id, place.code)
            new_ids.append(place.id)
            if progress is not None:
                progress(1)
        issued += codes_service.issue_codes_bulk(session, new_ids)
        checkpoint(session)
    out = table.report(out)
    counts: dict[str, int] = {}
    for r in out:
        counts[r.status] = counts.get(r.status, 0) + 1
    audit.record(session, actor, "venues.imported", object_type="place", file=Path(path).name,
                 codes_issued=issued, **counts)
    return out


def _row_of(reports: list[ReportRow], venue_id: int) -> int:
    return next((r.row for r in reports if r.extra.get("venue_id") == venue_id), 0)


# ---------------------------------------------------------------------------------------- listing

def get_venue(session: Session, actor: Actor, place_id: int) -> Place:
    """A venue in the actor's jurisdiction (NotFound otherwise). Needs `venues.view`."""
    actor.require("venues.view")
    return codes_service._venue(session, actor, place_id)


def staff_venues(session: Session, actor: Actor, *, query: str = "", limit: int = 200) -> list[Place]:
    """Venues in the actor's jurisdiction where they record entry checks (入场查验), by name; `query`
    narrows by name, ref or place code. Needs `venues.scan_staff`."""
    actor.require("venues.scan_staff")
    stmt = scope.visible(select(Place).where(Place.kind == "venue"), actor, Place)
    text = " ".join((query or "").split())[:64]
    if text:
        stmt = stmt.where(Place.name.contains(text, autoescape=True) | (Place.ref == text) | (Place.code == text))
    return list(session.execute(stmt.order_by(Place.name, Place.id).limit(max(1, min(limit, 1000)))).scalars())


# ------------------------------------------------------------------------------------------- flags

def flag_venue(session: Session, actor: Actor, *, place_id: int, reason: str) -> VenueFlag:
    """Record an inspection finding that a venue does not enforce scanning (未落实扫码). Needs
    `venues.flag`; audited."""
    actor.require("venues.flag")
    place = codes_service._venue(session, actor, place_id)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > REASON_MAX:
        raise ValidationFailed(INVALID_FLAG(), [FieldError("reason", REQUIRED_TOO_LONG(max=REASON_MAX))])
    flag = VenueFlag(place_id=place.id, reason=reason, flagged_at=clock.now(), flagged_by_id=actor.user_id,
                     flagged_by=actor.username)
    session.add(flag)
    session.flush()
    audit.record(session, actor, "venues.flagged", object_type="place", object_id=place.id, flag_id=flag.id)
    return flag


def clear_flag(session: Session, actor: Actor, *, flag_id: int) -> VenueFlag:
    """Close a flag once the venue enforces scanning again (整改完成). Needs `venues.flag`; audited."""
    actor.require("venues.flag")
    flag = session.get(VenueFlag, flag_id)
    if flag is None:
        raise NotFound(record_not_found("venueflag", flag_id))
    codes_service._venue(session, actor, flag.place_id)  # NotFound outside the jurisdiction
    if flag.cleared_at is None:
        flag.cleared_at, flag.cleared_by = clock.now(), actor.username
        session.flush()
        audit.record(session, actor, "venues.flag_cleared", object_type="place", object_id=flag.place_id,
                     flag_id=flag.id)
    return flag


def list_flags(session: Session, actor: Actor, *, open_only: bool = True, limit: int = 200) -> list[tuple[VenueFlag, Place]]:
    """Flags on venues in the actor's jurisdiction, newest first. Needs `venues.view`."""
    actor.require("venues.view")
    stmt = scope.visible(select(VenueFlag, Place).join(Place, Place.id == VenueFlag.place_id), actor, Place)
    if open_only:
        stmt = stmt.where(VenueFlag.cleared_at.is_(None))
    stmt = stmt.order_by(VenueFlag.flagged_at.desc(), VenueFlag.id.desc()).limit(max(1, min(limit, 1000)))
    return [(f, p) for f, p in session.execute(stmt)]


# --------------------------------------------------------------------------------------- retention

@dataclass(frozen=True)
class RetentionResult:
    deleted: int
    uploads_deleted: int
    cutoff: dt.datetime
    retention_days: int

    def as_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "uploads_deleted": self.uploads_deleted,
                "cutoff": clock.iso_local(self.cutoff), "retention_days": self.retention_days}


def purge_expired_scans(session: Session, actor: Actor) -> RetentionResult:
    """Delete every scan strictly older than now − the policy's retention days (扫码数据到期删除),
    with the stored batch answers of the same age; record the cut-off for the co-location index and
    audit the count. Needs `venues.manage` (the job runs as the system)."""
    actor.require("venues.manage")
    now = clock.now()
    cutoff = retention_cutoff(session, now)
    deleted = session.execute(delete(Scan).where(Scan.scanned_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount or 0
    uploads = session.execute(delete(ScanUpload).where(ScanUpload.created_at < cutoff)
                              .execution_options(synchronize_session=False)).rowcount or 0
    put_setting(session, KEPT_FROM_SETTING, cutoff.isoformat())
    audit.record(session, actor, "venues.retention", object_type="scan", deleted=deleted,
                 uploads_deleted=uploads, cutoff=clock.iso_local(cutoff), retention_days=retention_days(session))
    return RetentionResult(deleted, uploads, cutoff, retention_days(session))
