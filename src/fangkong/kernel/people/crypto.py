"""Field encryption and keyed blind indexes for ID and phone numbers, under a key ring that rotates.

The key material lives in `$FANGKONG_DATA_DIR/secret.key` (mode 0600, created by `fangkong init`) or in
`FANGKONG_SECRET_KEY`. Either holds one 32-byte key in base64 (the original format: key id 1, AES) or
a *key ring* (JSON, `fangkong-keyring-1`): several keys, each with an id, an algorithm and a state.

- `aes` (default): sub-keys by HKDF-SHA256, AES-256-GCM, blind indexes HMAC-SHA256.
- `sm` (GB/T 39786 commercial cryptography, `FANGKONG_CRYPTO=sm`): HKDF-SM3, SM4-GCM, HMAC-SM3.

Sub-keys for encryption and each blind index are derived per key, so a leaked index key decrypts
nothing. A ciphertext names its key: version byte 2, the key id (2 bytes), the nonce, the sealed text
(the 3-byte header is authenticated). Version 1 ciphertexts (no key id) belong to key 1.

Rotation (`kernel.keys`) adds a key, makes it *current* (every new ciphertext and blind index uses it)
and marks the previous one *retiring*: until the rotation finishes, lookups search the blind indexes
of both (`blind_indexes`), and decryption reads every key in the ring. When every encrypted column
has been re-encrypted, the old key becomes *retired*: still able to decrypt (a straggler written by a
transaction that began before the rotation), no longer searched.

Keyed digests that serve as idempotency keys (a scan without request id, a lead without source ref)
cannot be recomputed from what is stored, so they use the ring's *signing* key (`stable_digest`), as
do the venue-code signatures printed on posters: that key does not change on rotation.

The ring file is reread when it changes (checked at most once a second), so a server picks up a
rotation started from the command line. The key is never logged.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fangkong.kernel.files import private_file
from fangkong.kernel.messages import _, message
from fangkong.settings import get_settings

Algorithm = Literal["aes", "sm"]
ALGORITHMS: tuple[str, ...] = ("aes", "sm")
RING_FORMAT = "fangkong-keyring-1"
_V1 = b"\x01"
_V2 = b"\x02"
_TAG = 16
#: how often (seconds) the key file is checked for a change made by another process
RELOAD_EVERY_S = 1.0


NO_KEY = message("key.missing", _("no secret key: run `fangkong init` (expected %(path)s)"))
BAD_KEY = message("key.invalid", _("the secret key must be 32 bytes, base64-encoded"))
BAD_RING = message("key.bad_ring", _("the key ring is damaged: %(error)s"))
UNKNOWN_KEY = message("key.unknown", _("this value was encrypted with key %(id)s, which is not in the key ring"))


class KeyMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Key:
    """One key of the ring: `state` is `active` (current or kept), `retiring` (a rotation moves data
    away from it: still searched) or `retired` (only decrypts stragglers)."""

    id: int
    alg: str
    material: bytes
    state: str = "active"

    def fingerprint(self) -> str:
        return sha256(b"fangkong:key-fingerprint:" + self.material).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[Key, ...]
    current: int
    #: the key whose sub-keys sign venue codes and make idempotency digests (never rotated)
    signing: int
    #: the ring came from the original single-key format
    legacy: bool = False

    def key(self, key_id: int) -> Key:
        for k in self.keys:
            if k.id == key_id:
                return k
        raise KeyMissing(UNKNOWN_KEY(id=key_id))

    @property
    def current_key(self) -> Key:
        return self.key(self.current)

    @property
    def searched(self) -> tuple[Key, ...]:
        """The keys whose blind indexes lookups search: the current one first, then any retiring."""
        return (self.current_key, *(k for k in self.keys if k.state == "retiring" and k.id != self.current))

    def fingerprint(self) -> str:
        """Names the ring without revealing it; a single original key keeps its old fingerprint, so
        backups made before key rings still match."""
        if len(self.keys) == 1:
            return self.keys[0].fingerprint()
        return sha256(("|".join(f"{k.id}:{k.alg}:{k.fingerprint()}" for k in self.keys)).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {"format": RING_FORMAT, "current": self.current, "signing": self.signing,
                "keys": [{"id": k.id, "alg": k.alg, "state": k.state,
                          "key": base64.b64encode(k.material).decode()} for k in self.keys]}

    def dumps(self) -> bytes:
        if self.legacy and len(self.keys) == 1 and self.keys[0].alg == "aes":
            return base64.b64encode(self.keys[0].material) + b"\n"
        return json.dumps(self.to_json(), indent=1).encode() + b"\n"

    def with_new_key(self, alg: str) -> KeyRing:
        """A new current key of `alg`; the previous current key starts retiring."""
        new = Key(max(k.id for k in self.keys) + 1, alg, os.urandom(32), "active")
        keys = tuple(replace(k, state="retiring") if k.id == self.current else k for k in self.keys)
        return KeyRing((*keys, new), new.id, self.signing)

    def retire(self, key_id: int) -> KeyRing:
        return replace(self, keys=tuple(replace(k, state="retired") if k.id == key_id else k for k in self.keys),
                       legacy=False)


def parse_ring(raw: str | bytes) -> KeyRing:
    """A ring from the key file's or FANGKONG_SECRET_KEY's text: one base64 key, or a JSON ring."""
    text = (raw.decode() if isinstance(raw, bytes) else raw).strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            keys = tuple(Key(int(k["id"]), str(k["alg"]), base64.b64decode(k["key"]), str(k.get("state", "active")))
                         for k in data["keys"])
            ring = KeyRing(keys, int(data["current"]), int(data.get("signing", keys[0].id)))
            ring.key(ring.current), ring.key(ring.signing)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise KeyMissing(BAD_RING(error=str(exc)[:80])) from exc
        if any(len(k.material) != 32 or k.alg not in ALGORITHMS for k in keys):
            raise KeyMissing(BAD_KEY())
        return ring
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise KeyMissing(BAD_KEY()) from exc
    if len(key) != 32:
        raise KeyMissing(BAD_KEY())
    return KeyRing((Key(1, "aes", key),), 1, 1, legacy=True)


def new_ring(alg: str) -> KeyRing:
    """A fresh ring with one key (the original one-line format for AES, which older tools read)."""
    return KeyRing((Key(1, alg, os.urandom(32)),), 1, 1, legacy=(alg == "aes"))


def write_ring(ring: KeyRing, path: Path | None = None) -> None:
    """Replace the key file atomically (0600), and forget the cached ring."""
    path = path or get_settings().key_file
    tmp = path.with_name(path.name + ".new")
    private_file(tmp)
    tmp.write_bytes(ring.dumps())
    os.replace(tmp, path)
    reset_keys()


def ensure_key_file(path: Path | None = None) -> bool:
    """Create the key file if it does not exist (algorithm from `FANGKONG_CRYPTO`); True when created."""
    settings = get_settings()
    path = path or settings.key_file
    if settings.secret_key or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(new_ring(settings.crypto).dumps())
    return True


_cache: dict[str, Any] = {"ring": None, "stamp": None, "checked": 0.0}


def _source_stamp() -> tuple[Any, ...]:
    settings = get_settings()
    if settings.secret_key:
        return ("env", settings.secret_key)
    try:
        st = settings.key_file.stat()
    except FileNotFoundError:
        return ("missing", str(settings.key_file))
    return ("file", str(settings.key_file), st.st_mtime_ns, st.st_size, st.st_ino)


def ring() -> KeyRing:
    """The key ring in force (cached; reread when the key file changes)."""
    now = time.monotonic()
    cached = _cache["ring"]
    if cached is not None and now - _cache["checked"] < RELOAD_EVERY_S:
        return cached
    stamp = _source_stamp()
    _cache["checked"] = now
    if cached is not None and stamp == _cache["stamp"]:
        return cached
    settings = get_settings()
    if stamp[0] == "env":
        loaded = parse_ring(settings.secret_key or "")
    elif stamp[0] == "missing":
        raise KeyMissing(NO_KEY(path=str(settings.key_file)))
    else:
        loaded = parse_ring(settings.key_file.read_bytes())
    _cache.update(ring=loaded, stamp=stamp)
    return loaded


def reset_keys() -> None:
    """Forget the cached ring (tests switch data dirs; a rotation rewrites the file)."""
    _cache.update(ring=None, stamp=None, checked=0.0)


def _master_key() -> bytes:
    """The current key's material (for tools that predate key rings)."""
    return ring().current_key.material


@lru_cache(maxsize=256)
def _derive_with(material: bytes, alg: str, purpose: bytes, length: int = 32) -> bytes:
    algorithm = hashes.SM3() if alg == "sm" else hashes.SHA256()
    return HKDF(algorithm=algorithm, length=length, salt=None, info=b"fangkong:" + purpose).derive(material)


def derive_key(purpose: bytes) -> bytes:
    """A 32-byte sub-key of the ring's *signing* key for `purpose` (venue-code signatures): stable across
    rotations, so printed codes stay valid."""
    k = ring().key(ring().signing)
    return _derive_with(k.material, k.alg, purpose)


@lru_cache(maxsize=64)
def _aesgcm(material: bytes) -> AESGCM:
    return AESGCM(_derive_with(material, "aes", b"field-encryption"))


def _seal(k: Key, nonce: bytes, plain: bytes, aad: bytes | None) -> bytes:
    if k.alg == "sm":
        enc = Cipher(algorithms.SM4(_derive_with(k.material, "sm", b"field-encryption", 16)), modes.GCM(nonce)).encryptor()
        if aad:
            enc.authenticate_additional_data(aad)
        return enc.update(plain) + enc.finalize() + enc.tag
    return _aesgcm(k.material).encrypt(nonce, plain, aad)


def _open(k: Key, nonce: bytes, sealed: bytes, aad: bytes | None) -> bytes:
    if k.alg == "sm":
        dec = Cipher(algorithms.SM4(_derive_with(k.material, "sm", b"field-encryption", 16)),
                     modes.GCM(nonce, sealed[-_TAG:])).decryptor()
        if aad:
            dec.authenticate_additional_data(aad)
        return dec.update(sealed[:-_TAG]) + dec.finalize()
    return _aesgcm(k.material).decrypt(nonce, sealed, aad)


def encrypt(value: str, *, key_id: int | None = None) -> bytes:
    """The value sealed under the current key (or `key_id`), naming the key."""
    k = ring().key(key_id) if key_id is not None else ring().current_key
    header = _V2 + k.id.to_bytes(2, "big")
    nonce = os.urandom(12)
    return header + nonce + _seal(k, nonce, value.encode(), header)


def key_id_of(blob: bytes) -> int:
    """Which key sealed a ciphertext (version 1 ciphertexts: key 1)."""
    if blob[:1] == _V2:
        return int.from_bytes(blob[1:3], "big")
    if blob[:1] == _V1:
        return 1
    raise ValueError("unknown ciphertext version")


def decrypt(blob: bytes) -> str:
    if not blob:
        raise ValueError("unknown ciphertext version")
    blob = bytes(blob)
    if blob[:1] == _V2:
        k = ring().key(int.from_bytes(blob[1:3], "big"))
        return _open(k, blob[3:15], blob[15:], blob[:3]).decode()
    if blob[:1] == _V1:
        return _open(ring().key(1), blob[1:13], blob[13:], None).decode()
    raise ValueError("unknown ciphertext version")


def _index_with(k: Key, value: str, kind: str) -> str:
    sub = _derive_with(k.material, k.alg, b"blind-index:" + kind.encode())
    if k.alg == "sm":
        from cryptography.hazmat.primitives import hmac as chmac

        mac = chmac.HMAC(sub, hashes.SM3())
        mac.update(value.encode())
        return mac.finalize().hex()
    return hmac.new(sub, value.encode(), sha256).hexdigest()


def blind_index(value: str, kind: str, *, key_id: int | None = None) -> str:
    """Keyed, deterministic index of a normalised value under the current key (`kind`: "id_number" |
    "phone" …). Writes use this; lookups use `blind_indexes`."""
    k = ring().key(key_id) if key_id is not None else ring().current_key
    return _index_with(k, value, kind)


def encrypt_many(values: list[str]) -> list[bytes]:
    """`encrypt` for a batch under the current key: the key, its cipher and the header looked up once,
    the nonces drawn in one `os.urandom` call (bulk loaders: a million persons)."""
    if not values:
        return []
    k = ring().current_key
    header = _V2 + k.id.to_bytes(2, "big")
    nonces = os.urandom(12 * len(values))
    if k.alg == "sm":
        return [header + nonces[12 * i:12 * i + 12] + _seal(k, nonces[12 * i:12 * i + 12], v.encode(), header)
                for i, v in enumerate(values)]
    seal = _aesgcm(k.material).encrypt
    out = []
    for i, v in enumerate(values):
        nonce = nonces[12 * i:12 * i + 12]
        out.append(header + nonce + seal(nonce, v.encode(), header))
    return out


def blind_index_many(values: list[str], kind: str) -> list[str]:
    """`blind_index` for a batch under the current key: the sub-key derived once, one HMAC copied per
    value."""
    k = ring().current_key
    if k.alg == "sm":
        return [_index_with(k, v, kind) for v in values]
    base = hmac.new(_derive_with(k.material, k.alg, b"blind-index:" + kind.encode()), digestmod=sha256)
    out = []
    for v in values:
        mac = base.copy()
        mac.update(v.encode())
        out.append(mac.hexdigest())
    return out


def blind_indexes(value: str, kind: str) -> list[str]:
    """Every index a stored row may hold for this value: the current key's first, then the retiring
    key's while a rotation runs. Look rows up with `column.in_(…)`."""
    return [_index_with(k, value, kind) for k in ring().searched]


def index_aliases(value: str, kind: str) -> dict[str, str]:
    """Every searched index of a value → the current one (to fold rows found under the old key)."""
    found = blind_indexes(value, kind)
    return {b: found[0] for b in found}


def stable_digest(value: str, kind: str) -> str:
    """A keyed digest under the signing key (HMAC): for idempotency keys that must keep their value across
    rotations because they cannot be recomputed from what is stored."""
    return _index_with(ring().key(ring().signing), value, kind)


class IndexAliases:
    """Blind indexes of one batch of lookups, under every searched key: `index` gives the current one
    (what the batch matches on), `searched` every index to look rows up by, and `fold` rewrites a found
    row's old-key index to the current one, so matching compares like with like during a rotation."""

    def __init__(self) -> None:
        self.to_current: dict[str, str] = {}

    def index(self, value: str, kind: str) -> str:
        found = blind_indexes(value, kind)
        for b in found:
            self.to_current[b] = found[0]
        return found[0]

    def searched(self, current: set[str]) -> list[str]:
        return sorted(b for b, cur in self.to_current.items() if cur in current)

    def fold(self, row: Any) -> Any:
        """A candidate with `id_bidx` / `phone_bidx` attributes, its indexes made current (in place)."""
        for attr in ("id_bidx", "phone_bidx"):
            value = getattr(row, attr, None)
            if value is not None and value in self.to_current:
                setattr(row, attr, self.to_current[value])
        return row
