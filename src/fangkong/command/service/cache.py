"""The big screen's per-day cache (大屏缓存): a day's indicator table for one unit's subtree, kept between
the screen's 30-second refreshes so that the KPIs, the 14-day trends and the rankings stop recomputing
every indicator family on every request.

Keys and invalidation:

- a **frozen** day is keyed by its snapshot's id (with the unit's path and whether the subtree's rows
  are wanted). A snapshot never changes; a recompute (更正) is a new snapshot with a new id, so the old
  entry is simply never asked for again. These entries do not expire.
- a **live** day (today, or a past day not yet frozen) is keyed by the database, the day, the active
  pack's version and the unit's path, and remembers this process's *write generation* when it was
  computed. The generation moves when this process commits a transaction that wrote to any table
  other than bookkeeping ones (sessions, audit, jobs, outbox, the snapshots themselves): an import, a
  verification, a new unit, a new pack all make every live entry stale. A write committed by
  *another* process (a CLI import next to the server) is not seen by the generation; live entries
  therefore also go stale after the pack's `command.screen_live_seconds` (30 s by default, the
  screen's own refresh period).
- a stale live entry is still answered while it is younger than `command.screen_stale_seconds`
  (60 s by default; 0: never), and a background thread recomputes it meanwhile (one per entry). A
  committed write therefore shows on the screen within that bound, and a steady stream of writes
  (leads arriving all day) costs one recomputation per unit and bound, not one per refresh.

The table is the same object `indicators` returns (`IndicatorTable`): the permission and the scope
check stay with the caller, before the cache is asked (`scope.visible_unit`), and the cached figures
depend only on the unit, never on who asks. Entries are bounded (least recently used dropped)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

#: tables whose writes cannot change an indicator: sign-ins, audit, jobs, queues, the snapshots
IGNORED: frozenset[str] = frozenset({"web_session", "api_token", "login_throttle", "audit_event", "idempotent_request", "job_run",
                     "outbox_message", "import_job", "key_rotation", "command_snapshot", "command_value"})
MAX_ENTRIES = 512
logger = logging.getLogger(__name__)
_WRITE = re.compile(r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)

_lock = threading.Lock()
_generation = [0]
_epoch = [0]  # moves on clear(): a background refresh started before it keeps its value out
#: key -> (expires at or None, generation computed at, computed at (its start), value)
_entries: OrderedDict[Hashable, tuple[float | None, int, float, Any]] = OrderedDict()
_refreshing: dict[Hashable, threading.Thread] = {}
_stats = {"hits": 0, "misses": 0, "stale": 0, "refreshed": 0}


def generation() -> int:
    """This process's write generation (moves on each committed write to a non-bookkeeping table)."""
    return _generation[0]


def bump() -> None:
    """A committed write: every live entry becomes stale (served only within its stale bound while a
    fresh one is computed); frozen entries stay (they cannot change)."""
    with _lock:
        _generation[0] += 1


def clear() -> None:
    with _lock:
        _entries.clear()
        _generation[0] += 1
        _epoch[0] += 1


def settle() -> None:
    """Wait for the background refreshes under way (tests, and the bench before it times hits)."""
    while True:
        with _lock:
            threads = list(_refreshing.values())
        if not threads:
            return
        for t in threads:
            t.join()


def stats() -> dict[str, int]:
    return {**_stats, "entries": len(_entries), "generation": _generation[0]}


def _store(key: Hashable, ttl_s: float | None, gen: int, epoch: int, started: float, value: Any) -> None:
    """Keep a value computed from the data committed before `started` (at generation `gen`); an older
    value than the one held is not kept, nor one computed before a clear()."""
    with _lock:
        if epoch != _epoch[0]:
            return
        held = _entries.get(key)
        if held is not None and held[2] > started:
            return
        _entries[key] = (None if ttl_s is None else started + ttl_s, gen, started, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def get_or_compute(session: Session, key: tuple[Any, ...], compute: Callable[[], Any], *, ttl_s: float | None,
                   stale_s: float = 0.0, refresh: Callable[[], Any] | None = None) -> Any:
    """The cached value of `key` (a tuple starting "live" or "frozen"), else `compute()` stored for
    `ttl_s` seconds (None: until evicted; 0: not stored). A live entry is fresh while no write was
    committed since it was computed and its `ttl_s` has not run out.

    A live entry that is no longer fresh but was computed less than `stale_s` seconds ago is still
    answered (time-bounded staleness: a write shows within `stale_s`), while `refresh()` — which must
    open its own session — computes the fresh value in a background thread, one per key at a time. So a
    steady stream of writes costs one recomputation per key at a time, never one per request. Older
    than `stale_s` (or without `refresh`): computed before answering. A session with uncommitted
    writes neither reads nor fills the cache."""
    if pending_writes(session) or ttl_s == 0:
        return compute()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        gen, epoch = _generation[0], _epoch[0]
        if hit is not None:
            expires, at_gen, started, value = hit
            fresh = (expires is None or expires > now) and (key[0] != "live" or at_gen == gen)
            if fresh:
                _entries.move_to_end(key)
                _stats["hits"] += 1
                return value
            if key[0] == "live" and refresh is not None and now - started < stale_s:
                _stats["stale"] += 1
                if key not in _refreshing:
                    t = threading.Thread(target=_refresh, args=(key, refresh, ttl_s, gen, epoch, now),
                                         name="command-screen-refresh", daemon=True)
                    _refreshing[key] = t
                    t.start()
                return value
    _stats["misses"] += 1
    value = compute()
    _store(key, ttl_s, gen, epoch, now, value)
    return value


def _refresh(key: Hashable, refresh: Callable[[], Any], ttl_s: float | None, gen: int, epoch: int,
             started: float) -> None:
    try:
        value = refresh()
        _store(key, ttl_s, gen, epoch, started, value)
        _stats["refreshed"] += 1
    except Exception:  # a failed refresh leaves the stale entry; a later request tries again
        logger.warning("command screen: background refresh of %s failed", key, exc_info=True)
    finally:
        with _lock:
            _refreshing.pop(key, None)


# ------------------------------------------------------------------------------------ write detection

def _info(conn: Any) -> dict[str, Any] | None:
    """The connection's info, or None when the connection was lost: reading `info` then raises
    (PendingRollbackError), and a lost connection must stay the 503 the kernel maps it to, not a 500."""
    if conn.invalidated or conn.closed:
        return None
    try:
        return conn.info  # type: ignore[no-any-return]
    except SQLAlchemyError:
        return None


def _on_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    m = _WRITE.match(statement)
    info = _info(conn) if m is not None and m.group(1).lower() not in IGNORED else None
    if info is not None:
        info["command_cache_dirty"] = True


def _on_commit(conn: Any) -> None:
    info = _info(conn)
    if info is None:
        bump()  # cannot tell: assume a write
        return
    if info.pop("command_cache_dirty", False):
        bump()
        # the commit event comes just before the commit itself: move again when the connection is
        # handed back, so nothing computed in between from the old data is kept
        info["command_cache_committed"] = True


def _on_checkin(dbapi_conn: Any, record: Any) -> None:
    if record is not None and record.info.pop("command_cache_committed", False):
        bump()


def _on_rollback(conn: Any) -> None:
    info = _info(conn)
    if info is None or info.pop("command_cache_dirty", False):
        # ids of rolled-back rows (a snapshot's) may be handed out again: forget everything
        clear()


def pending_writes(session: Session) -> bool:
    """Whether the session's transaction wrote something not yet committed (it sees data no other
    session sees: what it computes is kept out of the cache)."""
    return bool(session.connection().info.get("command_cache_dirty"))


_installed: list[bool] = []


def install() -> None:
    """Watch every engine of the process for committed writes (once)."""
    if _installed:
        return
    event.listen(Engine, "before_cursor_execute", _on_execute)
    event.listen(Engine, "commit", _on_commit)
    event.listen(Engine, "rollback", _on_rollback)
    event.listen(Pool, "checkin", _on_checkin)
    _installed.append(True)


install()
