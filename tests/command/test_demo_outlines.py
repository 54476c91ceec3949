"""The demo city's generated outlines (演示区划轮廓): every unit gets a polygon, its children tile its own
box, the same seed gives the same shapes, and the screen's map endpoint hands them out."""

from __future__ import annotations

from command_factories import build_tree

from fangkong.command.service.demo import demo_outlines, seed_demo_outlines
from fangkong.command.service.geometry import children_map
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions.models import Unit


def _box(shape: dict) -> tuple[float, float, float, float]:
    xs = [p[0] for p in shape["coordinates"][0]]
    ys = [p[1] for p in shape["coordinates"][0]]
    return min(xs), min(ys), max(xs), max(ys)


def test_demo_outlines_tile_the_tree(session) -> None:
    tree = build_tree(session)
    units = list(session.query(Unit))
    shapes = demo_outlines(units, seed=3)
    assert set(shapes) == {u.id for u in units}
    assert demo_outlines(units, seed=3) == shapes  # same seed, same outlines
    for shape in shapes.values():
        ring = shape["coordinates"][0]
        assert shape["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 9
    # each child lies within its parent's box (the bent edges stay inside it)
    for u in units:
        if u.parent_id is not None:
            cx0, cy0, cx1, cy1 = _box(shapes[u.id])
            px0, py0, px1, py1 = _box(shapes[u.parent_id])
            assert px0 <= cx0 < cx1 <= px1 and py0 <= cy0 < cy1 <= py1

    assert seed_demo_outlines(session, SYSTEM_ACTOR, seed=3) == len(units)
    fc = children_map(session, SYSTEM_ACTOR, unit_code=None)
    assert sorted(f["properties"]["code"] for f in fc["features"]) == sorted([tree.d1.code, tree.d2.code])
    assert all(f["geometry"] == shapes[u.id] for f in fc["features"] for u in units
               if u.code == f["properties"]["code"])
