"""Key rotation (密钥轮换): a new key, then every encrypted column re-encrypted in bounded batches.

`start_rotation` adds a key to the ring and makes it current (new data is sealed and indexed with it at
once); the old key is *retiring*, so lookups search both blind indexes and every ciphertext stays
readable. `rotate_batch` then moves one batch of one registered table (`keys.registry`) to the new key:
ciphertexts re-encrypted, blind indexes recomputed from the plaintext. The cursor (last primary key per
table) is stored with the rows it covers, in the same transaction, so a crash loses at most one batch
of work and never leaves a row half-done. When every table is done the old key is retired and the
rotation is finished. Start, progress and finish are audited with counts (never values).

Who drives the batches: `fangkong keys rotate` (a progress bar) or the scheduled job `keys.rotation`
(`fangkong serve`), whichever runs; both resume from the stored cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.db import Base
from fangkong.kernel.errors import Conflict
from fangkong.kernel.keys.models import KeyRotation
from fangkong.kernel.keys.registry import EncryptedTable, rotated
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import crypto
from fangkong.settings import get_settings

KEY_IN_ENV = message("keys.in_env", _("the key comes from FANGKONG_SECRET_KEY: keep it in the key file "
                                      "(%(path)s) to rotate it"))
DEFAULT_BATCH = 500


def running(session: Session) -> KeyRotation | None:
    return session.execute(select(KeyRotation).where(KeyRotation.status == "running")
                           .order_by(KeyRotation.id)).scalars().first()


def start_rotation(session: Session, actor: Actor, *, algorithm: str | None = None) -> KeyRotation:
    """A new current key (`algorithm`, default the deployment's `FANGKONG_CRYPTO`) and its rotation; an
    unfinished rotation is returned instead (it resumes)."""
    current = running(session)
    if current is not None:
        return current
    settings = get_settings()
    if settings.secret_key:
        raise Conflict(KEY_IN_ENV(path=str(settings.key_file)))
    ring = crypto.ring()
    retiring = [k for k in ring.keys if k.state == "retiring"]
    if retiring:  # a key written before its rotation row was committed: carry on with it
        from_key, new = retiring[0], ring.current_key
    else:
        from_key = ring.current_key
        ring = ring.with_new_key(algorithm or settings.crypto)
        crypto.write_ring(ring)
        new = ring.current_key
    rotation = KeyRotation(from_key=from_key.id, to_key=new.id, algorithm=new.alg, status="running",
                           started_at=clock.now(), actor_name=actor.username, progress={}, counts={})
    session.add(rotation)
    session.flush()
    audit.record(session, actor, "keys.rotation_started", object_type="key_rotation", object_id=rotation.id,
                 from_key=from_key.id, to_key=new.id, algorithm=new.alg, from_algorithm=from_key.alg,
                 fingerprint=new.fingerprint())
    return rotation


def rows_to_do(session: Session) -> int:
    """Rows in every registered table (the progress bar's total)."""
    return sum(int(session.execute(select(func.count()).select_from(Base.metadata.tables[t.table])).scalar_one())
               for t in rotated() if t.table in Base.metadata.tables)


def _rekey_row(entry: EncryptedTable, row: Any, to_key: int) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    plain: dict[str, str | None] = {}
    for col in entry.encrypted:
        blob = getattr(row, col)
        if blob is None:
            plain[col] = None
            continue
        blob = bytes(blob)
        plain[col] = crypto.decrypt(blob)
        if crypto.key_id_of(blob) != to_key:
            changes[col] = crypto.encrypt(plain[col] or "", key_id=to_key)
    for idx in entry.indexes:
        old, source = getattr(row, idx.column), plain.get(idx.source)
        if old is None or source is None:
            continue
        new = crypto.blind_index(source, idx.kind, key_id=to_key)
        if new != old:
            changes[idx.column] = new
    return changes


def _write(session: Session, table: Any, entry: EncryptedTable, rows: Sequence[Any], to_key: int) -> int:
    """Re-key `rows` and write the changed ones in one executemany UPDATE (every registered column of
    the row is set, changed or not, so all rows share one statement). Returns how many changed."""
    columns = [*entry.encrypted, *(i.column for i in entry.indexes)]
    params = []
    for row in rows:
        changes = _rekey_row(entry, row, to_key)
        if changes:
            current = {c: getattr(row, c) for c in columns}
            params.append({"_pk": getattr(row, entry.pk), **{f"_{c}": v for c, v in {**current, **changes}.items()}})
    if params:
        stmt = (update(table).where(table.c[entry.pk] == bindparam("_pk"))
                .values({c: bindparam(f"_{c}") for c in columns}))
        session.connection().execute(stmt, params)
    return len(params)


def rotate_batch(session: Session, rotation: KeyRotation, *, batch: int = DEFAULT_BATCH) -> int:
    """Move the next batch of the first unfinished table to the new key; the rows examined (0: all
    tables are done). Flushes the rows and the cursor together."""
    for entry in rotated():
        table = Base.metadata.tables.get(entry.table)
        if table is None or (rotation.progress or {}).get(entry.table) == "done":
            continue
        pk = table.c[entry.pk]
        cursor = (rotation.progress or {}).get(entry.table, 0)
        cols = [pk, *(table.c[c] for c in entry.encrypted), *(table.c[i.column] for i in entry.indexes)]
        rows = session.execute(select(*cols).where(pk > cursor).order_by(pk).limit(batch)).all()
        progress, counts = dict(rotation.progress or {}), dict(rotation.counts or {})
        if not rows:
            progress[entry.table] = "done"
            rotation.progress = progress
            session.flush()
            continue
        changed = _write(session, table, entry, rows, rotation.to_key)
        seen = counts.get(entry.table, {"rows": 0, "changed": 0})
        counts[entry.table] = {"rows": seen["rows"] + len(rows), "changed": seen["changed"] + changed}
        progress[entry.table] = getattr(rows[-1], entry.pk)
        rotation.progress, rotation.counts = progress, counts
        session.flush()
        return len(rows)
    return 0


def sweep(session: Session, rotation: KeyRotation) -> int:
    """Rewrite rows still sealed under another key after the batches passed them (written by a process
    that had not yet reread the key file, or by a transaction begun before the rotation): one read of
    every encrypted column, writes only for the stragglers. Returns how many were rewritten."""
    rewritten = 0
    for entry in rotated():
        table = Base.metadata.tables.get(entry.table)
        if table is None or not entry.encrypted:
            continue
        pk = table.c[entry.pk]
        enc = [table.c[c] for c in entry.encrypted]
        stale = [row[0] for row in session.execute(select(pk, *enc)).yield_per(2000)
                 if any(v is not None and crypto.key_id_of(bytes(v)) != rotation.to_key for v in row[1:])]
        cols = [pk, *enc, *(table.c[i.column] for i in entry.indexes)]
        for start in range(0, len(stale), DEFAULT_BATCH):
            rows = session.execute(select(*cols).where(pk.in_(stale[start:start + DEFAULT_BATCH]))).all()
            rewritten += _write(session, table, entry, rows, rotation.to_key)
    session.flush()
    return rewritten


def finish(session: Session, actor: Actor, rotation: KeyRotation) -> None:
    """Every table is on the new key: sweep up stragglers, retire the old key (no longer searched) and
    close the rotation."""
    stragglers = sweep(session, rotation)
    if stragglers:
        rotation.counts = {**(rotation.counts or {}), "stragglers": stragglers}
    ring = crypto.ring()
    if any(k.id == rotation.from_key and k.state != "retired" for k in ring.keys):
        crypto.write_ring(ring.retire(rotation.from_key))
    rotation.status, rotation.finished_at = "finished", clock.now()
    session.flush()
    audit.record(session, actor, "keys.rotation_finished", object_type="key_rotation", object_id=rotation.id,
                 from_key=rotation.from_key, to_key=rotation.to_key, counts=rotation.counts)


def drive(session: Session, actor: Actor, *, commit: Callable[[], None], batch: int = DEFAULT_BATCH,
          max_batches: int | None = None, on_batch: Callable[[int], None] | None = None,
          audit_every: int = 50) -> KeyRotation | None:
    """Run the unfinished rotation batch by batch, calling `commit` after each (the caller's unit of
    work: a batch is the unit a crash can lose). Stops after `max_batches` (a scheduled run's share)
    and audits the progress counts; finishes the rotation when nothing is left."""
    rotation = running(session)
    if rotation is None:
        return None
    done = 0
    while max_batches is None or done < max_batches:
        rotation = session.execute(select(KeyRotation).where(KeyRotation.id == rotation.id)
                                   .with_for_update()).scalar_one()
        n = rotate_batch(session, rotation, batch=batch)
        if n == 0:
            finish(session, actor, rotation)
            commit()
            return rotation
        done += 1
        if done % audit_every == 0:
            audit.record(session, actor, "keys.rotation_progress", object_type="key_rotation",
                         object_id=rotation.id, counts=rotation.counts)
        commit()
        if on_batch is not None:
            on_batch(n)
    audit.record(session, actor, "keys.rotation_progress", object_type="key_rotation", object_id=rotation.id,
                 counts=rotation.counts)
    commit()
    return rotation


def remaining_on_old_keys(session: Session) -> dict[str, int]:
    """Per table, rows with a ciphertext under another key than the current one (a full scan: `keys
    status --check`)."""
    current = crypto.ring().current
    out: dict[str, int] = {}
    for entry in rotated():
        table = Base.metadata.tables.get(entry.table)
        if table is None or not entry.encrypted:
            continue
        n = 0
        for row in session.execute(select(*(table.c[c] for c in entry.encrypted))).yield_per(2000):
            n += any(v is not None and crypto.key_id_of(bytes(v)) != current for v in row)
        out[entry.table] = n
    return out
