"""Writing and verifying the hash-chained audit log (审计).

Each row's hash covers the previous row's hash and the row's own canonical JSON, so changing,
inserting or deleting a row in the middle breaks the chain at that row (`verify`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import Actor

GENESIS = "0" * 64


def _canonical(ev: AuditEvent) -> bytes:
    at = ev.at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {
        "id": ev.id,
        "at": at,
        "actor_id": ev.actor_id,
        "actor_name": ev.actor_name,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "detail": ev.detail or {},
        "ip": ev.ip,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(prev_hash: str, ev: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(ev)).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event. `detail` must not contain personal data in clear (no full IDs/phones).
    An actor carrying out a consequence (`Actor.acting_for`) adds `acting_for` (the action's permission)."""
    if actor.via is not None:
        detail.setdefault("acting_for", actor.via)
    if session.get_bind().dialect.name == "postgresql":
        # one writer at a time extends the chain; released at commit. Advisory locks are per database,
        # the chain per schema: keyed by the schema too, deployments (or test runs) in other schemas of
        # one database never queue behind each other's transactions
        session.execute(text("SELECT pg_advisory_xact_lock(7263514, hashtext(current_schema()))"))
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev_hash = last.hash if last else GENESIS
    ev = AuditEvent(
        id=(last.id + 1) if last else 1,
        # microsecond precision survives both backends
        at=clock.now().replace(microsecond=clock.now().microsecond),
        actor_id=actor.user_id,
        actor_name=actor.username,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=json.loads(json.dumps(detail, default=str)),
        ip=actor.ip,
        prev_hash=prev_hash,
        hash="",
    )
    ev.hash = compute_hash(prev_hash, ev)
    session.add(ev)
    session.flush()
    return ev


def compact_ids(ids: Iterable[int]) -> list[int | list[int]]:
    """Ids as an audit detail lists them: sorted, runs of consecutive ids as `[first, last]`
    (a 100,000-row import's ids are one or a few runs)."""
    out: list[int | list[int]] = []
    for i in sorted(set(ids)):
        if out and isinstance(out[-1], list) and out[-1][1] == i - 1:
            out[-1][1] = i
        elif out and isinstance(out[-1], int) and out[-1] == i - 1:
            out[-1] = [out[-1], i]
        else:
            out.append(i)
    return out


def expand_ids(compact: Iterable[int | list[int]]) -> list[int]:
    """`compact_ids` undone."""
    out: list[int] = []
    for item in compact:
        if isinstance(item, list):
            out.extend(range(item[0], item[1] + 1))
        else:
            out.append(int(item))
    return out


@dataclass
class VerifyResult:
    checked: int
    broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch),
            # the stored values, not what this session may already hold in its identity map
            execution_options={"populate_existing": True},
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the first retained row; report the first row whose link is broken."""
    prev: str | None = None
    checked = 0
    for ev in _iter_events(session):
        expected_prev = ev.prev_hash if prev is None else prev  # the oldest retained row anchors the chain
        if ev.prev_hash != expected_prev:
            return VerifyResult(checked, ev.id, "prev_hash does not match the previous row (row removed or inserted)")
        if compute_hash(ev.prev_hash, ev) != ev.hash:
            return VerifyResult(checked, ev.id, "content does not match its hash (row altered)")
        prev = ev.hash
        checked += 1
    return VerifyResult(checked)


def _visible_events(stmt: Any, actor: Actor) -> Any:
    """The audit log obeys the jurisdiction: events done by users of the viewer's subtree; events of the
    system or of anonymous callers (sign-in attempts) only for viewers at the root of the tree."""
    from fangkong.kernel import scope
    from fangkong.kernel.auth.models import User
    from fangkong.kernel.jurisdictions.models import Unit

    if actor.unit_path == "/":  # the system itself (CLI, jobs)
        return stmt
    users = scope.visible(select(User.id).join(Unit, Unit.id == User.unit_id), actor, Unit)
    seen = AuditEvent.actor_id.in_(users)
    if actor.unit_path.count("/") == 2:  # "/<root id>/": the whole city
        seen = or_(seen, AuditEvent.actor_id.is_(None))
    return stmt.where(seen)


def list_events(
    session: Session,
    actor: Actor,
    *,
    action: str | None = None,
    actor_name: str | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """Audit events, newest first (审计查询). `action` ending in `*` matches a prefix (`auth.*`);
    `before_id` pages backwards (pass the last id of the previous page). At most 1,000 per call."""
    actor.require("audit.view")
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(int(limit), 1000)))
    stmt = _visible_events(stmt, actor)
    if action:
        if action.endswith("*"):
            stmt = stmt.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if actor_name:
        stmt = stmt.where(AuditEvent.actor_name == actor_name)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(session.execute(stmt).scalars())
