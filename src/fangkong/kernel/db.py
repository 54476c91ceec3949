"""Database: engine, sessions, the declarative base, portable column types and migrations.

One code path for SQLite (default, embedded) and PostgreSQL (production, through psycopg 3).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive datetimes so local time never leaks in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class SystemSetting(Base):
    """System-wide key/value settings stored in the database (mode, active policy pack …)."""

    __tablename__ = "system_setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(2000))


#: execution option naming how a SQLite transaction begins (see `_sqlite_begin`)
SQLITE_BEGIN = "fangkong_sqlite_begin"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    from fangkong.settings import get_settings

    settings = get_settings()
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT nesting; let SQLAlchemy
    # emit BEGIN itself (SQLAlchemy's documented recipe for serializable SQLite transactions).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_s * 1000)}")
    cur.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: resolution against a 1M registry
    cur.close()


#: one lock per SQLite file in this process: its write transactions queue on it (see `_sqlite_begin`)
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
#: `Connection.info` key of the lock a connection's write transaction holds
_HELD = "fangkong_sqlite_write_lock"


def _write_lock(path: str) -> threading.Lock:
    key = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def _release_write_lock(dbapi_connection: Any) -> None:
    try:
        info = dbapi_connection.info
    except (AttributeError, NotImplementedError):  # the dialect's first connect: an ad-hoc proxy
        return
    lock = info.pop(_HELD, None)
    if lock is not None:
        lock.release()


def _releasing(inner: Any) -> Any:
    """`dialect.do_commit` / `do_rollback`, then hand the process's write lock on (after the COMMIT has
    returned: the next writer's BEGIN IMMEDIATE then finds the file free)."""

    def call(dbapi_connection: Any) -> None:
        try:
            inner(dbapi_connection)
        finally:
            _release_write_lock(dbapi_connection)

    return call


def _sqlite_begin(conn: Any) -> None:
    """Writers start as writers (`BEGIN IMMEDIATE`).

    A deferred transaction that reads and then writes cannot take the write lock once another writer
    has committed since its read: SQLite answers SQLITE_BUSY at once, without waiting out the busy
    timeout, and the request fails with "database is locked". Taking the write lock at BEGIN makes
    concurrent writers queue (up to the busy timeout) instead. In WAL mode readers are never blocked.
    Long read-only work (exports, reports) can begin deferred with `read_only(session)`.
    """
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
    if mode == "DEFERRED":
        conn.exec_driver_sql("BEGIN")
        return
    # Writers of this process queue on a lock of their own before BEGIN IMMEDIATE. SQLite's busy handler
    # polls a held lock with sleeps growing to 100 ms, so under four concurrent writers a waiting one
    # oversleeps the lock's release by tens of milliseconds: measured p99 250–540 ms per write, 106
    # writes/s, against 50 ms and 135–191/s when they queue here (docs/performance.md). Other processes
    # (a CLI import, a second `serve` worker) still meet SQLite's own lock and busy timeout; the wait
    # here is bounded by that timeout too, after which BEGIN IMMEDIATE waits as before.
    lock = conn.info.get(_HELD)
    if lock is None and (path := conn.engine.url.database) and path != ":memory:":
        lock = _write_lock(path)
        if lock.acquire(timeout=conn.engine.dialect._fangkong_busy_s):
            conn.info[_HELD] = lock
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _release_write_lock(conn.connection)
        raise


def _release_held(record: Any) -> None:
    lock = record.info.pop(_HELD, None) if record is not None else None
    if lock is not None:
        lock.release()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the platform's connection settings for either backend."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            from fangkong.kernel.files import private_file

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            private_file(Path(path))  # personal data: 0600 (the -wal and -shm files follow its mode)
        from fangkong.settings import get_settings

        timeout = get_settings().sqlite_busy_timeout_s
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        # the write lock is handed on when the transaction ends, however it ends (commit, rollback, the
        # pool's reset of a connection given back mid-transaction, an invalidated connection)
        dialect = engine.dialect
        dialect._fangkong_busy_s = timeout  # type: ignore[attr-defined]
        dialect.do_commit = _releasing(dialect.do_commit)  # type: ignore[method-assign]
        dialect.do_rollback = _releasing(dialect.do_rollback)  # type: ignore[method-assign]
        event.listen(engine.pool, "invalidate", lambda dbapi_conn, record, exc: _release_held(record))
        event.listen(engine.pool, "close", lambda dbapi_conn, record: _release_held(record))
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _factory
    if _engine is None:
        from fangkong.settings import get_settings

        _engine = make_engine(get_settings().resolved_database_url)
        _factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def set_engine(engine: Engine | None) -> None:
    """Use this engine for the process (tests, the CLI after reading --database)."""
    global _engine, _factory
    _engine = engine
    _factory = sessionmaker(engine, expire_on_commit=False) if engine is not None else None


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _factory is not None
    return _factory


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session whose work is committed at the end of the block, or rolled back on error."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def read_only(session: Session) -> Session:
    """Begin `session`'s transaction as a reader: on SQLite a deferred BEGIN, so a long export or report
    never holds the write lock; it must not write. Call before its first statement. No-op on PostgreSQL.
    `session.info["read_only"]` tells the code that runs in it (sign-in bookkeeping) to leave writes out."""
    session.info["read_only"] = True
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
    return session


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "fangkong:migrations")
    cfg.attributes["engine"] = engine or get_engine()
    return cfg


def migrate(engine: Engine | None = None, revision: str = "heads") -> None:
    """Bring the schema to `revision` (Alembic). Each capability is its own branch off the kernel, so
    the default is every head."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def get_setting(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.execute(select(SystemSetting.value).where(SystemSetting.key == key)).scalar_one_or_none()
    return default if row is None else row


def put_setting(session: Session, key: str, value: str) -> None:
    row = session.get(SystemSetting, key)
    if row is None:
        session.add(SystemSetting(key=key, value=value))
    else:
        row.value = value
    session.flush()
