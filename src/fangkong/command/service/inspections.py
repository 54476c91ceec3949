"""Inspections, rectification and exposure (督查, 整改, 曝光): the closed loop (闭环整改).

An inspector records a finding (a checklist item of the policy pack not met) at a unit or at a venue
(owned by the venue's unit). Every finding becomes a rectification due by its severity, with a task for
the unit. The unit closes it with evidence (a note and a file); a second person verifies it: accepted,
it is done; rejected, it reopens. A rectification past its due time escalates to the unit's parent
(job `command.rectification_escalation`). The same item at the same place within `repeat_days` is a
repeat (举一反三). A confirmed finding of an exposable item at a venue may be published to
`/public/exposure` (no personal data: text that looks like an ID or phone number is refused)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command import kinds
from fangkong.command.models import FINDING_KINDS, REVIEW_KIND, SEVERITIES, Finding, Rectification
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.files import private_dir
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service

INVALID_FINDING = message("inspection.invalid", _("invalid finding"))
INVALID_CLOSE = message("rectification.invalid", _("invalid closure"))
REQUIRED = message("rectification.required", _("required"))
ONE_OF = message("inspection.one_of", _("one of %(values)s"))
UNIT_OR_VENUE = message("inspection.unit_or_venue", _("give --unit or --venue, not both"))
NOT_OPEN = message("rectification.not_open", _("rectification %(id)s is %(status)s, not open"))
NOT_SUBMITTED = message("rectification.not_submitted", _("rectification %(id)s has no closure to verify"))
SAME_PERSON = message("rectification.same_person", _("a second person verifies a closure, not the one who closed it"))
TOO_LARGE = message("rectification.too_large", _("the file is larger than %(mb)s MB"))
NOT_EXPOSABLE = message("exposure.not_exposable", _("only a finding of %(items)s at a venue is published"))
PERSONAL = message("exposure.personal", _("looks like an ID or phone number; not published"))
INVALID_EXPOSURE = message("exposure.invalid", _("not published"))
NOT_A_PHOTO = message("inspection.not_a_photo", _("%(name)s: a JPEG, PNG or WebP photo is required"))
TOO_MANY_PHOTOS = message("inspection.too_many_photos", _("at most %(n)s photos"))

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
#: an 18-character resident ID, or a mainland mobile number
_PERSONAL = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9})(?![\dXx])")


class SamePerson(DomainError):
    """The one who closed a rectification tries to verify it: 403."""

    def __init__(self) -> None:
        super().__init__(SAME_PERSON(), status=403, code="forbidden")


@dataclass
class Evidence:
    """An evidence file as sent: its name and bytes."""

    name: str
    content: bytes


MAX_PHOTOS = 6
#: the photo types a finding keeps, by their first bytes (what the file is, not what its name says)
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def photo_type(content: bytes) -> str | None:
    """The photo's type (`jpg`, `png`, `webp`) from its first bytes, else None."""
    if content[:3] == b"\xff\xd8\xff":
        return "jpg"
    if content[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


def _check_photos(photos: list[Evidence]) -> list[FieldError]:
    errors = []
    if len(photos) > MAX_PHOTOS:
        errors.append(FieldError("photos", TOO_MANY_PHOTOS(n=MAX_PHOTOS)))
    for p in photos:
        if len(p.content) > MAX_EVIDENCE_BYTES:
            errors.append(FieldError("photos", TOO_LARGE(mb=MAX_EVIDENCE_BYTES // (1024 * 1024))))
        elif photo_type(p.content) is None:
            errors.append(FieldError("photos", NOT_A_PHOTO(name=Path(p.name).name[:100])))
    return errors


def _store_photo(p: Evidence) -> str:
    """Keep a checked photo under the data directory (as rectification evidence is kept), named by its
    SHA-256: the stored name, which the finding lists."""
    stored = f"photo-{hashlib.sha256(p.content).hexdigest()}.{photo_type(p.content)}"
    target = evidence_dir() / stored
    if not target.exists():
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(p.content)
    return stored


def get_photo(session: Session, actor: Actor, finding_id: int, n: int) -> tuple[str, bytes]:
    """A finding's n-th photo (from 1) as (media type, bytes); scoped like the finding."""
    f = get_finding(session, actor, finding_id)
    stored = [p for p in (f.photos or []) if p.startswith("photo-")]
    if not 1 <= n <= len(stored):
        raise NotFound(record_not_found("photo", n))
    name = stored[n - 1]
    return PHOTO_TYPES[name.rsplit(".", 1)[-1]], (evidence_dir() / name).read_bytes()


def evidence_dir() -> Path:
    from fangkong.settings import get_settings

    return private_dir(get_settings().data_dir / "evidence")


def _commands(session: Session) -> Any:
    return policy_service.active_pack(session)


def record_finding(session: Session, actor: Actor, *, kind: str, item: str, severity: str,
                   unit_code: str | None = None, venue_ref: str | None = None, note: str = "",
                   photos: list[str] | None = None, plan_id: int | None = None,
                   photo_files: list[Evidence] | None = None) -> tuple[Finding, Rectification]:
    """Record a finding and open its rectification (due by severity) with a task for the unit. Under an
    unannounced plan (`plan_id`) the kind is `unannounced` and the place one of the plan's targets.
    `photo_files` (taken on the phone: JPEG, PNG or WebP, each ≤ 10 MB, at most 6) are kept under the
    data directory and listed on the finding."""
    actor.require("inspection.record")
    files = [p for p in (photo_files or []) if p.content]
    if errors := _check_photos(files):
        raise ValidationFailed(INVALID_FINDING(), errors)
    if plan_id is not None:
        from fangkong.command.service import plans

        unit_code = plans.check_target(session, actor, plan_id=plan_id, unit_code=unit_code, venue_ref=venue_ref)
        kind = "unannounced"
    finding, rect = _record(session, actor, kind=kind, item=item, severity=severity, unit_code=unit_code,
                            venue_ref=venue_ref, note=note, photos=photos, plan_id=plan_id)
    if files:
        finding.photos = [*(finding.photos or []), *(_store_photo(p) for p in files)]
        audit.record(session, actor, "command.finding_photos", object_type="finding", object_id=finding.id,
                     photos=len(files))
        session.flush()
    return finding, rect


def review_action(session: Session, actor: Actor, *, review_id: int, cause: str, unit_code: str, note: str = ""
                  ) -> tuple[Finding, Rectification]:
    """A case review's action (复盘整改): a finding of kind `review` whose item is the cause code, at the
    unit at fault, opening its rectification due by the cause's severity. The caller checked the review."""
    pack = _commands(session)
    sev = pack.command.review_causes[cause].severity
    return _record(session, actor, kind=REVIEW_KIND, item=cause, severity=sev, unit_code=unit_code,
                   venue_ref=None, note=note, photos=None, review_id=review_id)


def item_name(pack: Any, kind: str, item: str) -> str:
    """How a finding's item reads: the checklist's name, or the review cause's."""
    entry = (pack.command.review_causes if kind == REVIEW_KIND else pack.command.checklist).get(item)
    return entry.name_zh if entry else item


def _record(session: Session, actor: Actor, *, kind: str, item: str, severity: str, unit_code: str | None,
            venue_ref: str | None, note: str, photos: list[str] | None, plan_id: int | None = None,
            review_id: int | None = None) -> tuple[Finding, Rectification]:
    pack = _commands(session)
    checklist = pack.command.review_causes if kind == REVIEW_KIND else pack.command.checklist
    errors: list[FieldError] = []
    if kind not in FINDING_KINDS and kind != REVIEW_KIND:
        errors.append(FieldError("kind", ONE_OF(values=", ".join(FINDING_KINDS))))
    if item not in checklist:
        errors.append(FieldError("item", ONE_OF(values=", ".join(sorted(checklist)))))
    if severity not in SEVERITIES:
        errors.append(FieldError("severity", ONE_OF(values=", ".join(SEVERITIES))))
    if bool(unit_code) == bool(venue_ref):
        errors.append(FieldError("unit", UNIT_OR_VENUE()))
    if errors:
        raise ValidationFailed(INVALID_FINDING(), errors)
    venue = None
    if venue_ref:
        from fangkong.venues.service import codes as venue_codes

        venue = venue_codes.find_venue(session, actor, venue_ref)
        unit = session.get(Unit, venue.unit_id)
    else:
        unit = scope.visible_unit(session, actor, code=unit_code)
    assert unit is not None
    now = clock.now()
    since = now - dt.timedelta(days=pack.command.repeat_days)
    same_place = Finding.venue_id == venue.id if venue is not None else (
        (Finding.unit_id == unit.id) & Finding.venue_id.is_(None))
    earlier = session.execute(select(Finding.id).where(same_place, Finding.item == item, Finding.found_at >= since)
                              .order_by(Finding.found_at.desc()).limit(1)).scalar_one_or_none()
    hours = pack.command.rectify_hours[severity]  # type: ignore[index]
    due_rule = f"command.rectify_hours.{severity} = {hours:g} h"
    rule = due_rule
    if earlier is not None:
        rule += f"; repeat of finding {earlier} within command.repeat_days = {pack.command.repeat_days}"
    finding = Finding(kind=kind, item=item, severity=severity, note=note.strip(), found_at=now,
                      found_by=actor.username, repeat_of_id=earlier, photos=list(photos or []),
                      venue_id=venue.id if venue else None, venue_name=venue.name if venue else None,
                      venue_address=venue.address_text if venue else None,
                      pack_version=pack.version_tag, rule=rule, unit_id=unit.id, unit_path=unit.path,
                      review_id=review_id, plan_id=plan_id)
    session.add(finding)
    session.flush()
    rect = Rectification(finding_id=finding.id, status="open", due_at=now + dt.timedelta(hours=hours), rejections=0,
                         unit_id=unit.id, unit_path=unit.path)
    session.add(rect)
    session.flush()
    name = checklist[item].name_zh
    place = venue.name if venue else unit.name
    [rect.task_id] = tasks_service.create_tasks(session, actor, [tasks_service.NewTask(
        kind=kinds.RECTIFY, title=f"整改:{place} {name}", unit_id=unit.id, subject_type="rectification",
        subject_id=rect.id, due_at=rect.due_at, policy_version=pack.version_tag, rule=due_rule)])
    audit.record(session, actor, "command.finding_recorded", object_type="finding", object_id=finding.id,
                 kind=kind, item=item, severity=severity, unit=unit.code, venue=venue.code if venue else None,
                 repeat_of=earlier, pack_version=pack.version_tag, rule=rule)
    session.flush()
    return finding, rect


def _rect(session: Session, actor: Actor, rect_id: int) -> Rectification:
    return scope.get_visible(session, actor, Rectification, rect_id)


def get_finding(session: Session, actor: Actor, finding_id: int) -> Finding:
    actor.require("inspection.view")
    return scope.get_visible(session, actor, Finding, finding_id)


def rectification_of(session: Session, finding_id: int) -> Rectification:
    return session.execute(select(Rectification).where(Rectification.finding_id == finding_id)
                           .order_by(Rectification.id.desc()).limit(1)).scalar_one()


def close(session: Session, actor: Actor, *, rect_id: int, evidence: Evidence | None, note: str = "") -> Rectification:
    """Close a rectification with evidence (a note and a file, both required): it awaits verification."""
    actor.require("rectification.work")
    rect = _rect(session, actor, rect_id)
    errors = []
    if evidence is None or not evidence.content:
        errors.append(FieldError("evidence", REQUIRED()))
    elif len(evidence.content) > MAX_EVIDENCE_BYTES:
        errors.append(FieldError("evidence", TOO_LARGE(mb=MAX_EVIDENCE_BYTES // (1024 * 1024))))
    if not note.strip():
        errors.append(FieldError("note", REQUIRED()))
    if errors:
        raise ValidationFailed(INVALID_CLOSE(), errors)
    assert evidence is not None
    if rect.status not in ("open", "overdue"):
        raise Conflict(NOT_OPEN(id=rect.id, status=rect.status))
    digest = hashlib.sha256(evidence.content).hexdigest()
    suffix = Path(evidence.name).suffix.lower()[:10] if re.fullmatch(r"\.[A-Za-z0-9]{1,9}",
                                                                       Path(evidence.name).suffix) else ""
    stored = f"rect{rect.id}-{digest[:16]}{suffix}"
    target = evidence_dir() / stored
    fd = target.open("wb")
    with fd:
        fd.write(evidence.content)
    target.chmod(0o600)
    rect.status = "submitted"
    rect.closed_at, rect.closed_by = clock.now(), actor.username
    rect.evidence_note, rect.evidence_name = note.strip(), Path(evidence.name).name[:200]
    rect.evidence_path, rect.evidence_sha256 = stored, digest
    audit.record(session, actor, "command.rectification_closed", object_type="rectification", object_id=rect.id,
                 sha256=digest, file=rect.evidence_name)
    session.flush()
    return rect


def verify(session: Session, actor: Actor, *, rect_id: int, accept: bool, note: str = "") -> Rectification:
    """A second person accepts a closure (done, its task closed) or rejects it (reopened)."""
    actor.require("rectification.verify")
    rect = _rect(session, actor, rect_id)
    if rect.status != "submitted":
        raise Conflict(NOT_SUBMITTED(id=rect.id))
    if rect.closed_by == actor.username:
        raise SamePerson()
    now = clock.now()
    if accept:
        rect.status, rect.verified_at, rect.verified_by = "verified", now, actor.username
        if rect.task_id is not None and tasks_service.get_task(session, actor, rect.task_id).status == "open":
            tasks_service.complete_task(session, actor, rect.task_id, outcome_code="rectified", by_owner=True)
    else:
        rect.status = "overdue" if rect.due_at <= now else "open"
        rect.rejections += 1
        rect.rejected_note = note.strip() or None
    audit.record(session, actor, "command.rectification_verified" if accept else "command.rectification_rejected",
                 object_type="rectification", object_id=rect.id, note=note.strip() or None)
    session.flush()
    return rect


def escalate(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Rectifications still open past their due time become `overdue`; the unit's parent gets a task."""
    now = now or clock.now()
    rows = session.execute(select(Rectification).where(Rectification.status == "open",
                                                       Rectification.due_at <= now)).scalars().all()
    tasks = []
    for rect in rows:
        rect.status, rect.escalated_at = "overdue", now
        unit = session.get(Unit, rect.unit_id)
        parent = session.get(Unit, unit.parent_id) if unit is not None and unit.parent_id else unit
        if parent is not None:
            tasks.append(tasks_service.NewTask(
                kind=kinds.RECTIFY_ESCALATED, title=f"督促整改:{unit.name if unit else ''}", unit_id=parent.id,
                subject_type="rectification", subject_id=rect.id, due_at=now + dt.timedelta(hours=24)))
        audit.record(session, actor, "command.rectification_escalated", object_type="rectification",
                     object_id=rect.id, due_at=rect.due_at.isoformat())
    if tasks:
        tasks_service.create_tasks(session, actor, tasks)
    session.flush()
    return {"escalated": len(rows)}


def _exposable_items(session: Session) -> list[str]:
    return sorted(c for c, i in _commands(session).command.checklist.items() if i.exposable)


def publish(session: Session, actor: Actor, *, finding_id: int) -> Finding:
    """Publish a finding (曝光) after review: an exposable item at a venue, its rectification verified or
    not; no text that looks like an ID or phone number."""
    actor.require("exposure.publish")
    finding = scope.get_visible(session, actor, Finding, finding_id)
    items = _exposable_items(session)
    if finding.venue_id is None or finding.item not in items:
        raise ValidationFailed(INVALID_EXPOSURE(), [FieldError("finding", NOT_EXPOSABLE(items=", ".join(items)))])
    bad = [FieldError(name, PERSONAL()) for name, text in (("venue_name", finding.venue_name),
                                                          ("venue_address", finding.venue_address))
           if text and _PERSONAL.search(text)]
    if bad:
        raise ValidationFailed(INVALID_EXPOSURE(), bad)
    finding.published_at, finding.published_by = clock.now(), actor.username
    audit.record(session, actor, "command.finding_published", object_type="finding", object_id=finding.id)
    session.flush()
    return finding


def unpublish(session: Session, actor: Actor, *, finding_id: int) -> Finding:
    actor.require("exposure.publish")
    finding = scope.get_visible(session, actor, Finding, finding_id)
    finding.published_at = finding.published_by = None
    audit.record(session, actor, "command.finding_unpublished", object_type="finding", object_id=finding.id)
    session.flush()
    return finding


def exposure(session: Session) -> list[dict[str, Any]]:
    """The public list (曝光台): published findings, newest first; no sign-in, nothing personal."""
    checklist = _commands(session).command.checklist
    rows = session.execute(select(Finding, Rectification).join(Rectification, Rectification.finding_id == Finding.id)
                           .where(Finding.published_at.is_not(None))
                           .order_by(Finding.found_at.desc(), Finding.id.desc()).limit(500)).all()
    out = []
    for f, r in rows:
        item = checklist.get(f.item)
        out.append({"id": f.id, "venue": f.venue_name, "address": f.venue_address or "",
                    "finding": item.name_zh if item else f.item, "date": clock.to_local(f.found_at).date().isoformat(),
                    "rectified_on": clock.to_local(r.verified_at).date().isoformat() if r.verified_at else None})
    return out


def view(session: Session, actor: Actor, finding_id: int) -> dict[str, Any]:
    """A finding and its rectification, as the page, the API and `--json` show them."""
    f = get_finding(session, actor, finding_id)
    r = rectification_of(session, f.id)
    unit = session.get(Unit, f.unit_id)
    pack = _commands(session)
    item = pack.command.checklist.get(f.item) if f.kind != REVIEW_KIND else None
    iso = clock.iso_local
    return {"id": f.id, "finding_id": f.id, "rectification_id": r.id, "kind": f.kind, "item": f.item,
            "item_name": item_name(pack, f.kind, f.item), "severity": f.severity, "note": f.note,
            "review_id": f.review_id, "plan_id": f.plan_id,
            "unit_code": unit.code if unit else "", "unit_name": unit.name if unit else "",
            "venue_name": f.venue_name, "venue_address": f.venue_address, "found_at": iso(f.found_at),
            "found_by": f.found_by, "repeat_of": f.repeat_of_id, "pack_version": f.pack_version, "rule": f.rule,
            "photos": [f"/command/findings/{f.id}/photos/{n}" for n, _p in
                       enumerate((p for p in (f.photos or []) if p.startswith("photo-")), start=1)],
            "published_at": iso(f.published_at) if f.published_at else None,
            "exposable": bool(item and item.exposable and f.venue_id is not None),
            "rectification": {"id": r.id, "status": r.status, "due_at": iso(r.due_at),
                              "closed_at": iso(r.closed_at) if r.closed_at else None, "closed_by": r.closed_by,
                              "evidence_note": r.evidence_note, "evidence_name": r.evidence_name,
                              "evidence_sha256": r.evidence_sha256, "rejections": r.rejections,
                              "rejected_note": r.rejected_note,
                              "verified_at": iso(r.verified_at) if r.verified_at else None,
                              "verified_by": r.verified_by,
                              "escalated_at": iso(r.escalated_at) if r.escalated_at else None}}


def findings(session: Session, actor: Actor, *, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Findings in the caller's subtree, newest first, with their rectification's status."""
    actor.require("inspection.view")
    stmt = scope.visible(select(Finding, Rectification, Unit).join(Rectification, Rectification.finding_id == Finding.id)
                         .join(Unit, Unit.id == Finding.unit_id), actor, Finding)
    if status:
        stmt = stmt.where(Rectification.status == status)
    pack = _commands(session)
    return [{"id": f.id, "rectification_id": r.id, "item": f.item, "kind": f.kind,
             "item_name": item_name(pack, f.kind, f.item), "note": f.note,
             "severity": f.severity,
             "unit_name": u.name, "venue_name": f.venue_name, "found_at": clock.iso_local(f.found_at),
             "status": r.status, "due_at": clock.iso_local(r.due_at), "repeat": f.repeat_of_id is not None,
             "published": f.published_at is not None}
            for f, r, u in session.execute(stmt.order_by(Finding.found_at.desc(), Finding.id.desc()).limit(limit))]


def get_evidence(session: Session, actor: Actor, rect_id: int) -> tuple[str, bytes]:
    actor.require("inspection.view")
    rect = _rect(session, actor, rect_id)
    if not rect.evidence_path:
        raise NotFound(record_not_found("evidence", rect_id))
    return rect.evidence_name or rect.evidence_path, (evidence_dir() / rect.evidence_path).read_bytes()
