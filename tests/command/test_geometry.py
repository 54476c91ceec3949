"""Unit outlines for the screen's map: a GeoJSON file imported feature by feature (unknown codes and
non-polygons reported one by one, a re-import is duplicate), served as the children's FeatureCollection."""

from __future__ import annotations

import json
from pathlib import Path

from command_factories import actor, build_tree
from sqlalchemy.orm import Session

from fangkong.command.service import geometry
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

SQUARE = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]


def outlines(path: Path) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "D1", "name": "甲区"}, "geometry": {"type": "Polygon",
                                                                                     "coordinates": SQUARE}},
        {"type": "Feature", "properties": {"code": "D2"}, "geometry": {"type": "MultiPolygon",
                                                                      "coordinates": [SQUARE]}},
        {"type": "Feature", "properties": {"code": "ZZ9"}, "geometry": {"type": "Polygon", "coordinates": SQUARE}},
        {"type": "Feature", "properties": {"code": "G1"}, "geometry": {"type": "Point", "coordinates": [0, 0]}},
    ]}, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_geometry_reports_each_feature(session: Session, tmp_path: Path) -> None:
    tree = build_tree(session)
    path = outlines(tmp_path / "city.geojson")
    rows = geometry.import_geometry(session, SYSTEM_ACTOR, path)
    assert [(r.row, r.status, [str(i) for i in r.issues]) for r in rows] == [
        (1, "accepted", []), (2, "accepted", []), (3, "rejected", ["code: unknown unit ZZ9"]),
        (4, "rejected", ["geometry: a Polygon or MultiPolygon is required, not Point"])]
    assert [r.status for r in geometry.import_geometry(session, SYSTEM_ACTOR, path)][:2] == ["duplicate", "duplicate"]
    fc = geometry.children_map(session, actor(tree.root), unit_code=None)
    assert [(f["properties"]["code"], f["properties"]["name"], f["geometry"]["type"]) for f in fc["features"]] == [
        ("D1", "甲区", "Polygon"), ("D2", "乙区", "MultiPolygon")]
    # a district's children have no outlines: the screen draws its tiles
    assert geometry.children_map(session, actor(tree.d1, "district"), unit_code=None)["features"] == []
