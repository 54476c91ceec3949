"""E-pass signing keys and the key ring (签发密钥与信任密钥): rotate, export, trust another issuer.

Our private Ed25519 key is one PEM file in the data directory (`epass-signing.key`, mode 0600, written
atomically); its public half and every earlier one stay in `epass_key`, so passes signed before a
rotation stay valid. `add_keys` trusts another issuer's public keys (audited). The ring a verifier
uses is every row of `epass_key`, exported as a JWK Set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.checkpoints.epass import token as tk
from fangkong.checkpoints.epass.models import EpassKey
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import Conflict, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.settings import get_settings

NO_REGION = message("epass.no_region", _("FANGKONG_REGION_CODE is not set: e-passes cannot be numbered"))
KEY_FILE_UNUSABLE = message("epass.key_file", _("the e-pass signing key %(path)s cannot be used: %(error)s"))
KEY_REGION = message("epass.key_region", _(
    "the signing key %(kid)s belongs to region %(key_region)s, not FANGKONG_REGION_CODE %(region)s: "
    "run `fangkong epass keys rotate`"))
BAD_KEYS = message("epass.bad_keys", _("not a usable key ring: %(error)s"))
KID_TAKEN = message("epass.kid_taken", _("another key is already trusted under kid %(kid)s"))

KEY_FILE = "epass-signing.key"


def region_code() -> str:
    """The deploying region's code; ValidationFailed when it is not set."""
    code = get_settings().region_code
    if not code:
        raise ValidationFailed(NO_REGION())
    return code


def key_path() -> Path:
    return get_settings().data_dir / KEY_FILE


def _write_private(key: Ed25519PrivateKey, path: Path) -> None:
    """The PEM file, mode 0600 from its creation, replacing the old one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    data = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read_private(path: Path) -> Ed25519PrivateKey | None:
    if not path.is_file():
        return None
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise ValidationFailed(KEY_FILE_UNUSABLE(path=str(path), error=str(exc))) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValidationFailed(KEY_FILE_UNUSABLE(path=str(path), error="not an Ed25519 key"))
    return key


def rotate_key(session: Session, actor: Actor, *, issuer: str | None = None) -> EpassKey:
    """A new signing key for FANGKONG_REGION_CODE (密钥轮换): the old public keys stay in the ring."""
    actor.require("epass.keys")
    region = region_code()
    issuer = (issuer or "").strip() or get_settings().root_unit_name
    private = Ed25519PrivateKey.generate()
    x = tk.public_x(private)
    kid = f"{region}-{tk.thumbprint(x)[:10]}"
    now = clock.now()
    session.execute(update(EpassKey).where(EpassKey.signing.is_(True)).values(signing=False, retired_at=now))
    row = EpassKey(kid=kid, x=x, region=region, issuer=issuer, own=True, signing=True, added_at=now,
                   added_by=actor.username)
    session.add(row)
    session.flush()
    _write_private(private, key_path())
    audit.record(session, actor, "epass.key_rotated", object_type="epass_key", object_id=row.id, kid=kid,
                 region=region)
    return row


def signing_key(session: Session, actor: Actor) -> tuple[Ed25519PrivateKey, tk.TrustedKey]:
    """Our current key and its ring entry; the first call makes one. Refused when the key's region is
    not FANGKONG_REGION_CODE (a key signs only its own region's numbers)."""
    region = region_code()
    row = session.execute(select(EpassKey).where(EpassKey.own.is_(True), EpassKey.signing.is_(True))).scalar_one_or_none()
    private = _read_private(key_path())
    if row is None or private is None or tk.public_x(private) != row.x:
        if actor.user_id is not None:  # a user issuing or revoking sets off the first key, as that user
            actor = actor.acting_for("epass.issue" if actor.can("epass.issue") else "epass.revoke", "epass.keys")
        row = rotate_key(session, actor)
        private = _read_private(key_path())
        assert private is not None
    if row.region != region:
        raise ValidationFailed(KEY_REGION(kid=row.kid, key_region=row.region, region=region))
    return private, _entry(row)


def _entry(row: EpassKey) -> tk.TrustedKey:
    return tk.trusted_key({"kty": "OKP", "crv": "Ed25519", "x": row.x, "kid": row.kid, "fk_region": row.region,
                           "fk_issuer": row.issuer})


def ring(session: Session) -> dict[str, tk.TrustedKey]:
    """Every key a pass may be signed with: ours (current and retired) and the trusted issuers'."""
    return {r.kid: _entry(r) for r in session.execute(select(EpassKey).order_by(EpassKey.id)).scalars()}


def export_ring(session: Session) -> dict[str, Any]:
    """The ring as a JWK Set, what `fangkong epass keys export` writes and verifiers load."""
    return {"keys": [k.jwk() for k in ring(session).values()]}


def add_keys(session: Session, actor: Actor, text: str) -> list[str]:
    """Trust another issuer's public keys (JWK Set or one JWK); returns the kids newly trusted. A kid
    already trusted with the same key is skipped; under another key it is refused."""
    actor.require("epass.keys")
    try:
        parsed = json.loads(text)
        if isinstance(parsed, dict) and "keys" not in parsed:
            parsed = {"keys": [parsed]}
        incoming = tk.load_ring(parsed)
    except (ValueError, tk.BadKeys) as exc:
        raise ValidationFailed(BAD_KEYS(error=str(exc))) from None
    known = ring(session)
    added: list[str] = []
    now = clock.now()
    for kid, key in incoming.items():
        if kid in known:
            if known[kid].x != key.x:
                raise Conflict(KID_TAKEN(kid=kid))
            continue
        session.add(EpassKey(kid=kid, x=key.x, region=key.region, issuer=key.issuer, own=False, signing=False,
                             added_at=now, added_by=actor.username))
        added.append(kid)
    session.flush()
    audit.record(session, actor, "epass.keys_trusted", object_type="epass_key", kids=added,
                 issuers=sorted({incoming[k].issuer for k in added}))
    return added
