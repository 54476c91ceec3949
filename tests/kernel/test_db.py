import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from fangkong.kernel.db import Base, get_setting
from fangkong.registry import import_all_models


def test_migrations_match_the_models(connection):
    import_all_models()
    diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_init_stored_test_mode(session):
    assert get_setting(session, "mode") == "test"


def test_sqlite_pragmas_are_on(connection):
    if connection.dialect.name != "sqlite":
        return
    assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    # FULL (2): an acknowledged commit survives a power loss
    assert connection.execute(text("PRAGMA synchronous")).scalar() == 2


def test_sqlite_writers_begin_as_writers_and_readers_can_defer(tmp_path):
    """A write transaction takes the write lock at BEGIN, so a second writer waits instead of failing
    when it tries to upgrade; `read_only` sessions begin deferred and never hold the lock."""
    from sqlalchemy.orm import Session

    from fangkong.kernel import db

    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with Session(engine) as writer, Session(engine) as reader:
        writer.execute(text("SELECT count(*) FROM t"))  # a read first: the lock is already held
        db.read_only(reader).execute(text("SELECT count(*) FROM t"))  # a reader is not blocked
        probe = engine.raw_connection()
        try:
            probe.execute("PRAGMA busy_timeout=0")
            with pytest.raises(Exception, match="locked"):
                probe.execute("BEGIN IMMEDIATE")  # the writer holds the write lock since its BEGIN
        finally:
            probe.close()
        writer.execute(text("INSERT INTO t VALUES (1)"))
        writer.commit()
    engine.dispose()


def test_a_commit_inside_a_test_is_rolled_back_with_the_test(session_factory, connection):
    """Savepoints nest for real on both backends: a service's commit stays inside the test."""
    from fangkong.kernel.db import SystemSetting

    s = session_factory()
    s.add(SystemSetting(key="isolation-probe", value="1"))
    s.commit()
    assert connection.execute(text("SELECT count(*) FROM system_setting WHERE key='isolation-probe'")).scalar() == 1
    connection.rollback()
    assert connection.execute(text("SELECT count(*) FROM system_setting WHERE key='isolation-probe'")).scalar() == 0


def test_sqlite_writers_of_one_process_queue_on_a_lock_released_however_they_end(tmp_path):
    """Write transactions of this process hold a per-file lock from BEGIN IMMEDIATE to their end, so
    concurrent writers queue instead of polling SQLite's lock; every way a transaction ends hands it on."""
    from sqlalchemy.orm import Session

    from fangkong.kernel import db

    path = tmp_path / "q.db"
    engine = db.make_engine(f"sqlite:///{path}")
    lock = db._write_lock(str(path))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert lock.locked()
    assert not lock.locked()  # commit
    with Session(engine) as s:
        s.execute(text("INSERT INTO t VALUES (1)"))
        assert lock.locked()
        s.rollback()
        assert not lock.locked()  # rollback
        s.execute(text("INSERT INTO t VALUES (2)"))
    assert not lock.locked()  # closed mid-transaction (the pool's reset)
    with Session(engine) as s:
        db.read_only(s).execute(text("SELECT count(*) FROM t"))
        assert not lock.locked()  # a reader never takes it
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES (3)"))
    conn.invalidate()  # a broken connection
    assert not lock.locked()
    conn.close()
    with pytest.raises(Exception, match="no such table"), Session(engine) as s:
        s.execute(text("INSERT INTO nowhere VALUES (1)"))  # a failed statement, then the rollback
    assert not lock.locked()
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()
