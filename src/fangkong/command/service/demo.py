"""Fictional outlines for the demo city (演示区划轮廓): every unit of the tree gets a generated polygon,
its children tiling its own outline, so the big screen shows an ECharts `registerMap` map out of the box.
Generated from the tree and a seed, never real geography: the root is a square in an empty stretch of
longitude/latitude, each unit's children split their parent's rectangle into a grid of cells whose
shared edges are bent a little (the same seed, the same outlines)."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.command.service.geometry import store_outline
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.jurisdictions.models import Unit

#: the root's square (degrees): a fictional place, not a real city
ORIGIN = (100.0, 30.0)
SIZE = 1.0


def _cells(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return cols, math.ceil(n / cols)


def _ring(x0: float, y0: float, x1: float, y1: float, bend: dict[tuple[float, float], tuple[float, float]]
          ) -> list[list[float]]:
    """A rectangle as a closed ring with a bent midpoint on each side (shared sides bend alike)."""
    pts = [(x0, y0), ((x0 + x1) / 2, y0), (x1, y0), (x1, (y0 + y1) / 2), (x1, y1), ((x0 + x1) / 2, y1),
           (x0, y1), (x0, (y0 + y1) / 2)]
    ring = [list(bend.get((round(x, 9), round(y, 9)), (x, y))) for x, y in pts]
    return [[round(x, 6), round(y, 6)] for x, y in ring] + [[round(ring[0][0], 6), round(ring[0][1], 6)]]


def demo_outlines(units: list[Unit], *, seed: int = 1) -> dict[int, dict[str, Any]]:
    """Each unit's generated Polygon by unit id (pure: the tree in, the shapes out)."""
    rng = random.Random(seed)
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for u in units:
        children[u.parent_id].append(u)
    out: dict[int, dict[str, Any]] = {}
    boxes: dict[int, tuple[float, float, float, float]] = {}
    stack: list[tuple[Unit, tuple[float, float, float, float], dict[Any, Any]]] = [
        (root, (ORIGIN[0], ORIGIN[1], ORIGIN[0] + SIZE, ORIGIN[1] + SIZE), {})
        for root in sorted(children[None], key=lambda u: u.code)]
    while stack:
        unit, box, bend = stack.pop()
        boxes[unit.id] = box
        out[unit.id] = {"type": "Polygon", "coordinates": [_ring(*box, bend)]}
        kids = sorted(children.get(unit.id, []), key=lambda u: u.code)
        if not kids:
            continue
        x0, y0, x1, y1 = box
        cols, rows = _cells(len(kids))
        w, h = (x1 - x0) / cols, (y1 - y0) / rows
        # the midpoints of the inner edges move a little, the same for both cells sharing an edge
        inner: dict[tuple[float, float], tuple[float, float]] = {}
        for c in range(cols):
            for r in range(rows + 1):
                if 0 < r < rows:
                    x, y = x0 + (c + 0.5) * w, y0 + r * h
                    inner[(round(x, 9), round(y, 9))] = (x, y + (rng.random() - 0.5) * 0.3 * h)
        for c in range(cols + 1):
            for r in range(rows):
                if 0 < c < cols:
                    x, y = x0 + c * w, y0 + (r + 0.5) * h
                    inner[(round(x, 9), round(y, 9))] = (x + (rng.random() - 0.5) * 0.3 * w, y)
        for i, kid in enumerate(kids):
            c, r = i % cols, i // cols
            cell = (x0 + c * w, y0 + r * h, x0 + (c + 1) * w, y0 + (r + 1) * h)
            stack.append((kid, cell, {**bend, **inner}))
    return out


def seed_demo_outlines(session: Session, actor: Actor, *, seed: int = 1) -> int:
    """Store the generated outline of every unit of the tree (`fangkong demo`); returns how many."""
    units = list(session.execute(select(Unit)).scalars())
    shapes = demo_outlines(units, seed=seed)
    by_id = {u.id: u for u in units}
    for uid, shape in shapes.items():
        store_outline(session, actor, unit=by_id[uid], shape=shape)
    return len(shapes)
