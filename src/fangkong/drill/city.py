"""The demo city (演示城市) in the database: `generate_city` streams the pure generator's rows in.

Rows go in through the drivers' fast paths, in chunks, by the kernel's one bulk writer
(`kernel.bulk.bulk_insert`: `executemany` of plain tuples on SQLite, `COPY` on PostgreSQL); ids are assigned in Python after
the current maximum, so foreign keys need no round trips and a million persons never sit in memory
at once. ID and phone numbers are stored exactly as the person registry stores them (the columns of
`people.service.identity_columns`), encrypted and blind-indexed a chunk at a time
(`crypto.encrypt_many`, `crypto.blind_index_many`). Each stored chunk of persons is one audit entry
naming its id range.

A big city is generated in a second process (`spawn`, seeded alike: the same rows) while this one
encrypts and inserts: on two cores the generator's pure-Python work and the loading overlap.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from fangkong.drill.generator import AS_OF, CityGenerator, CityStats, IdBase, Root
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.bulk import bulk_insert
from fangkong.kernel.db import is_postgres
from fangkong.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.jurisdictions.service import NO_ROOT
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import mask_id, mask_phone
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place

INVALID_SIZE = message("demo.invalid_size", _("invalid size"))
AT_LEAST_ONE = message("demo.at_least_one", _("at least 1"))
CITY_EXISTS = message("demo.city_exists", _("the database already holds a city (jurisdictions, persons or places); "
                                            "the demo city is built only into a freshly initialised database"))

__all__ = ["CityExists", "CityStats", "city_exists", "generate_city"]

#: rows per insert
CHUNK = 10_000
#: from this many persons the generator runs in a second process (below, starting it costs more)
PARALLEL_FROM = 50_000
#: rows per message from the generator process; at most `_QUEUED` messages wait (memory stays flat)
_BATCH = 5000
_QUEUED = 8
#: tables in foreign-key order: flushing one flushes those before it first
_ORDER = ("unit", "address", "place", "person")
_TABLES = {"unit": Unit.__table__, "address": Address.__table__, "place": Place.__table__,
           "person": Person.__table__}


class CityExists(Conflict):
    """The database already holds a city (units below the root, persons or places)."""


def city_exists(session: Session) -> bool:
    """True when anything a demo city would add is already there (units below the root, persons, places)."""
    units = session.execute(select(func.count()).select_from(Unit).where(Unit.parent_id.is_not(None))).scalar_one()
    if units:
        return True
    if session.execute(select(Person.id).limit(1)).first() is not None:
        return True
    return session.execute(select(Place.id).limit(1)).first() is not None


def _max_id(session: Session, model: Any) -> int:
    return session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()


class _Loader:
    """Buffers rows per table and inserts them in chunks, parents before children."""

    def __init__(self, session: Session, created_at: dt.datetime,
                 progress: Callable[[int], None] | None) -> None:
        self.session = session
        self.created_at = created_at
        self.progress = progress
        self.buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in _ORDER}
        #: name as generated → (name, name_key): names recur, OpenCC runs once per distinct name
        self.names: dict[str, tuple[str | None, str | None]] = {}
        self.chunks = 0

    def add(self, table: str, row: dict[str, Any]) -> None:
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush(table)

    def _persons(self, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stored person rows, with the columns `people.service.register_person` gives them, built a
        chunk at a time. The generator's ID and phone numbers are valid by construction (the tests
        check every one with `check_id_number` and `check_phone`), so the derived columns come from it."""
        names = self.names
        for r in recs:
            if r["name"] not in names:
                cols = people_service.name_columns(r["name"])
                names[r["name"]] = (cols["name"], cols["name_key"])
        ids = [r["id_number"] for r in recs]
        id_enc = crypto.encrypt_many(ids)
        id_bidx = crypto.blind_index_many(ids, "id_number")
        phones = [r["phone"] for r in recs if r["phone"]]
        phone_enc = iter(crypto.encrypt_many(phones))
        phone_bidx = iter(crypto.blind_index_many(phones, "phone"))
        out = []
        for r, enc, bidx in zip(recs, id_enc, id_bidx, strict=True):
            name, key = names[r["name"]]
            phone = r["phone"]
            out.append({
                "id": r["id"], "name": name, "name_key": key, "id_number_enc": enc, "id_number_bidx": bidx,
                "id_number_valid": True, "id_number_masked": mask_id(r["id_number"]), "sex": r["sex"],
                "birth_date": r["birth_date"], "phone_enc": next(phone_enc) if phone else None,
                "phone_bidx": next(phone_bidx) if phone else None, "phone_masked": mask_phone(phone) if phone else None,
                "address_id": r["address_id"], "address_text": r["address_text"], "employer_id": r["employer_id"],
                "created_at": self.created_at, "updated_at": self.created_at, "source": "demo",
                "unit_id": r["unit_id"], "unit_path": r["unit_path"],
            })
        return out

    def flush(self, upto: str = "person") -> None:
        for table in _ORDER[: _ORDER.index(upto) + 1]:
            buf = self.buffers[table]
            if not buf:
                continue
            self.buffers[table] = []
            rows = self._persons(buf) if table == "person" else buf
            bulk_insert(self.session, _TABLES[table], rows)  # COPY on PostgreSQL, executemany of tuples on SQLite
            if table == "person":
                # one audit entry per stored chunk (ids are consecutive: the range names every person)
                audit.record(self.session, SYSTEM_ACTOR, "drill.demo_persons", object_type="person",
                             object_id=rows[0]["id"], first_id=rows[0]["id"], last_id=rows[-1]["id"],
                             count=len(rows))
                self.chunks += 1
                if self.progress is not None:
                    self.progress(len(rows))


def _generate(persons: int, seed: int, root: Root, ids: IdBase, as_of: dt.date, queue: Any) -> None:
    """The generator process: rows in batches onto `queue`, then the stats and headcounts, then None."""
    gen = CityGenerator(persons=persons, seed=seed, root=root, ids=ids, as_of=as_of)
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in gen.rows():
        batch.append(item)
        if len(batch) >= _BATCH:
            queue.put(batch)
            batch = []
    if batch:
        queue.put(batch)
    queue.put(("done", gen.stats, gen.employer_headcount))
    queue.put(None)


def _rows_in_process(persons: int, seed: int, root: Root, ids: IdBase, as_of: dt.date,
                     out: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections or locks
    queue = ctx.Queue(maxsize=_QUEUED)
    proc = ctx.Process(target=_generate, args=(persons, seed, root, ids, as_of, queue), daemon=True)
    proc.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if isinstance(item, tuple):  # ("done", stats, headcount)
                out["stats"], out["headcount"] = item[1], item[2]
                continue
            yield from item
        proc.join()
        if proc.exitcode:
            raise RuntimeError(f"the demo city generator failed (exit code {proc.exitcode})")
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join()


def _drop_indexes(session: Session, tables: tuple[str, ...]) -> list[str]:
    """Drop the secondary indexes of those `tables` that are still empty and return their definitions:
    building an index once over sorted keys beats a million random inserts into each (measured at
    100,000 persons on SQLite: 35% less CPU for the inserts, more as the indexes outgrow the page
    cache). The definitions are read from the database itself, so they come back exactly as the
    migrations made them; unique constraints and primary keys stay (and keep checking)."""
    pg = is_postgres(session)
    saved: list[str] = []
    for table in tables:
        if session.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None:
            continue
        if pg:
            found = session.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"), {"t": table}).all()
        else:
            found = session.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"),
                {"t": table}).all()
        for name, definition in found:
            session.execute(text(f'DROP INDEX "{name}"'))
            saved.append(definition)
    return saved


def _sync_sequences(session: Session) -> None:
    """PostgreSQL: explicit ids do not advance the id sequences; move them past the new rows."""
    if not is_postgres(session):
        return
    for table in _ORDER:
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))


def generate_city(session: Session, *, persons: int, seed: int,
                  progress: Callable[[int], None] | None = None, parallel: bool | None = None) -> CityStats:
    """Build the demo city (演示城市) under the root unit: jurisdictions, addresses, places, persons.

    Refuses (`CityExists`) when the database already holds a city. Flushes, never commits.
    `progress(n)` is called as each chunk of persons is stored. `parallel`: generate in a second
    process (default: from `PARALLEL_FROM` persons); the rows are the same either way.
    """
    if persons < 1:
        raise ValidationFailed(INVALID_SIZE(), [FieldError("persons", AT_LEAST_ONE())])
    if city_exists(session):
        raise CityExists(CITY_EXISTS())
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)).scalar_one_or_none()
    if root is None:
        raise NotFound(NO_ROOT())
    session.flush()
    ids = IdBase(unit=_max_id(session, Unit), address=_max_id(session, Address), place=_max_id(session, Place),
                 person=_max_id(session, Person))
    city_root = Root(root.id, root.path, root.depth)
    as_of = min(AS_OF, clock.today())
    loader = _Loader(session, clock.now(), progress)
    indexes = _drop_indexes(session, ("address", "person"))
    if parallel if parallel is not None else persons >= PARALLEL_FROM:
        out: dict[str, Any] = {}
        for table, row in _rows_in_process(persons, seed, city_root, ids, as_of, out):
            loader.add(table, row)
        stats, headcount = out["stats"], out["headcount"]
    else:
        gen = CityGenerator(persons=persons, seed=seed, root=city_root, ids=ids, as_of=as_of)
        for table, row in gen.rows():
            loader.add(table, row)
        stats, headcount = gen.stats, gen.employer_headcount
    loader.flush()
    for definition in indexes:
        session.execute(text(definition))
    # an employer's capacity is its headcount: the residents who work there
    if headcount:
        stmt = (update(Place.__table__).where(Place.__table__.c.id == bindparam("pid"))
                .values(capacity=bindparam("headcount")))
        rows = [{"pid": pid, "headcount": n} for pid, n in sorted(headcount.items())]
        session.connection().execute(stmt, rows)
    _sync_sequences(session)
    audit.record(session, SYSTEM_ACTOR, "drill.demo_city", object_type="unit", object_id=root.id,
                 persons=persons, seed=seed, addresses=stats.addresses, places=sum(stats.places.values()),
                 person_chunks=loader.chunks)
    session.flush()
    return stats
