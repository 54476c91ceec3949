"""Bulk reads and writes of many rows in one statement each (批量直写): the driver's fast paths.

What a batch of 10,000 lab results does to 100,000 members and their tasks, without a Python
object or an SQLAlchemy parameter set per row:
- `one_of(session, column, values)`: `column IN values` as ONE bound parameter whatever the size —
  `= ANY(:array)` on PostgreSQL, `IN (SELECT value FROM json_each(:json))` on SQLite — so a batch's
  identities resolve in one query, not one per chunk of 500;
- `insert_rows`: `COPY … FROM STDIN` on PostgreSQL, the sqlite3 cursor's own `executemany` on SQLite;
- `update_rows`: `COPY` into a temporary table and one `UPDATE … FROM` on PostgreSQL, the sqlite3
  cursor's `executemany` of an UPDATE by key on SQLite.

Values are converted exactly as the columns' SQLAlchemy types bind them (`UTCDateTime` to naive UTC,
SQLite's DATETIME text, JSON text), memoised per distinct value: a batch has few distinct times and
outcomes, and SQLAlchemy's own executemany spends most of its time converting the same values again
(measured: 320,000 parameter sets built for one batch). Hand-written because SQLAlchemy has no COPY
and no executemany that skips its per-row parameter processing; psycopg's `copy` and sqlite3's
`executemany` do the work. The caller flushes its session first (pending ORM rows) — done here — and
expires the ORM objects it changed behind the identity map's back (`expire_changed`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Table, any_, bindparam, func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from fangkong.kernel.db import UTCDateTime, is_postgres


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN (values)` as one parameter, any number of values (an index lookup per value)."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    each = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(each.c.value))


def _converters(session: Session, table: Table, columns: Sequence[str]) -> list[Any]:
    """Per column: a function turning a Python value into what the driver gets (None: as is)."""
    dialect = session.get_bind().dialect
    pg = dialect.name == "postgresql"
    out: list[Any] = []
    for name in columns:
        col = table.c[name]
        if pg:
            if isinstance(col.type, UTCDateTime):
                out.append(lambda v, t=col.type, d=dialect: t.process_bind_param(v, d))
            elif col.type._type_affinity is JSON:
                out.append(lambda v: json.dumps(v, ensure_ascii=False))
            else:
                out.append(None)
        else:
            out.append(col.type._cached_bind_processor(dialect))
    return out


def _rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
          ) -> Iterable[list[Any]]:
    convs = _converters(session, table, columns)
    # (position, converter, memo by value, memo by object for dicts and lists: the caller's objects
    # live for the call)
    active = [(i, conv, {}, {}) for i, conv in enumerate(convs) if conv is not None]
    for row in rows:
        out = list(row)
        for i, conv, by_value, by_object in active:
            v = out[i]
            if v is None:
                continue
            if type(v) is dict or type(v) is list:
                c = by_object.get(id(v), _MISSING)
                if c is _MISSING:
                    c = by_object[id(v)] = conv(v)
            else:
                c = by_value.get(v, _MISSING)
                if c is _MISSING:
                    c = by_value[v] = conv(v)
            out[i] = c
        yield out


_MISSING = object()


def _raw(session: Session) -> Any:
    session.flush()
    return session.connection().connection.driver_connection


def _copy(cur: Any, target: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    import psycopg

    names = ", ".join(f'"{c}"' for c in columns)
    try:
        with cur.copy(f'COPY {target} ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.DataError as exc:  # as an INSERT would raise it (a 422, not a 500)
        raise DataError(f"COPY {target}", None, exc) from exc


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows (tuples in `columns` order); ids from the table's own default unless a column."""
    raw = _raw(session)
    converted = _rows(session, table, columns, rows)
    if is_postgres(session):
        with raw.cursor() as cur:
            _copy(cur, f'"{table.name}"', columns, converted)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    raw.cursor().executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})',
                             converted)


def update_rows(session: Session, table: Table, key: str, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], *, guard: dict[str, Any] | None = None) -> None:
    """`UPDATE table SET columns … WHERE key = …` for each row: (key, *columns) tuples; `guard`:
    column → value every updated row must still have (e.g. a task still `open`)."""
    raw = _raw(session)
    converted = _rows(session, table, [key, *columns], rows)
    guards = list((guard or {}).items())
    guard_values = [v for _row in _rows(session, table, [c for c, _v in guards], [[v for _c, v in guards]])
                    for v in _row]
    if is_postgres(session):
        stage = f"fk_stage_{uuid.uuid4().hex[:12]}"
        names = ", ".join(f'"{c}"' for c in [key, *columns])
        sets = ", ".join(f'"{c}" = s."{c}"' for c in columns)
        with raw.cursor() as cur:
            cur.execute(f'CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {names} FROM "{table.name}" WITH NO DATA')
            _copy(cur, stage, [key, *columns], converted)
            cur.execute(f'ANALYZE {stage}')
            where = "".join(f' AND t."{c}" = %s' for c, _v in guards)
            cur.execute(f'UPDATE "{table.name}" t SET {sets} FROM {stage} s WHERE t."{key}" = s."{key}"{where}',
                        guard_values)
            cur.execute(f"DROP TABLE {stage}")
        return
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    where = "".join(f' AND "{c}" = ?' for c, _v in guards)

    def ordered() -> Iterable[list[Any]]:  # parameters in the statement's order: SET …, key, guards
        for row in converted:
            row.append(row[0])
            del row[0]
            row.extend(guard_values)
            yield row

    raw.cursor().executemany(f'UPDATE "{table.name}" SET {sets} WHERE "{key}" = ?{where}', ordered())


def expire_changed(session: Session, cls: type, ids: Iterable[int]) -> None:
    """Expire the session's loaded `cls` objects among `ids` (rows changed behind the identity map)."""
    changed = set(ids)
    if not changed:
        return
    for obj in list(session.identity_map.values()):
        if isinstance(obj, cls) and getattr(obj, "id", None) in changed:
            session.expire(obj)
