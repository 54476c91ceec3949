"""The demo city (演示城市) in the database: `generate_city` streams the pure generator's rows in.

Rows are inserted with SQLAlchemy Core in chunks (`executemany`; insertmanyvalues on PostgreSQL),
ids assigned in Python after the current maximum, so foreign keys need no round trips and a million
persons never sit in memory at once. ID and phone numbers are stored exactly as the person registry
stores them (`people.service.identity_columns`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from fangkong.drill.generator import AS_OF, CityGenerator, CityStats, IdBase, Root
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.db import is_postgres
from fangkong.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from fangkong.kernel.jurisdictions.models import Address, Unit
from fangkong.kernel.jurisdictions.service import NO_ROOT
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import check_id_number, check_phone
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place

INVALID_SIZE = message("demo.invalid_size", _("invalid size"))
AT_LEAST_ONE = message("demo.at_least_one", _("at least 1"))
CITY_EXISTS = message("demo.city_exists", _("the database already holds a city (jurisdictions, persons or places); "
                                            "the demo city is built only into a freshly initialised database"))

__all__ = ["CityExists", "CityStats", "city_exists", "generate_city"]

#: rows per executemany
CHUNK = 5000
#: tables in foreign-key order: flushing one flushes those before it first
_ORDER = ("unit", "address", "place", "person")
#: generator fields replaced by the stored columns (name, name_key, encrypted numbers, sex, birth date)
_CLEAR_FIELDS = ("name", "id_number", "phone", "sex", "birth_date")
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
        self.today = clock.today()
        self.buffers: dict[str, list[dict[str, Any]]] = {t: [] for t in _ORDER}

    def add(self, table: str, row: dict[str, Any]) -> None:
        if table == "person":
            row = self._person(row)
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush(table)

    def _person(self, rec: dict[str, Any]) -> dict[str, Any]:
        """A stored person row, built as `people.service.register_person` builds it."""
        row = {k: v for k, v in rec.items() if k not in _CLEAR_FIELDS}
        row.update(people_service.name_columns(rec["name"]))
        id_check = check_id_number(rec["id_number"], today=self.today)
        if id_check is None or not id_check.valid or (id_check.sex, id_check.birth_date) != (rec["sex"],
                                                                                              rec["birth_date"]):
            raise AssertionError(f"the generator made a bad ID number for person {rec['id']}")
        row.update(people_service.identity_columns(
            id_check=id_check, phone_check=check_phone(rec["phone"]) if rec["phone"] else None))
        row["created_at"] = row["updated_at"] = self.created_at
        row["source"] = "demo"
        return row

    def flush(self, upto: str = "person") -> None:
        for table in _ORDER[: _ORDER.index(upto) + 1]:
            buf = self.buffers[table]
            if buf:
                self.session.execute(_TABLES[table].insert(), buf)
                if table == "person" and self.progress is not None:
                    self.progress(len(buf))
                self.buffers[table] = []


def _sync_sequences(session: Session) -> None:
    """PostgreSQL: explicit ids do not advance the id sequences; move them past the new rows."""
    if not is_postgres(session):
        return
    for table in _ORDER:
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))


def generate_city(session: Session, *, persons: int, seed: int,
                  progress: Callable[[int], None] | None = None) -> CityStats:
    """Build the demo city (演示城市) under the root unit: jurisdictions, addresses, places, persons.

    Refuses (`CityExists`) when the database already holds a city. Flushes, never commits.
    `progress(n)` is called as each chunk of persons is stored.
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
    gen = CityGenerator(persons=persons, seed=seed, root=Root(root.id, root.path, root.depth), ids=ids,
                        as_of=min(AS_OF, clock.today()))
    loader = _Loader(session, clock.now(), progress)
    for table, row in gen.rows():
        loader.add(table, row)
    loader.flush()
    # an employer's capacity is its headcount: the residents who work there
    if gen.employer_headcount:
        stmt = (update(Place.__table__).where(Place.__table__.c.id == bindparam("pid"))
                .values(capacity=bindparam("headcount")))
        rows = [{"pid": pid, "headcount": n} for pid, n in sorted(gen.employer_headcount.items())]
        session.connection().execute(stmt, rows)
    _sync_sequences(session)
    audit.record(session, SYSTEM_ACTOR, "drill.demo_city", object_type="unit", object_id=root.id,
                 persons=persons, seed=seed, addresses=gen.stats.addresses, places=sum(gen.stats.places.values()))
    session.flush()
    return gen.stats
