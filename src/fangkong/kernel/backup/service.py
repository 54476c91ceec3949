"""Backup and restore (备份与恢复): the database, and the key kept apart under a passphrase.

A backup is a directory `fangkong-<UTC stamp>/` holding the database (SQLite's online backup API into
`database.sqlite3`, or `pg_dump --format=custom` into `database.pgdump`) and `manifest.json` (row
counts of every table, the audit chain's head, the schema heads, the key ring's fingerprint). The key
ring is *not* in it: it goes to a separate file, encrypted with a passphrase (scrypt → AES-256-GCM),
so that whoever holds the data copy cannot read ID and phone numbers without the passphrase, and the
two can be stored in different places. The sealed key is the whole key ring (`fangkong-key-2`: during
or after a key rotation the data needs every key of it); a backup made before key rings
(`fangkong-key-1`, one raw key) still restores, as a ring of that one key.

`restore` writes the backup into the configured database (refusing a non-empty one unless forced),
installs the key, and checks the restored rows against the manifest: every table's count and the audit
chain (verified end to end, with the same head).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from fangkong.kernel.files import private_dir, private_file
from fangkong.kernel.messages import _, message

if TYPE_CHECKING:
    from fangkong.kernel.people.crypto import KeyRing

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
#: scrypt cost: ~0.1 s and 32 MiB on this machine; a guessed passphrase costs an attacker the same
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 12


PASSPHRASE_SHORT = message("backup.passphrase_short", _("the passphrase must have at least %(n)s characters"))
NOT_A_KEY = message("backup.not_a_key", _("the key file is not a Fangkong key backup"))
WRONG_PASSPHRASE = message("backup.wrong_passphrase", _("wrong passphrase, or the key file is damaged"))
TOOL_FAILED = message("backup.tool_failed", _("%(tool)s failed: %(error)s"))
EXISTS = message("backup.exists", _("%(path)s exists already"))
NOT_A_BACKUP = message("backup.not_a_backup", _("%(path)s is not a Fangkong backup (no manifest.json)"))
DAMAGED = message("backup.damaged", _("%(path)s is damaged: %(error)s"))
UNKNOWN_FORMAT = message("backup.unknown_format", _("%(path)s: unknown backup format %(format)s"))
OTHER_BACKEND = message("backup.other_backend",
                        _("this backup is of a %(backend)s database; the target is %(target)s"))
KEY_MISSING = message("backup.key_missing", _("key file %(path)s not found"))
WRONG_KEY = message("backup.wrong_key", _("this key is not the one the backup's data was encrypted with"))
WRONG_ENV_KEY = message("backup.wrong_env_key", _("FANGKONG_SECRET_KEY is set to another key than the backup's"))
NOT_EMPTY = message("backup.not_empty",
                    _("the target database is not empty; restore into an empty one (or --force)"))


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message (a Message) says why (nothing was changed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class BackupReport:
    directory: Path
    key_file: Path
    tables: int
    rows: int
    seconds: float


@dataclass
class RestoreReport:
    tables: int
    rows: int
    audit_events: int
    seconds: float
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


# --- what is in a database ---------------------------------------------------------------------------

def _tables(engine: Engine) -> list[str]:
    names = inspect(engine).get_table_names()
    return sorted(n for n in names if n != "alembic_version")


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(select(func.count()).select_from(text(f'"{t}"'))).scalar_one())
                for t in _tables(engine)}


def audit_head(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")).first()
    return None if row is None else {"id": int(row[0]), "hash": str(row[1])}


def _schema_heads(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(str(r[0]) for r in conn.execute(text("SELECT version_num FROM alembic_version")))


# --- the key ----------------------------------------------------------------------------------------

def _kdf(salt: bytes) -> Scrypt:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)


def key_fingerprint(master: bytes) -> str:
    """Names a key without revealing it (a manifest says which key its data needs)."""
    return hashlib.sha256(b"fangkong:key-fingerprint:" + master).hexdigest()[:16]


def seal_key(ring: KeyRing, passphrase: str) -> dict[str, str]:
    """The key ring (as its key file holds it) sealed under the passphrase."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(PASSPHRASE_SHORT(n=MIN_PASSPHRASE))
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_kdf(salt).derive(passphrase.encode())).encrypt(nonce, ring.dumps(), b"fangkong-key")
    return {"format": "fangkong-key-2", "kdf": f"scrypt:n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}",
            "salt": base64.b64encode(salt).decode(), "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(), "fingerprint": ring.fingerprint()}


def open_key(sealed: dict[str, str], passphrase: str) -> KeyRing:
    """The key ring of a sealed key file (format 2), or the one key of a format 1 file as a ring."""
    from fangkong.kernel.people import crypto

    try:
        salt, nonce = base64.b64decode(sealed["salt"]), base64.b64decode(sealed["nonce"])
        blob = base64.b64decode(sealed["ciphertext"])
        fmt = sealed.get("format", "fangkong-key-1")
    except (KeyError, ValueError, AttributeError) as exc:
        raise BackupError(NOT_A_KEY()) from exc
    if fmt not in ("fangkong-key-1", "fangkong-key-2"):
        raise BackupError(NOT_A_KEY())
    try:
        plain = AESGCM(_kdf(salt).derive(passphrase.encode())).decrypt(nonce, blob, b"fangkong-key")
    except Exception as exc:  # InvalidTag: wrong passphrase or a damaged file, indistinguishably
        raise BackupError(WRONG_PASSPHRASE()) from exc
    try:
        return crypto.parse_ring(base64.b64encode(plain) if fmt == "fangkong-key-1" else plain)
    except crypto.KeyMissing as exc:
        raise BackupError(NOT_A_KEY()) from exc


def _ring() -> KeyRing:
    from fangkong.kernel.people import crypto

    return crypto.ring()  # the kernel's own key loader (file or FANGKONG_SECRET_KEY)


# --- PostgreSQL through its own tools ----------------------------------------------------------------

def _pg_target(engine: Engine) -> tuple[str, str | None]:
    """A libpq URL for pg_dump/pg_restore, and the schema when the URL pins one with `search_path`."""
    url = engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    parts = urlsplit(url)
    options = parse_qs(parts.query).get("options", [""])[0]
    schema = options.split("search_path=", 1)[1].split()[0] if "search_path=" in options else None
    return parts._replace(query="").geturl(), schema


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(TOOL_FAILED(tool=args[0], error=done.stderr.strip()[:500]))


# --- backup -----------------------------------------------------------------------------------------

def backup(engine: Engine, out: Path, *, passphrase: str, key_out: Path | None = None) -> BackupReport:
    """Write a backup directory under `out` and the sealed key to `key_out` (default: beside it)."""
    started = time.perf_counter()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    sealed = seal_key(_ring(), passphrase)  # refuses a short passphrase before any work
    private_dir(out)
    target = out / f"fangkong-{stamp}"
    if target.exists():
        raise BackupError(EXISTS(path=target))
    private_dir(target)
    if engine.dialect.name == "sqlite":
        source = engine.url.database or ""
        dest = private_file(target / SQLITE_FILE)
        src, dst = sqlite3.connect(source), sqlite3.connect(dest)
        try:
            src.backup(dst)  # a consistent snapshot while the platform keeps writing
        finally:
            dst.close()
            src.close()
        snapshot = sqlite3.connect(dest)
        try:
            counts = {t: snapshot.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(engine)}
            head = snapshot.execute("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
            heads = sorted(r[0] for r in snapshot.execute("SELECT version_num FROM alembic_version"))
        finally:
            snapshot.close()
        audit = None if head is None else {"id": int(head[0]), "hash": str(head[1])}
    else:
        counts, audit, heads = _pg_dump(engine, private_file(target / PG_FILE))
    key_file = key_out or out / f"fangkong-{stamp}.key"
    private_file(key_file)
    key_file.write_text(json.dumps(sealed, indent=1) + "\n", encoding="utf-8")
    manifest = {"format": "fangkong-backup-1", "created_at": stamp, "backend": engine.dialect.name,
                "schema_heads": heads, "tables": counts, "audit_head": audit,
                "key_fingerprint": sealed["fingerprint"], "key_file": key_file.name}
    (private_file(target / MANIFEST)).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                                 encoding="utf-8")
    return BackupReport(target, key_file, len(counts), sum(counts.values()), time.perf_counter() - started)


def _pg_dump(engine: Engine, dump: Path) -> tuple[dict[str, int], dict[str, Any] | None, list[str]]:
    """pg_dump of one exported snapshot, and the manifest read in that same snapshot: the counts and
    the audit head describe exactly the rows in the dump, while the platform keeps writing."""
    url, schema = _pg_target(engine)
    with engine.connect() as conn:
        conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = {t: int(conn.execute(select(func.count()).select_from(text(f'"{t}"'))).scalar_one())
                  for t in _tables(engine)}
        row = conn.execute(text("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")).first()
        heads = sorted(str(r[0]) for r in conn.execute(text("SELECT version_num FROM alembic_version")))
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              f"--file={dump}", *([f"--schema={schema}"] if schema else []), url])
        conn.execute(text("COMMIT"))
    return counts, (None if row is None else {"id": int(row[0]), "hash": str(row[1])}), heads


# --- restore ----------------------------------------------------------------------------------------

def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise BackupError(NOT_A_BACKUP(path=directory))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(DAMAGED(path=path, error=exc)) from exc
    if manifest.get("format") != "fangkong-backup-1":
        raise BackupError(UNKNOWN_FORMAT(path=path, format=manifest.get('format')))
    return manifest


def restore(engine: Engine, directory: Path, *, key_file: Path, passphrase: str, key_target: Path | None,
            force: bool = False) -> RestoreReport:
    """Restore `directory` into `engine`'s database and the key to `key_target` (None: the key comes
    from FANGKONG_SECRET_KEY and must match), then check the result against the manifest."""
    started = time.perf_counter()
    manifest = read_manifest(directory)
    if manifest["backend"] != engine.dialect.name:
        raise BackupError(OTHER_BACKEND(backend=manifest["backend"], target=engine.dialect.name))
    if not key_file.is_file():
        raise BackupError(KEY_MISSING(path=key_file))
    try:
        sealed = json.loads(key_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(NOT_A_KEY()) from exc
    ring = open_key(sealed, passphrase)
    if ring.fingerprint() != manifest["key_fingerprint"]:
        raise BackupError(WRONG_KEY())
    if key_target is None and _ring().fingerprint() != manifest["key_fingerprint"]:
        raise BackupError(WRONG_ENV_KEY())
    present = _tables(engine)
    if present and any(row_counts(engine).values()) and not force:
        raise BackupError(NOT_EMPTY())
    if engine.dialect.name == "sqlite":
        source = directory / SQLITE_FILE
        engine.dispose()
        src, dst = sqlite3.connect(source), sqlite3.connect(private_file(Path(engine.url.database or "")))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        url, _schema = _pg_target(engine)
        if present:
            with engine.begin() as conn:
                for t in [*present, "alembic_version"]:
                    conn.execute(text(f'DROP TABLE IF EXISTS "{t}" CASCADE'))
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={url}",
              str(directory / PG_FILE)])
    if key_target is not None:
        from fangkong.kernel.people import crypto

        crypto.write_ring(ring, key_target)
    return _check(engine, manifest, time.perf_counter() - started)


def _check(engine: Engine, manifest: dict[str, Any], seconds: float) -> RestoreReport:
    from fangkong.kernel.audit import service as audit_service

    counts = row_counts(engine)
    expected: dict[str, int] = manifest["tables"]
    mismatches = [f"{t}: {counts.get(t)} rows, the backup had {n}" for t, n in expected.items()
                  if counts.get(t) != n]
    mismatches += [f"{t}: not in the backup" for t in counts if t not in expected]
    with Session(engine) as session:
        verified = audit_service.verify(session)
    if not verified.ok:
        mismatches.append(f"audit chain broken at event {verified.broken_id}: {verified.reason}")
    if audit_head(engine) != manifest["audit_head"]:
        mismatches.append(f"audit head {audit_head(engine)} differs from the backup's {manifest['audit_head']}")
    return RestoreReport(len(counts), sum(counts.values()), verified.checked, seconds, mismatches)
