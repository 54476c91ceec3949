"""E-pass tables (电子通行证): passes, the serial counter per region and the key ring.

A pass keeps what its token says (number, plate, counties, validity, crew with masked IDs and the
registry person ids) and the token itself, so a lost QR is printed again, never re-signed. The
private signing key is a file in the data directory (mode 0600), never a row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime
from fangkong.kernel.scoped import Scoped


class Epass(Base, Scoped):
    """One truck e-pass (电子通行证): one vehicle, one pass, one route. The unit is the issuer's."""

    __tablename__ = "epass"
    id: Mapped[int] = mapped_column(primary_key=True)
    no: Mapped[str] = mapped_column(String(12), unique=True)
    request_id: Mapped[str] = mapped_column(String(80), unique=True)
    #: a digest of the application's cleaned fields: a repeated request id with other content is refused
    request_digest: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str] = mapped_column(String(16))
    #: the plate as compared (NFKC, upper case, no spaces or ·)
    plate_key: Mapped[str] = mapped_column(String(16))
    cargo: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(6))
    destination: Mapped[str] = mapped_column(String(6))
    receiver: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: [{role, name, id (masked), person_id, phone (masked), tested_at (ISO UTC)}], the driver first
    crew: Mapped[list[Any]] = mapped_column(JSON)
    kid: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_epass_plate_key_valid", "plate_key", "valid_from", "valid_until"),)


class EpassSerial(Base):
    """The last serial used per region code (流水号): serials are never reused, even after revocation."""

    __tablename__ = "epass_serial"
    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class EpassKey(Base):
    """A public key of the ring (签发密钥): ours (`own`, the newest active one signs) or another
    issuer's trusted with `fangkong epass keys add`. Rotation keeps old public keys, so passes signed
    before it stay valid."""

    __tablename__ = "epass_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    x: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    issuer: Mapped[str] = mapped_column(String(100))
    own: Mapped[bool] = mapped_column(Boolean)
    #: our key that signs now (one at a time)
    signing: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(64))
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


__all__ = ["Epass", "EpassKey", "EpassSerial"]
