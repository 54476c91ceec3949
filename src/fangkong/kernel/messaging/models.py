"""The outbox table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime


class OutboxMessage(Base):
    """A message for the outside (外发消息): an SMS to a person, a push to another system, an assist
    request to another region. Recorded in every mode; delivered by the channel's sender only outside
    a drill (`status` held: a drill's message, never sent)."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | push | assist
    #: the person an SMS goes to (the sender reads the number from the registry when it delivers)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    #: a non-personal address: a region, a system's name, a unit code
    recipient: Mapped[str | None] = mapped_column(String(200))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    #: the database's mode when the message was made
    mode: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), index=True)  # held | queued | sent | failed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_outbox_message_subject", "subject_type", "subject_id"),)
