"""Fresh SQLite databases for tests, without running every migration each time.

`fangkong init` on an empty SQLite file runs the whole Alembic history (about a second, several on a
loaded machine). A test that needs a database of its own (`cli_db`, `live_site`, `initialised_database`)
gets a copy of one file this process migrated and seeded once, under the same settings, and then
`initialise` runs on the copy as it would on any existing database: Alembic finds it at head, the seeds
find themselves, the key file is made in the test's data directory. What the test sees is what a fresh
`initialise` gives; only the migrations are not replayed.

The template is keyed by every FANGKONG_* variable but the data directory and the database URL (the root
unit's name, the key, the crypto suite … shape what `initialise` writes), and by the mode.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fangkong.kernel.bootstrap import InitReport

#: template files by (mode, settings), for this process (each xdist worker makes its own)
_TEMPLATES: dict[tuple, Path] = {}
_ROOT: Path | None = None


def _key(mode: str) -> tuple:
    own = ("FANGKONG_DATA_DIR", "FANGKONG_DATABASE_URL")
    return (mode, tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("FANGKONG_") and k not in own)))


def _template(mode: str) -> Path:
    """This process's migrated and seeded SQLite file for the current settings (made on first use)."""
    global _ROOT
    from fangkong.kernel import db
    from fangkong.kernel.bootstrap import initialise
    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    key = _key(mode)
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="fangkong-db-template-"))
        atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
    directory = _ROOT / str(len(_TEMPLATES))
    directory.mkdir()
    saved = {k: os.environ.get(k) for k in ("FANGKONG_DATA_DIR", "FANGKONG_DATABASE_URL")}
    path = directory / "template.db"
    os.environ["FANGKONG_DATA_DIR"] = str(directory)
    os.environ["FANGKONG_DATABASE_URL"] = f"sqlite:///{path}"
    reset_settings_cache()
    crypto.reset_keys()
    try:
        engine = db.make_engine(f"sqlite:///{path}")
        with Session(engine) as session:
            initialise(engine, session, mode=mode)
            session.commit()
        engine.dispose()  # the last connection closed checkpoints the WAL into the file
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings_cache()
        crypto.reset_keys()
    for suffix in ("-wal", "-shm"):
        leftover = Path(f"{path}{suffix}")
        if leftover.exists() and leftover.stat().st_size:
            raise RuntimeError(f"{leftover} still holds data: the template was not checkpointed")
        leftover.unlink(missing_ok=True)
    _TEMPLATES[key] = path
    return path


def initialise_sqlite(engine: Engine, session: Session, *, mode: str = "test") -> InitReport:
    """`initialise(engine, session, mode=mode)` for a SQLite `engine` whose file is new (absent or empty):
    the file becomes a copy of the template, then `initialise` runs on it (the settings are the caller's:
    data directory, key). Falls back to a plain `initialise` for any other database."""
    from fangkong.kernel.bootstrap import initialise

    url = engine.url
    path = Path(url.database) if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
        else None
    if path is not None and (not path.exists() or path.stat().st_size == 0) \
            and not Path(f"{path}-wal").exists():
        template = _template(mode)
        engine.dispose()  # no connection may hold the empty file open while it is replaced
        shutil.copyfile(template, path)
        os.chmod(path, 0o600)
    return initialise(engine, session, mode=mode)


#: this process's migrated and seeded PostgreSQL databases, by settings (`postgres_template`)
_PG_TEMPLATES: dict[tuple, str] = {}


def postgres_template() -> str:
    """The name of a database on FANGKONG_TEST_DATABASE_URL's server that this process migrated and seeded
    (`initialise`, test mode) under the current settings, to be copied by `CREATE DATABASE … TEMPLATE`
    (tests/own_database.py); no connection to it stays open; dropped when the process ends."""
    import uuid

    from sqlalchemy import make_url, text

    from fangkong.kernel import db
    from fangkong.kernel.bootstrap import initialise
    from fangkong.kernel.people import crypto
    from fangkong.settings import reset_settings_cache

    key = _key("test")
    if key in _PG_TEMPLATES:
        return _PG_TEMPLATES[key]
    base = make_url(os.environ["FANGKONG_TEST_DATABASE_URL"])
    name = f"fk_template_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(os.environ["FANGKONG_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    atexit.register(drop)
    url = base.set(database=name).render_as_string(hide_password=False)
    saved = {k: os.environ.get(k) for k in ("FANGKONG_DATA_DIR", "FANGKONG_DATABASE_URL")}
    directory = Path(tempfile.mkdtemp(prefix="fangkong-pg-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ["FANGKONG_DATA_DIR"] = str(directory)
    os.environ["FANGKONG_DATABASE_URL"] = url
    reset_settings_cache()
    crypto.reset_keys()
    try:
        engine = db.make_engine(url)
        with Session(engine) as session:
            initialise(engine, session, mode="test")
            session.commit()
        engine.dispose()  # a template database must have no connection when it is copied
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings_cache()
        crypto.reset_keys()
    _PG_TEMPLATES[key] = name
    return name
