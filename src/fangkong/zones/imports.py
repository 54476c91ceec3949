"""`fangkong import zones FILE`: zones drawn by file (zone_ref, level, units or addresses, starts_at,
reason), one report line per row; a zone_ref already stored is `duplicate`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import DomainError
from fangkong.kernel.messages import FieldIssue, _, message, translate
from fangkong.kernel.tabular import ReportRow, Row
from fangkong.zones.models import Zone
from fangkong.zones.service import zones as zones_service

ZONE_COLUMNS: dict[str, list[str]] = {
    "zone_ref": ["区域编号", "编号", "zone_ref", "ref", "reference"],
    "name": ["区域名称", "名称", "name", "zone name"],
    "level": ["等级", "风险等级", "level", "risk level"],
    "units": ["属地编码", "网格编码", "小区/村编码", "units", "unit", "unit_code", "grid"],
    "addresses": ["地址", "地址列表", "addresses", "address"],
    "starts_at": ["开始时间", "starts_at", "start_at", "start"],
    "reason": ["原因", "划定原因", "reason"],
}
ZONE_REQUIRED = ["level"]

LEVEL_WORDS = {"高": "high", "高风险": "high", "高风险区": "high", "封控区": "high", "high": "high",
               "中": "medium", "中风险": "medium", "中风险区": "medium", "管控区": "medium", "medium": "medium",
               "低": "low", "低风险": "low", "低风险区": "low", "防范区": "low", "low": "low"}
REF_TOO_LONG = message("zone.ref_too_long", _("at most %(max)s characters"))
BAD_TIME = message("zone.bad_time", _("not a date or time: %(value)s"))
_SPLIT = re.compile(r"[;；、|\n]+")


def _split(text: str) -> list[str]:
    return [p.strip() for p in _SPLIT.split(text or "") if p.strip()]


def import_zones(session: Session, actor: Actor, *, rows: Iterable[Row]) -> list[ReportRow]:
    """Draw one zone per row (each in its own savepoint: one bad row never stops the others)."""
    actor.require("zone.manage")
    out: list[ReportRow] = []
    for row in rows:
        v = row.values
        ref = (v.get("zone_ref") or "").strip() or None
        if ref is not None and len(ref) > 64:
            out.append(ReportRow(row.number, "rejected", issues=[FieldIssue("zone_ref", translate(
                REF_TOO_LONG(max=64), "en"))]))
            continue
        if ref is not None:
            existing = session.execute(select(Zone.id).where(Zone.ref == ref)).scalar()
            if existing is not None:
                out.append(ReportRow(row.number, "duplicate", extra={"zone_id": existing}))
                continue
        issues: list[str] = []
        level = LEVEL_WORDS.get((v.get("level") or "").strip().lower(), (v.get("level") or "").strip())
        starts_at = None
        if (v.get("starts_at") or "").strip():
            try:
                starts_at = clock.parse_time(v["starts_at"])
            except Exception:
                issues.append(FieldIssue("starts_at", translate(BAD_TIME(value=v["starts_at"]), "en")))
        if issues:
            out.append(ReportRow(row.number, "rejected", issues=issues))
            continue
        try:
            with session.begin_nested():
                result = zones_service.draw_zone(session, actor, level=level, reason=v.get("reason") or "",
                                                 units=_split(v.get("units") or ""),
                                                 addresses=_split(v.get("addresses") or ""),
                                                 starts_at=starts_at, name=(v.get("name") or "").strip() or None,
                                                 ref=ref)
        except DomainError as exc:
            fields = getattr(exc, "fields", None) or []
            issues = [FieldIssue(_field(f.field), translate(f.message, "en")) for f in fields] or [
                translate(exc.message, "en") if hasattr(exc, "message") else str(exc)]
            out.append(ReportRow(row.number, "rejected", issues=issues))
            continue
        z = result.zone
        out.append(ReportRow(row.number, "accepted", extra={"zone_id": z.id, "addresses": z.addresses,
                                                            "households": z.households, "residents": z.residents}))
    return out


def import_zones_file(session: Session, actor: Actor, path: Path) -> list[ReportRow]:
    """A zones file (CSV or XLSX) → its report, in file order."""
    from fangkong.kernel.tabular import read_table

    table = read_table(path, ZONE_COLUMNS, required_any=ZONE_REQUIRED)
    return table.report(import_zones(session, actor, rows=list(table)))


def _field(name: str) -> str:
    """`addresses.2` → `addresses` (the file's column)."""
    return name.split(".", 1)[0]
