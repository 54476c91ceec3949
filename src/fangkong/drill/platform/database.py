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


def _stored_mode(engine: Engine) -> str | None:
    """The database's stored mode; None when it holds no platform at all (a fresh, empty database);
    'unknown' when it holds tables but no mode (someone else's database)."""
    names = set(inspect(engine).get_table_names())
    if not names:
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


def check_url(url: str) -> None:
    """Refuse (NotADrillDatabase) a database that exists and is not a drill's; write nothing. A SQLite
    file that does not exist yet is fine (it will be the drill's)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path in ("", ":memory:"):
            raise NotADrillDatabase(url)
        if not Path(path).exists():
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
    if mode is not None and mode != "drill":
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
