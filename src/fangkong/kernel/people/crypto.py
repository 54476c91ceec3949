"""Field encryption (AES-256-GCM) and keyed blind indexes (HMAC-SHA256) for ID and phone numbers.

One 32-byte master key lives in `$FANGKONG_DATA_DIR/secret.key` (mode 0600, created by `fangkong
init`) or in `FANGKONG_SECRET_KEY` (base64). Sub-keys for encryption and each blind index are
derived with HKDF, so a leaked index key does not decrypt anything. The key is never logged.
"""

from __future__ import annotations

import base64
import hmac
import os
from functools import lru_cache
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fangkong.kernel.messages import _, message
from fangkong.settings import get_settings

_VERSION = b"\x01"


NO_KEY = message("key.missing", _("no secret key: run `fangkong init` (expected %(path)s)"))
BAD_KEY = message("key.invalid", _("the secret key must be 32 bytes, base64-encoded"))


class KeyMissing(RuntimeError):
    pass


def ensure_key_file(path: Path | None = None) -> bool:
    """Create the key file if it does not exist; True when created."""
    path = path or get_settings().key_file
    if get_settings().secret_key or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(os.urandom(32)) + b"\n")
    return True


@lru_cache(maxsize=1)
def _master_key() -> bytes:
    settings = get_settings()
    raw = settings.secret_key
    if not raw:
        if not settings.key_file.exists():
            raise KeyMissing(NO_KEY(path=str(settings.key_file)))
        raw = settings.key_file.read_text().strip()
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise KeyMissing(BAD_KEY())
    return key


def _derive(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fangkong:" + purpose).derive(_master_key())


def derive_key(purpose: bytes) -> bytes:
    """A 32-byte sub-key of the master key for `purpose` (HKDF-SHA256), e.g. venue-code signing."""
    return _derive(purpose)


@lru_cache(maxsize=1)
def _aead() -> AESGCM:
    return AESGCM(_derive(b"field-encryption"))


@lru_cache(maxsize=8)
def _index_key(kind: str) -> bytes:
    return _derive(b"blind-index:" + kind.encode())


def reset_keys() -> None:
    """Forget cached keys (tests switch data dirs)."""
    _master_key.cache_clear()
    _aead.cache_clear()
    _index_key.cache_clear()


def encrypt(value: str) -> bytes:
    nonce = os.urandom(12)
    return _VERSION + nonce + _aead().encrypt(nonce, value.encode(), None)


def decrypt(blob: bytes) -> str:
    if not blob or blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return _aead().decrypt(blob[1:13], blob[13:], None).decode()


def blind_index(value: str, kind: str) -> str:
    """Keyed, deterministic index of a normalised value (`kind`: "id_number" | "phone")."""
    return hmac.new(_index_key(kind), value.encode(), sha256).hexdigest()
