"""Idempotency keys for API writes (幂等键): a client that did not see the answer sends the same request
again with the same `Idempotency-Key` header and gets the first answer, stored in the same transaction
as the write — so a retry after a dropped connection, a timeout or a server crash never writes twice
and never loses the report the first attempt produced.

The key belongs to its sender (the acting user) and to one request: the same key with another body or
on another operation is refused (422), as the IETF `Idempotency-Key` draft says. A request with the
key still in progress on another connection (PostgreSQL) waits for it and then answers as its repeat;
on SQLite writers are serialised anyway. Keys are kept `RETAIN_HOURS` and then purged by a job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from sqlalchemy import JSON, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.cli_support import job
from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.errors import TOO_LONG, FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.messages import _ as N_

KEY_MAX = 128
RETAIN_HOURS = 72

INVALID_KEY = message("idempotency.invalid_key", _("invalid Idempotency-Key"))
NOT_PRINTABLE = message("idempotency.not_printable", _("only printable ASCII characters"))
KEY_REUSED = message("idempotency.key_reused",
                     _("this Idempotency-Key was already used for a different request; use a new key"))

#: the header on a route: `idempotency_key: IdempotencyKey = None`
IdempotencyKey = Annotated[str | None, Header(
    max_length=KEY_MAX, description="A client's key for this request (e.g. a UUID): a repeat with the same key "
                                    "and body returns the first answer and writes nothing again.")]


class IdempotentRequest(Base):
    """A write answered under a client's Idempotency-Key (幂等请求): the first answer, kept for repeats."""

    __tablename__ = "idempotent_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(KEY_MAX))
    operation: Mapped[str] = mapped_column(String(64))
    #: sha256 of the operation and the request body (canonical JSON)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)

    __table_args__ = (UniqueConstraint("sender", "idempotency_key", name="uq_idempotent_request_sender_key"),)


def _digest(operation: str, body: Any) -> str:
    canonical = json.dumps([operation, jsonable_encoder(body)], sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> None:
    if len(key) > KEY_MAX:
        raise ValidationFailed(INVALID_KEY(), [FieldError("Idempotency-Key", TOO_LONG(max=KEY_MAX))])
    if not all(0x21 <= ord(c) <= 0x7E for c in key):
        raise ValidationFailed(INVALID_KEY(), [FieldError("Idempotency-Key", NOT_PRINTABLE())])


def _stored(session: Session, actor: Actor, key: str) -> IdempotentRequest | None:
    return session.execute(select(IdempotentRequest).where(
        IdempotentRequest.sender == actor.username, IdempotentRequest.idempotency_key == key)).scalar_one_or_none()


def _repeat(found: IdempotentRequest, operation: str, digest: str) -> Any:
    if found.operation != operation or found.request_hash != digest:
        raise ValidationFailed(KEY_REUSED(), [FieldError("Idempotency-Key", KEY_REUSED())])
    return found.response


def answer_once(session: Session, actor: Actor, key: str | None, *, operation: str, body: Any,
                answer: Callable[[], Any]) -> Any:
    """Run `answer()` (the write, in the request's transaction) once per sender and key; a repeat gets
    the first answer (as JSON). Without a key, just `answer()`."""
    key = (key or "").strip()
    if not key:
        return answer()
    _check_key(key)
    digest = _digest(operation, body)
    found = _stored(session, actor, key)
    if found is not None:
        return _repeat(found, operation, digest)
    claim = IdempotentRequest(sender=actor.username, idempotency_key=key, operation=operation,
                              request_hash=digest, created_at=clock.now(), response=None)
    try:
        # the claim first: a concurrent request with the key (PostgreSQL) waits here for the first to end
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError:
        found = _stored(session, actor, key)
        if found is None:  # the other request rolled back between our insert and this read: a rare race
            raise
        return _repeat(found, operation, digest)
    result = jsonable_encoder(answer())
    claim.response = result
    session.flush()
    return result


def purge_expired(session: Session, *, hours: int = RETAIN_HOURS) -> int:
    """Forget keys older than `hours`: a client retries within minutes, not days."""
    cutoff = clock.now() - dt.timedelta(hours=hours)
    result = session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


@job("kernel.purge_idempotency_keys", schedule="45 * * * *",
     label=N_("Forget idempotency keys older than three days"))
def purge_idempotency_keys(session: Session) -> dict[str, Any]:
    """Delete stored answers of idempotent requests past their retention."""
    return {"purged": purge_expired(session)}
