"""kernel/bulk: the drivers' fast paths store what SQLAlchemy's own insert and update store."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from fangkong.kernel import bulk
from fangkong.kernel.db import UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = ["id", "s", "k", "t", "j", "b", "f"]


def _tables(session: Session) -> tuple[Table, Table]:
    md = MetaData()
    made = [Table(name, md, Column("id", Integer, primary_key=True), Column("s", String(20)), Column("k", Integer),
                  Column("t", UTCDateTime), Column("j", JSON), Column("b", Boolean), Column("f", Float))
            for name in ("bulk_probe_fast", "bulk_probe_ref")]
    md.create_all(session.connection())  # inside the test's transaction: rolled back with it
    return made[0], made[1]


def _rows(n: int) -> list[dict[str, Any]]:
    shared = {"x": 1, "中": "文"}
    # equal values that are not stored alike (True and 1, 0.0 and -0.0), one instant in two zones,
    # equal times built row by row, one dict shared by many rows
    j_values: list[Any] = [shared, True, 1, 1.0, -0.0, 0.0, "é", {"i": 2}, [1, True]]
    return [{"id": i + 1, "s": f"s{i % 4}", "k": i % 3,
             "t": [dt.datetime(2026, 12, 7, 8, tzinfo=SHANGHAI), dt.datetime(2026, 12, 7, 0, tzinfo=dt.UTC),
                   dt.datetime(2026, 12, 7, 0, 0, i % 2, tzinfo=dt.UTC), None][i % 4],
             "j": j_values[i % len(j_values)], "b": [True, False, None][i % 3], "f": [1.5, -0.0, 0.0, 1, None][i % 5]}
            for i in range(n)]


def _stored(session: Session, table: Table) -> list[Any]:
    # repr: True == 1 and -0.0 == 0.0 in Python, but they are not the same stored value
    return [tuple(repr(v) for v in r) for r in session.execute(select(table).order_by(table.c.id))]


def test_insert_and_update_store_what_sqlalchemy_stores(session: Session) -> None:
    fast, ref = _tables(session)
    rows = _rows(60)
    bulk.insert_rows(session, fast, COLUMNS, [[r[c] for c in COLUMNS] for r in rows])
    session.execute(insert(ref), rows)
    assert _stored(session, fast) == _stored(session, ref)

    later = dt.datetime(2026, 12, 8, tzinfo=SHANGHAI)
    changes = [(i, f"u{i % 2}", later, [True, 1, {"z": 1}][i % 3]) for i in range(1, 61, 2)]
    bulk.update_rows(session, fast, "id", ["s", "t", "j"], changes, guard={"k": 1})
    session.execute(update(ref).where(ref.c.id == bindparam("_id"), ref.c.k == 1)
                    .values(s=bindparam("_s"), t=bindparam("_t"), j=bindparam("_j")),
                    [{"_id": i, "_s": s, "_t": t, "_j": j} for i, s, t, j in changes])
    stored = _stored(session, fast)
    assert stored == _stored(session, ref)
    assert {r[1] for r in stored} & {"'u0'", "'u1'"}  # the guard let some rows change …
    assert {r[1] for r in stored} - {"'u0'", "'u1'"}  # … and kept others


def test_bulk_insert_reserves_ids_in_order(session: Session) -> None:
    fast, ref = _tables(session)
    rows = [{k: v for k, v in r.items() if k != "id"} for r in _rows(30)]
    ids = bulk.bulk_insert(session, fast, [dict(r) for r in rows])
    assert len(set(ids)) == 30
    assert ids == sorted(ids)
    session.execute(insert(ref), [dict(r, id=i) for r, i in zip(rows, ids, strict=True)])
    assert _stored(session, fast) == _stored(session, ref)


def test_in_list_finds_exactly_the_values_given(session: Session) -> None:
    fast, _ref = _tables(session)
    bulk.insert_rows(session, fast, ["id", "s"], [(i, f"s{i}") for i in range(1, 1201)])
    wanted = [*range(2, 1201, 3), 5000]  # more values than one chunk, one absent
    assert session.execute(select(fast.c.id).where(bulk.in_list(session, fast.c.id, wanted)).order_by(fast.c.id)
                           ).scalars().all() == list(range(2, 1201, 3))
    assert session.execute(select(fast.c.id).where(bulk.in_list(session, fast.c.s, ["s7", "s9", "nope"]))
                           .order_by(fast.c.id)).scalars().all() == [7, 9]
    assert session.execute(select(fast.c.id).where(bulk.in_list(session, fast.c.id, []))).all() == []
