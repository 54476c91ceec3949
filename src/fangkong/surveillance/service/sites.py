"""Sentinel sites (监测哨点): a place of kind `sentinel` with its sentinel kind, reference, unit and the
day it starts reporting; imported idempotently by reference."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import REQUIRED, DomainError
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, Term, _, message
from fangkong.kernel.places import service as places_service
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.surveillance.models import SITE_KINDS, SentinelSite

SITE_COLUMNS: dict[str, list[str]] = {
    "ref": ["哨点编号", "编号", "site_ref", "哨点代码"],
    "name": ["哨点名称", "名称", "site_name"],
    "kind": ["哨点类别", "类别", "类型", "site_kind", "type"],
    "address": ["地址", "address_text"],
    "unit": ["所属单位", "属地", "单位代码", "unit_code"],
    "active_from": ["启用日期", "开始日期", "start_date", "active_since"],
}
KIND_WORDS = {"发热门诊": "fever_clinic", "基层医疗机构": "clinic", "诊所": "clinic", "药店": "pharmacy",
              "零售药店": "pharmacy", "学校": "school"}
UNKNOWN_KIND = message("sentinel.unknown_kind", _("unknown sentinel kind %(kind)s; one of %(kinds)s"))
UNKNOWN_UNIT = message("sentinel.unknown_unit", _("unknown unit %(code)s"))
BAD_DATE = message("sentinel.bad_date", _("not a date: %(value)s"))
SITE_CHANGED = message("sentinel.site_changed", _("site %(ref)s is registered with other details; kept as it was"))


def parse_kind(text: str) -> str | None:
    t = (text or "").strip()
    return KIND_WORDS.get(t, t if t in SITE_KINDS else None)


def parse_day(text: str) -> dt.date | None:
    from fangkong.surveillance.detect import parse_t

    value = parse_t(text)
    return value if isinstance(value, dt.date) else None


def register_site(session: Session, actor: Actor, *, ref: str, name: str, kind: str, address: str | None = None,
                  unit_code: str | None = None, active_from: dt.date | None = None) -> tuple[SentinelSite, bool]:
    """Register a site (or find it by `ref`): (site, created). Needs `place.manage`."""
    actor.require("place.manage")
    existing = session.execute(select(SentinelSite).where(SentinelSite.ref == ref)).scalar_one_or_none()
    if existing is not None:
        return scope.check(actor, existing, ref), False
    unit_id = None
    if unit_code:
        unit = session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
        unit_id = scope.check(actor, unit, unit_code).id
    place = places_service.create_place(session, actor, kind="sentinel", category=kind, name=name,
                                        address_text=address or None, unit_id=unit_id, ref=f"sentinel:{ref}")
    site = SentinelSite(place_id=place.id, ref=ref, name=name, kind=kind,
                        active_from=active_from or clock.today(), created_at=clock.now(),
                        unit_id=place.unit_id, unit_path=place.unit_path)
    session.add(site)
    session.flush()
    audit.record(session, actor, "sentinel.site_registered", object_type="sentinel_site", object_id=site.id,
                 ref=ref, kind=kind)
    return site, True


def import_sites(session: Session, actor: Actor, path: Path, progress: Any = None) -> ReportLog:
    """`fangkong import sentinels FILE`: ref, name, kind, address, unit, active_from; idempotent by ref."""
    actor.require("data.import")
    table = read_table(path, SITE_COLUMNS, required_any=["ref"])
    log = ReportLog()
    for row in table:
        v = row.values
        rep = ReportRow(row=row.number, status="accepted", extra={"site_ref": v.get("ref", "")})
        kind = parse_kind(v.get("kind", ""))
        day = parse_day(v["active_from"]) if v.get("active_from") else None
        if not v.get("ref"):
            rep.issues.append(FieldIssue("ref", REQUIRED()))
        if not v.get("name"):
            rep.issues.append(FieldIssue("name", REQUIRED()))
        if kind is None:
            rep.issues.append(FieldIssue("kind", UNKNOWN_KIND(kind=repr(v.get("kind", "")),
                                                              kinds=[Term(k, kind="sentinel_kind") for k in SITE_KINDS])))
        if v.get("active_from") and day is None:
            rep.issues.append(FieldIssue("active_from", BAD_DATE(value=v["active_from"])))
        unit_code = v.get("unit") or None
        if unit_code and session.execute(select(Unit.id).where(Unit.code == unit_code)).first() is None:
            rep.issues.append(FieldIssue("unit", UNKNOWN_UNIT(code=unit_code)))
        if rep.issues:
            rep.status = "rejected"
            log.append(rep)
            continue
        try:
            site, created = register_site(session, actor, ref=v["ref"], name=v["name"], kind=kind or "",
                                          address=v.get("address"), unit_code=unit_code, active_from=day)
        except DomainError as exc:
            rep.status = "rejected"
            rep.issues.append(FieldIssue("ref", exc.message))
            log.append(rep)
            continue
        if not created:
            rep.status = "duplicate"
            if (site.name, site.kind) != (v["name"], kind) or (day is not None and day != site.active_from):
                rep.issues.append(FieldIssue("ref", SITE_CHANGED(ref=site.ref)))
        log.append(rep)
        if progress:
            progress(1)
        checkpoint(session)
    return table.report(log)


def get_site_by_ref(session: Session, actor: Actor, ref: str) -> SentinelSite | None:
    site = session.execute(select(SentinelSite).where(SentinelSite.ref == ref)).scalar_one_or_none()
    return scope.visible_or_none(actor, site)


def list_sites(session: Session, actor: Actor) -> list[SentinelSite]:
    actor.require("surveillance.view")
    return list(session.execute(scope.visible(select(SentinelSite), actor, SentinelSite)
                                .order_by(SentinelSite.ref)).scalars())


def reporting_sites(session: Session, actor: Actor) -> list[SentinelSite]:
    """The sites a reporter (site staff) may enter counts for: those in their jurisdiction."""
    actor.require("sentinel.report")
    return list(session.execute(scope.visible(select(SentinelSite), actor, SentinelSite)
                                .order_by(SentinelSite.ref)).scalars())
