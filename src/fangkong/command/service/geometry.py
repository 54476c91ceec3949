"""Unit outlines for the big screen's map (辖区边界): a deployment's approved GeoJSON imported feature by
feature (`fangkong import geometry FILE`), each feature naming its unit by code; the screen registers the
children's outlines with ECharts (`registerMap`) and colours them, else it draws its schematic tile map.
Nothing is downloaded at run time and no real map is shipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command.models import UnitGeometry
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message
from fangkong.kernel.tabular import ReportRow, UnusableFile

NOT_GEOJSON = message("geometry.not_geojson", _("not a GeoJSON FeatureCollection: %(why)s"))
UNKNOWN_UNIT = message("geometry.unknown_unit", _("code: unknown unit %(code)s"))
NO_CODE = message("geometry.no_code", _("code: required (properties.code)"))
BAD_GEOMETRY = message("geometry.bad_geometry", _("geometry: a Polygon or MultiPolygon is required, not %(kind)s"))
SHAPES = ("Polygon", "MultiPolygon")


def _features(path: Path) -> list[Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusableFile(NOT_GEOJSON(why=str(exc)[:200])) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise UnusableFile(NOT_GEOJSON(why="no features"))
    return doc["features"]


def import_geometry(session: Session, actor: Actor, path: Path, **_kw: Any) -> list[ReportRow]:
    """One report line per feature (row = its position, from 1): `accepted` (stored or replaced),
    `duplicate` (the same outline already stored), `rejected` (no code, an unknown unit — each named —
    or not a polygon). Needs `unit.manage`."""
    actor.require("unit.manage")
    features = _features(path)
    units = {u.code: u for u in session.execute(select(Unit)).scalars()}
    stored = {g.unit_id: g for g in session.execute(select(UnitGeometry)).scalars()}
    out: list[ReportRow] = []
    for i, f in enumerate(features, start=1):
        props = f.get("properties") if isinstance(f, dict) else None
        props = props if isinstance(props, dict) else {}
        code = str(props.get("code") or props.get("unit_code") or "").strip()
        geom = f.get("geometry") if isinstance(f, dict) else None
        kind = geom.get("type") if isinstance(geom, dict) else None
        issues = []
        if not code:
            issues.append(NO_CODE())
        elif code not in units:
            issues.append(UNKNOWN_UNIT(code=code))
        if kind not in SHAPES or not isinstance(geom.get("coordinates"), list):  # type: ignore[union-attr]
            issues.append(BAD_GEOMETRY(kind=str(kind)))
        if issues:
            out.append(ReportRow(i, "rejected", issues=issues, extra={"unit_code": code}))
            continue
        unit = units[code]
        shape = {"type": kind, "coordinates": geom["coordinates"]}  # type: ignore[index]
        old = stored.get(unit.id)
        if old is not None and old.geometry == shape:
            out.append(ReportRow(i, "duplicate", extra={"unit_code": code}))
            continue
        if old is None:
            old = UnitGeometry(unit_id=unit.id, unit_path=unit.path, geometry=shape, imported_at=clock.now(),
                               imported_by=actor.username)
            session.add(old)
            stored[unit.id] = old
        else:
            old.geometry, old.imported_at, old.imported_by = shape, clock.now(), actor.username
        out.append(ReportRow(i, "accepted", extra={"unit_code": code}))
    audit.record(session, actor, "command.geometry_imported", object_type="command_geometry", object_id=None,
                 filename=Path(path).name, accepted=sum(r.status == "accepted" for r in out),
                 rejected=sum(r.status == "rejected" for r in out))
    session.flush()
    return out


def store_outline(session: Session, actor: Actor, *, unit: Unit, shape: dict[str, Any]) -> UnitGeometry:
    """Keep (or replace) one unit's outline (a checked Polygon or MultiPolygon)."""
    actor.require("unit.manage")
    old = session.execute(select(UnitGeometry).where(UnitGeometry.unit_id == unit.id)).scalar_one_or_none()
    if old is None:
        old = UnitGeometry(unit_id=unit.id, unit_path=unit.path, geometry=shape, imported_at=clock.now(),
                           imported_by=actor.username)
        session.add(old)
    else:
        old.geometry, old.imported_at, old.imported_by = shape, clock.now(), actor.username
    session.flush()
    return old


def children_map(session: Session, actor: Actor, *, unit_code: str | None) -> dict[str, Any]:
    """The outlines of a unit's children as a GeoJSON FeatureCollection (`properties`: code, name), for
    the screen's `registerMap`; empty features when none were imported (the screen draws tiles)."""
    actor.require("command.view")
    base = scope.visible_unit(session, actor, code=unit_code) if unit_code else scope.base_unit(session, actor)
    rows = session.execute(select(UnitGeometry, Unit).join(Unit, Unit.id == UnitGeometry.unit_id)
                           .where(Unit.parent_id == base.id).order_by(Unit.code)).all()
    return {"type": "FeatureCollection", "unit_code": base.code,
            "features": [{"type": "Feature", "properties": {"code": u.code, "name": u.name}, "geometry": g.geometry}
                         for g, u in rows]}
