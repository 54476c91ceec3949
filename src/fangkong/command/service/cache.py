"""The big screen's per-day cache (大屏缓存): a day's indicator table for one unit's subtree, kept between
the screen's 30-second refreshes so that the KPIs, the 14-day trends and the rankings stop recomputing
every indicator family on every request.

Keys and invalidation:

- a **frozen** day is keyed by its snapshot's id (with the unit's path and whether the subtree's rows
  are wanted). A snapshot never changes; a recompute (更正) is a new snapshot with a new id, so the old
  entry is simply never asked for again. These entries do not expire.
- a **live** day (today, or a past day not yet frozen) is keyed by the day, the active pack's version,
  the unit's path and this process's *write generation*. The generation moves when this process
  commits a transaction that wrote to any table other than bookkeeping ones (sessions, audit, jobs,
  outbox, the snapshots themselves): an import, a verification, a new unit, a new pack all drop every
  live entry at once. A write committed by *another* process (a CLI import next to the server) is not
  seen by the generation; live entries therefore also expire after the pack's
  `command.screen_live_seconds` (30 s by default, the screen's own refresh period).

The table is the same object `indicators` returns (`IndicatorTable`): the permission and the scope
check stay with the caller, before the cache is asked (`scope.visible_unit`), and the cached figures
depend only on the unit, never on who asks. Entries are bounded (least recently used dropped)."""

from __future__ import annotations

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
_WRITE = re.compile(r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)

_lock = threading.Lock()
_generation = [0]
_entries: OrderedDict[Hashable, tuple[float | None, Any]] = OrderedDict()
_stats = {"hits": 0, "misses": 0}


def generation() -> int:
    """This process's write generation (moves on each committed write to a non-bookkeeping table)."""
    return _generation[0]


def bump() -> None:
    """Drop every live entry (the next request recomputes); frozen entries stay (they cannot change)."""
    with _lock:
        _generation[0] += 1
        for key in [k for k in _entries if k[0] == "live"]:
            del _entries[key]


def clear() -> None:
    with _lock:
        _entries.clear()
        _generation[0] += 1


def stats() -> dict[str, int]:
    return {**_stats, "entries": len(_entries), "generation": _generation[0]}


def get_or_compute(session: Session, key: tuple[Any, ...], compute: Callable[[], Any], *, ttl_s: float | None
                   ) -> Any:
    """The cached value of `key` (a tuple starting "live" or "frozen"), else `compute()` stored for
    `ttl_s` seconds (None: until evicted; 0: not stored). A live key ends with the generation it was
    computed at. A session with uncommitted writes neither reads nor fills the cache."""
    if pending_writes(session) or ttl_s == 0:
        return compute()
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and (hit[0] is None or hit[0] > now):
            _entries.move_to_end(key)
            _stats["hits"] += 1
            return hit[1]
    _stats["misses"] += 1
    value = compute()
    with _lock:
        # a write committed while computing moved the generation: the value may be stale, keep it out
        if key[0] != "live" or key[-1] == _generation[0]:
            _entries[key] = (None if ttl_s is None else now + ttl_s, value)
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
    return value


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
