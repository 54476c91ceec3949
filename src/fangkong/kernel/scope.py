"""Jurisdiction scope (属地范围): the only code that knows what "in my jurisdiction" means.

Every read and write of a row that belongs to a unit goes through here:

- lists: `visible(stmt, actor, Model)` narrows a query to the actor's subtree; `within(stmt, unit,
  Model)` to a unit already found visible (a report about one district); `under(column, unit)` is the
  bare predicate, for a CASE or an OR of two paths;
- one row: `get_visible(session, actor, Model, pk)` and `get_visible_by(session, actor, Model,
  code=…)` (a natural key) raise NotFound outside the subtree; `find_visible_by` gives None instead;
- a row already in hand: `check(actor, row)` (NotFound), `visible_or_none(actor, row)`, `sees(actor,
  row_or_path)` (a bool, for a filter over rows another query loaded);
- units: `visible_unit(session, actor, unit_id | code=…)` (NotFound), `visible_unit_or_none(…)` (for a
  field error), `base_unit(session, actor, unit_id)` (the unit asked for, else the actor's own, else
  the root: what a report is about).

A row outside the subtree is a 404 (NotFound), never a 403, so its existence is not revealed.
`tests/kernel/test_scope_lint.py` fails on a path check written anywhere else.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import NotFound, record_not_found
from fangkong.kernel.jurisdictions.models import Unit

M = TypeVar("M")



def subtree(column: Any, path: str) -> ColumnElement[bool]:
    """`column` lies in the subtree at `path` ("/1/4/"): a range on the binary-collated index.

    '0' follows '/' in ASCII, so every string starting with "/1/4/" sorts in ["/1/4/", "/1/40").
    A LIKE 'prefix%' would not use the index in SQLite (LIKE is case-insensitive there).
    """
    return and_(column >= path, column < path[:-1] + "0")


def _path(where: Any) -> str | None:
    """The materialised path of a unit, a scoped row (its `unit_path`) or a path string."""
    if where is None or isinstance(where, str):
        return where
    if isinstance(where, Unit):
        return where.path
    return getattr(where, "unit_path", None)


def under(column: Any, unit: Unit | str) -> ColumnElement[bool]:
    """The predicate "`column` (a path column) lies in `unit`'s subtree". Check the unit is visible
    first (`visible_unit`); use `visible` / `within` on whole queries."""
    path = _path(unit)
    assert path, "a unit or a path"
    return subtree(column, path)


def _column(model: Any, column: Any | None) -> Any:
    if column is not None:
        return column
    return model.path if model is Unit else model.unit_path


def visible(stmt: Select[Any], actor: Actor, model: Any, *, column: Any | None = None) -> Select[Any]:
    """Rows whose `unit_path` (or `column`: `Unit.path` for a query joined to units) lies in the
    actor's subtree (paths end in '/')."""
    if actor.unit_path == "/":
        return stmt
    return stmt.where(subtree(_column(model, column), actor.unit_path))


def within(stmt: Select[Any], unit: Unit | str, model: Any, *, column: Any | None = None) -> Select[Any]:
    """Rows in `unit`'s subtree (a unit the caller found with `visible_unit`)."""
    path = _path(unit)
    if path == "/":
        return stmt
    return stmt.where(under(_column(model, column), unit))


def inside(where: Any, unit: Unit | str) -> bool:
    """Whether `where` (a unit, a scoped row or a path) lies in `unit`'s subtree (or is `unit`)."""
    path, top = _path(where), _path(unit)
    return path is not None and top is not None and path.startswith(top)


def sees(actor: Actor, where: Any) -> bool:
    """Whether `where` (a unit, a scoped row or a path) lies in the actor's subtree."""
    return inside(where, actor.unit_path)


def visible_or_none(actor: Actor, row: M | None) -> M | None:
    """`row` when the actor sees it, else None."""
    return row if row is not None and sees(actor, row) else None


def check(actor: Actor, row: M | None, ref: Any = "") -> M:
    """`row` when the actor sees it; NotFound otherwise (also for None). `ref` names it in the message."""
    if row is None or not sees(actor, row):
        ref = ref if ref != "" else getattr(row, "id", "")
        raise NotFound(record_not_found(type(row).__name__.lower() if row is not None else "record", ref))
    return row


def get_visible(session: Session, actor: Actor, model: type[M], pk: Any) -> M:
    """The row with primary key `pk` in the actor's subtree; NotFound otherwise."""
    row = session.get(model, pk)
    if row is None or not sees(actor, row):
        raise NotFound(record_not_found(model.__name__.lower(), pk))
    return row


def find_visible_by(session: Session, actor: Actor, model: type[M], **key: Any) -> M | None:
    """The row with this natural key (`code=`, `ref=`, `barcode=` …) when the actor sees it, else None."""
    row = session.execute(select(model).filter_by(**key)).scalar_one_or_none()
    return visible_or_none(actor, row)


def get_visible_by(session: Session, actor: Actor, model: type[M], **key: Any) -> M:
    """The row with this natural key in the actor's subtree; NotFound otherwise."""
    found = find_visible_by(session, actor, model, **key)
    if found is None:
        ref = " ".join(str(v) for v in key.values())
        raise NotFound(record_not_found(model.__name__.lower(), ref))
    return found


def visible_unit_or_none(session: Session, actor: Actor, unit_id: int | None = None, *,
                         code: str | None = None) -> Unit | None:
    """The unit (by id, or by `code`) when it lies in the actor's subtree, else None."""
    if unit_id is not None:
        return visible_or_none(actor, session.get(Unit, unit_id))
    if code is not None and code.strip():
        return find_visible_by(session, actor, Unit, code=code.strip())
    return None


def visible_unit(session: Session, actor: Actor, unit_id: int | None = None, *, code: str | None = None) -> Unit:
    """The unit (by id, or by `code`) in the actor's subtree; NotFound otherwise."""
    unit = visible_unit_or_none(session, actor, unit_id, code=code)
    if unit is None:
        raise NotFound(record_not_found("unit", unit_id if unit_id is not None else code))
    return unit


def base_unit(session: Session, actor: Actor, unit_id: int | None = None) -> Unit:
    """What a report or a new row is about: `unit_id`'s unit (visible, else NotFound), else the actor's
    own unit, else the root (the system, or data that arrives before the tree exists)."""
    if unit_id is not None:
        return visible_unit(session, actor, unit_id)
    if actor.unit_id is not None:
        own = session.get(Unit, actor.unit_id)
        if own is not None:
            return own
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one_or_none()
    if root is None:
        raise NotFound(record_not_found("unit", "/"))
    return root
