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
    assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_a_commit_inside_a_test_is_rolled_back_with_the_test(session_factory, connection):
    """Savepoints nest for real on both backends: a service's commit stays inside the test."""
    from fangkong.kernel.db import SystemSetting

    s = session_factory()
    s.add(SystemSetting(key="isolation-probe", value="1"))
    s.commit()
    assert connection.execute(text("SELECT count(*) FROM system_setting WHERE key='isolation-probe'")).scalar() == 1
    connection.rollback()
    assert connection.execute(text("SELECT count(*) FROM system_setting WHERE key='isolation-probe'")).scalar() == 0
