"""The outbox (发件箱): every message for the outside — an SMS to a person, a push to another system,
an assist request (协查) to another region — is written here by `send`, in the caller's transaction,
and delivered afterwards by the channel's sender (`deliver_pending`, a scheduled job).

- **Drill** (and test) databases: the message is recorded `held` and never handed to any sender — a
  drill's SMS must never reach a real phone. The drill report reads the held messages.
- **Production**: the message is recorded `queued`; a deployment plugs its gateway in with
  `register_sender(channel, fn)` (`fn(session, message) -> None`, raising on failure); without a
  sender the message stays queued, and the outbox is the list of what to send.

Capabilities never talk to a gateway themselves: they call `send`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_
from fangkong.kernel.messaging.models import OutboxMessage

CHANNELS = ("sms", "push", "assist")
#: attempts before a message is left `failed` (an operator resends it)
MAX_ATTEMPTS = 5

Sender = Callable[[Session, OutboxMessage], None]
_SENDERS: dict[str, Sender] = {}


def register_sender(channel: str, sender: Sender | None) -> None:
    """Plug a gateway in for `channel` (None removes it)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if sender is None:
        _SENDERS.pop(channel, None)
    else:
        _SENDERS[channel] = sender


def delivers() -> bool:
    """Whether this database may hand messages to a sender: only production does."""
    return clock.mode() == "production"


def send(session: Session, actor: Actor, *, channel: str, body: str, person_id: int | None = None,
         recipient: str | None = None, subject_type: str | None = None, subject_id: int | None = None
         ) -> OutboxMessage:
    """Put a message in the outbox: `held` in a drill or test database (never sent), else `queued` for
    the channel's sender. Audited (`message.queued` / `message.held`) without the body."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    status = "queued" if delivers() else "held"
    msg = OutboxMessage(channel=channel, person_id=person_id, recipient=(recipient or None) and recipient[:200],
                        subject_type=subject_type, subject_id=subject_id, body=body, mode=clock.mode(),
                        status=status, created_at=clock.now(), attempts=0)
    session.add(msg)
    session.flush()
    audit.record(session, actor, f"message.{status}", object_type="outbox_message", object_id=msg.id,
                 channel=channel, person_id=person_id, subject_type=subject_type, subject_id=subject_id)
    return msg


def deliver_pending(session: Session, *, limit: int = 500) -> dict[str, int]:
    """Hand queued messages to their channel's sender (production only; held messages are never
    touched). A sender's exception marks the attempt; after MAX_ATTEMPTS the message is `failed`."""
    out = {"sent": 0, "retrying": 0, "failed": 0, "waiting": 0}
    if not delivers():
        return out
    rows = session.execute(select(OutboxMessage).where(OutboxMessage.status == "queued")
                           .order_by(OutboxMessage.id).limit(limit)).scalars().all()
    for msg in rows:
        sender = _SENDERS.get(msg.channel)
        if sender is None:
            out["waiting"] += 1
            continue
        msg.attempts += 1
        try:
            with session.begin_nested():
                sender(session, msg)
        except Exception as exc:  # a gateway's failure is recorded on the message and retried
            msg.error = f"{type(exc).__name__}: {exc}"[:500]
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = "failed"
                out["failed"] += 1
            else:
                out["retrying"] += 1
            continue
        msg.status, msg.sent_at, msg.error = "sent", clock.now(), None
        out["sent"] += 1
    session.flush()
    return out


def outbox(session: Session, *, channel: str | None = None, status: str | None = None,
           since: dt.datetime | None = None, limit: int = 1000) -> list[OutboxMessage]:
    """Messages, newest first, by channel, status and creation time."""
    stmt = select(OutboxMessage)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if since is not None:
        stmt = stmt.where(OutboxMessage.created_at >= since)
    return list(session.execute(stmt.order_by(OutboxMessage.id.desc()).limit(limit)).scalars())


@job("kernel.deliver_outbox", schedule="*/5 * * * *", label=N_("Send queued messages (SMS, pushes, assist "
                                                            "requests); a drill's are never sent"))
def deliver_outbox(session: Session) -> dict[str, Any]:
    """Hand queued outbox messages to their senders (nothing in a drill or test database)."""
    return deliver_pending(session)
