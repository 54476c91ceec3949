"""The drill's own database (演练库): created like `fangkong init --mode drill`, or an existing drill
database without a city; anything else (a production or test database, the configured production URL
when it is not a drill's) is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from fangkong.kernel import db


class NotADrillDatabase(Exception):
    """`--db` names a database that is not a drill's (exit 1, nothing written)."""


def default_url(data_dir: Path, run_id: str) -> str:
    return f"sqlite:///{(data_dir / 'drills' / f'{run_id}.db').as_posix()}"


SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast"}


def _stored_mode(engine: Engine) -> str | None:
    """The database's stored mode; None when it holds no table at all, in any schema (a fresh, empty
    database); 'unknown' when it holds tables but no mode (someone else's database, or platforms in
    other schemas)."""
    insp = inspect(engine)
    names = set(insp.get_table_names())
    if not names:
        if engine.dialect.name != "sqlite":
            for schema in insp.get_schema_names():
                if schema not in SYSTEM_SCHEMAS and not schema.startswith("pg_") and insp.get_table_names(schema):
                    return "unknown"
        return None
    if "system_setting" not in names:
        return "unknown"
    with engine.connect() as conn:
        row = conn.execute(text("SELECT value FROM system_setting WHERE key = 'mode'")).first()
    if row is None:
        return "unknown"
    value = row[0]
    if isinstance(value, str) and value.startswith('"'):  # stored as JSON text
        value = value.strip('"')
    return str(value)


def _same(a: str, b: str) -> bool:
    norm = [u.replace("postgresql+psycopg://", "postgresql://").rstrip("/") for u in (a, b)]
    return norm[0] == norm[1]


def check_url(url: str) -> None:
    """Refuse (NotADrillDatabase) a database that exists and is not a drill's, and the configured
    database unless it is a drill's; write nothing. A SQLite file that does not exist yet, or a server
    database without any table, is fine (it will be the drill's)."""
    from fangkong.settings import get_settings

    configured = _same(url, get_settings().resolved_database_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path in ("", ":memory:"):
            raise NotADrillDatabase(url)
        if not Path(path).exists():
            if configured:
                raise NotADrillDatabase(url)
            return
    from sqlalchemy import create_engine

    probe = create_engine(url if not url.startswith("postgresql://") else
                          "postgresql+psycopg://" + url.removeprefix("postgresql://"))
    try:
        mode = _stored_mode(probe)
    except Exception as exc:  # unreachable or unreadable: not ours to create
        raise NotADrillDatabase(f"{url}: {exc.__class__.__name__}") from exc
    finally:
        probe.dispose()
    if (mode is not None or configured) and mode != "drill":
        raise NotADrillDatabase(url)


def open_drill_database(url: str) -> Engine:
    """Check `url` (see `check_url`), then initialise it in drill mode (migrations, key, root unit,
    roles, the default pack). Returns its engine."""
    from sqlalchemy.orm import Session

    from fangkong.kernel.bootstrap import initialise

    check_url(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        initialise(engine, session, mode="drill")
        session.commit()
    return engine
