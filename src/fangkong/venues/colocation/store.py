"""The co-location index on disk (时空伴随索引): a columnar copy of the `scan` table.

Layout in `$FANGKONG_DATA_DIR/colocation/`:
    manifest.json                  segments, watermark (highest scan id copied) and its fingerprint
    seg-000001.keys.npy            int64 keys (venue << 32 | unix seconds), sorted
    seg-000001.persons.npy         int64 person ids, parallel
Segments are immutable and memory-mapped (`np.load(mmap_mode="r")`): the page cache holds the hot
part, a process maps rather than reads them, and many processes share the pages.

`extend` copies the scans with id > watermark into a new segment and merges segments tiered by size
(a new segment merges into the previous one while it is at least a quarter of its size), dropping
scans past retention while merging. Queries search the segments plus the *tail* — scans with id >
watermark read from the caller's session — so an answer always includes every scan the caller can
see, however stale the files are; `fangkong jobs run venues.colocation_index` (every few minutes from
cron) only keeps the tail short.

Watermark safety: scan ids must be committed in order up to the watermark. SQLite has one writer at a
time and the table is AUTOINCREMENT (ids never reused). On PostgreSQL, writers take the table's ROW
EXCLUSIVE lock before drawing ids (service/scans.py) and `extend` reads max(id) under a SHARE lock,
which waits for in-flight writers: every id at or below the watermark is then committed or gone.

A stale directory (a database restored, reset or rolled back under it) is detected by the watermark
fingerprint — the watermark row's venue, person and time must still be in the table — and rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fangkong.kernel.db import get_setting, is_postgres
from fangkong.venues.colocation.core import LOW, SHIFT, Segment, merge

log = logging.getLogger("fangkong.venues.colocation")

FORMAT = 1
#: scans copied per round trip while building
READ_CHUNK = 1_000_000
#: a tail longer than this is still read (answers stay complete) but logged: run the index job
TAIL_WARN = 200_000
#: a new segment merges into the previous one while it has at least 1/MERGE_RATIO of its rows
MERGE_RATIO = 4
KEPT_FROM_SETTING = "venues.scans_kept_from"


def _epoch_sql(session: Session) -> str:
    if is_postgres(session):
        return "CAST(EXTRACT(EPOCH FROM scanned_at) AS BIGINT)"
    return "CAST(strftime('%s', scanned_at) AS INTEGER)"


def read_rows(session: Session, *, after_id: int, upto_id: int | None = None,
              chunk: int = READ_CHUNK) -> Iterator[np.ndarray]:
    """Scans with after_id < id ≤ upto_id as int64 arrays of shape (n, 4): id, venue, unix seconds,
    person — in id-range chunks (a raw cursor: 30 million ORM rows would not fit in memory)."""
    epoch = _epoch_sql(session)
    conn = session.connection()
    if upto_id is None:
        upto_id = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM scan")).scalar() or 0)
    lo = after_id
    while lo < upto_id:
        hi = min(lo + chunk, upto_id)
        rows = conn.execute(text(
            f"SELECT id, place_id, {epoch}, person_id FROM scan WHERE id > :lo AND id <= :hi"),
            {"lo": lo, "hi": hi}).all()
        if rows:
            yield np.array(rows, dtype=np.int64).reshape(-1, 4)
        lo = hi


def _fingerprint(session: Session, scan_id: int) -> list[int] | None:
    if scan_id <= 0:
        return None
    row = session.execute(text(f"SELECT place_id, {_epoch_sql(session)}, person_id FROM scan WHERE id = :i"),
                          {"i": scan_id}).first()
    return None if row is None else [int(row[0]), int(row[1]), int(row[2])]


def kept_from(session: Session) -> int | None:
    """Unix second from which scans are kept (the last retention run's cut-off, rounded up)."""
    value = get_setting(session, KEPT_FROM_SETTING)
    if not value:
        return None
    import datetime as dt

    at = dt.datetime.fromisoformat(value)
    secs = at.timestamp()
    return int(secs) + (0 if secs == int(secs) else 1)


def _watermark(session: Session) -> int:
    """The highest scan id below which every id is committed (see the module docstring)."""
    if not is_postgres(session):
        return int(session.execute(text("SELECT coalesce(max(id), 0) FROM scan")).scalar() or 0)
    bind = session.get_bind()
    if isinstance(bind, Engine):
        with bind.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL lock_timeout = '30s'"))
            conn.execute(text("LOCK TABLE scan IN SHARE MODE"))
            return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM scan")).scalar() or 0)
    # bound to a connection (tests, nested units of work): lock in the caller's transaction
    session.execute(text("LOCK TABLE scan IN SHARE MODE"))
    return int(session.execute(text("SELECT coalesce(max(id), 0) FROM scan")).scalar() or 0)


@dataclass
class ExtendResult:
    added: int
    watermark: int
    segments: int
    rebuilt: bool

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "watermark": self.watermark, "segments": self.segments,
                "rebuilt": self.rebuilt}


class ColocationIndex:
    """One index directory. Thread-safe for readers; writers hold an exclusive file lock."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self.manifest: dict[str, Any] = {}
        self.segments: list[Segment] = []

    # ------------------------------------------------------------------------------------- reading

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def watermark(self) -> int:
        return int(self.manifest.get("watermark", 0))

    def load(self) -> None:
        """(Re)map the segments when the manifest changed since the last load."""
        try:
            st = self.manifest_path.stat()
        except FileNotFoundError:
            with self._lock:
                self._stamp, self.manifest, self.segments = None, {}, []
            return
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp == self._stamp:
                return
            manifest = json.loads(self.manifest_path.read_text())
            if manifest.get("format") != FORMAT:
                self._stamp, self.manifest, self.segments = stamp, {}, []
                return
            segments = []
            for seg in manifest["segments"]:
                keys = np.load(self.dir / f"{seg['name']}.keys.npy", mmap_mode="r")
                persons = np.load(self.dir / f"{seg['name']}.persons.npy", mmap_mode="r")
                segments.append(Segment(keys, persons))
            self._stamp, self.manifest, self.segments = stamp, manifest, segments

    def is_current_for(self, session: Session) -> bool:
        """The files describe this database: the watermark row is still there, unchanged."""
        if not self.manifest:
            return False
        w = self.watermark
        return w == 0 or _fingerprint(session, w) == self.manifest.get("fingerprint")

    def snapshot(self, session: Session) -> tuple[list[Segment], int]:
        """The segments valid for this session's database and the watermark they cover (an empty list
        and 0 when the files are missing or stale: the tail then holds everything)."""
        self.load()
        with self._lock:
            segments, manifest = list(self.segments), dict(self.manifest)
        if not manifest or not (int(manifest.get("watermark", 0)) == 0
                                or _fingerprint(session, int(manifest["watermark"])) == manifest.get("fingerprint")):
            return [], 0
        return segments, int(manifest.get("watermark", 0))

    @staticmethod
    def tail(session: Session, watermark: int) -> Segment:
        """Scans above the watermark, as the caller's session sees them (its own uncommitted ones too)."""
        parts = list(read_rows(session, after_id=watermark))
        if not parts:
            return Segment.empty()
        rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if rows.shape[0] > TAIL_WARN:
            log.warning("co-location index is %d scans behind; run `fangkong jobs run venues.colocation_index`",
                        rows.shape[0])
        return Segment.from_unsorted(rows[:, 1], rows[:, 2], rows[:, 3])

    # ------------------------------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _writer(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _save_segment(self, name: str, seg: Segment) -> None:
        for part, arr in (("keys", seg.keys), ("persons", seg.persons)):
            tmp = self.dir / f"{name}.{part}.tmp.npy"
            np.save(tmp, np.ascontiguousarray(arr))
            os.replace(tmp, self.dir / f"{name}.{part}.npy")

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.dir / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, self.manifest_path)

    def extend(self, session: Session, *, rebuild: bool = False) -> ExtendResult:
        """Copy scans above the watermark into a new segment (or everything, when the files are stale
        or `rebuild`), merge segments by size, drop scans past retention while merging."""
        with self._writer():
            self._stamp = None
            self.load()
            stale = rebuild or not self.is_current_for(session)
            old = [] if stale else list(self.manifest.get("segments", []))
            start = 0 if stale else self.watermark
            upto = _watermark(session)
            min_t = kept_from(session)
            parts = list(read_rows(session, after_id=start, upto_id=upto)) if upto > start else []
            rows = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else np.empty((0, 4), np.int64))
            added = int(rows.shape[0])
            if added == 0 and not stale:
                return ExtendResult(0, self.watermark, len(old), False)
            counter = int(self.manifest.get("counter", 0))
            specs: list[dict[str, Any]] = [dict(s) for s in old]
            segs: list[Segment] = list(self.segments) if not stale else []
            if added:
                new = Segment.from_unsorted(rows[:, 1], rows[:, 2], rows[:, 3])
                if min_t is not None:
                    new = merge([new], min_t=min_t)
                counter += 1
                specs.append({"name": f"seg-{counter:06d}", "rows": len(new), "new": True})
                segs.append(new)
            while len(segs) >= 2 and len(segs[-1]) * MERGE_RATIO >= len(segs[-2]):
                merged = merge([segs[-2], segs[-1]], min_t=min_t)
                counter += 1
                segs[-2:] = [merged]
                specs[-2:] = [{"name": f"seg-{counter:06d}", "rows": len(merged), "new": True}]
            for spec, seg in zip(specs, segs, strict=True):
                if spec.pop("new", False):
                    self._save_segment(spec["name"], seg)
            manifest = {"format": FORMAT, "watermark": upto, "fingerprint": _fingerprint(session, upto),
                        "counter": counter, "segments": specs, "shift": SHIFT, "low_mask": int(LOW)}
            self._write_manifest(manifest)
            keep = {f"{s['name']}.{p}.npy" for s in specs for p in ("keys", "persons")}
            for f in self.dir.glob("seg-*.npy"):
                if f.name not in keep:
                    f.unlink(missing_ok=True)  # readers keep their mappings of unlinked files
            self._stamp = None
            self.load()
            return ExtendResult(added, upto, len(specs), stale)


_indexes: dict[Path, ColocationIndex] = {}
_indexes_lock = threading.Lock()


def default_dir() -> Path:
    from fangkong.settings import get_settings

    return get_settings().data_dir / "colocation"


def get_index(directory: Path | None = None) -> ColocationIndex:
    """The process's index object for a directory (default: `$FANGKONG_DATA_DIR/colocation`)."""
    path = Path(directory or default_dir()).resolve()
    with _indexes_lock:
        index = _indexes.get(path)
        if index is None:
            index = _indexes[path] = ColocationIndex(path)
        return index
