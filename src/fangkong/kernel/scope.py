"""Jurisdiction scope (属地范围): the only code that narrows rows to an actor's subtree.

Every list and get of a scoped row goes through `visible` / `get_visible`. A row outside the
subtree is a 404 (NotFound), never a 403, so its existence is not revealed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_
from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import NotFound, record_not_found

M = TypeVar("M")


def subtree(column: Any, path: str) -> ColumnElement[bool]:
    """`column` lies in the subtree at `path` ("/1/4/"): a range on the binary-collated index.

    '0' follows '/' in ASCII, so every string starting with "/1/4/" sorts in ["/1/4/", "/1/40").
    A LIKE 'prefix%' would not use the index in SQLite (LIKE is case-insensitive there).
    """
    return and_(column >= path, column < path[:-1] + "0")


def visible(stmt: Select[Any], actor: Actor, model: Any) -> Select[Any]:
    """Rows whose `unit_path` lies in the actor's subtree (paths end in '/')."""
    if actor.unit_path == "/":
        return stmt
    return stmt.where(subtree(model.unit_path, actor.unit_path))


def get_visible(session: Session, actor: Actor, model: type[M], pk: Any) -> M:
    row = session.get(model, pk)
    if row is None or not actor.sees_path(row.unit_path):  # type: ignore[attr-defined]
        raise NotFound(record_not_found(model.__name__.lower(), pk))
    return row
