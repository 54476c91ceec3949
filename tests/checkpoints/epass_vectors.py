"""Keys, claims and real forgeries of e-pass tokens, shared by the token tests and the standalone
verifier's tests: each forgery is built the way an attacker would build it, never by asking the code
under test for a wrong answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fangkong.checkpoints.epass import token as tk

#: 2022-04-18 08:00 +08:00, the moment the vectors are checked at
AT = 1650240000
DAY = 86400

OUR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
STRANGER = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
KID = "320400-a"
OTHER_KID = "310000-b"


def ring() -> dict[str, tk.TrustedKey]:
    return {KID: tk.key_of(OUR_KEY, kid=KID, region="320400", issuer="常州市"),
            OTHER_KID: tk.key_of(OTHER_KEY, kid=OTHER_KID, region="310000", issuer="上海市")}


def jwks() -> dict[str, Any]:
    return {"keys": [k.jwk() for k in ring().values()]}


def claims(**over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "no": "320400000001", "plate": "苏DA1234", "from": "310115", "to": "320411",
        "nbf": AT - DAY, "exp": AT + 6 * DAY, "iat": AT - DAY - 3600,
        "crew": [{"role": "driver", "name": "张伟", "id": "320402********1234", "tested_at": AT - 2 * DAY + 7200},
                 {"role": "crew", "name": "李娜", "id": "310115********0012", "tested_at": AT - 2 * DAY}],
        "cargo": "生活物资", "receiver": "常州某超市",
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def good(**over: Any) -> str:
    return tk.sign(claims(**over), OUR_KEY, KID)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def forged(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, *, key: Ed25519PrivateKey | None = None,
           signature: bytes | None = None) -> str:
    """A token with any header and payload, signed by `key` (or carrying `signature` as is)."""
    h = _b64(header if isinstance(header, bytes) else _json(header))
    p = _b64(payload if isinstance(payload, bytes) else _json(payload))
    if signature is None:
        signature = (key or STRANGER).sign(f"{h}.{p}".encode())
    return f"{h}.{p}.{_b64(signature)}"


def edited_claims() -> str:
    """A real pass whose claims were decoded, changed (a later exp) and re-encoded, signature kept."""
    h, p, s = good().split(".")
    body = json.loads(base64.urlsafe_b64decode(p + "=="))
    body["exp"] += 30 * DAY
    return f"{h}.{_b64(_json(body))}.{s}"


def spliced() -> str:
    """The header and signature of one real pass around the payload of another real pass."""
    h, _p, s = good().split(".")
    _h2, p2, _s2 = good(no="320400000002", plate="苏DB5678").split(".")
    return f"{h}.{p2}.{s}"


def reserialised() -> str:
    """A real pass's payload decoded and re-encoded with other JSON spacing (same claims)."""
    h, p, s = good().split(".")
    body = json.loads(base64.urlsafe_b64decode(p + "=="))
    return f"{h}.{_b64(json.dumps(body, ensure_ascii=True, indent=1).encode())}.{s}"


def alg_none() -> str:
    """`alg: none` with an empty signature (the classic JWT downgrade), a later exp."""
    h = _b64(_json({"alg": "none", "kid": KID, "typ": "fk-epass"}))
    return f"{h}.{_b64(_json(claims(exp=AT + 99 * DAY)))}."


def alg_none_with_real_signature() -> str:
    """`alg: none` over a real pass's payload, the real signature kept."""
    _h, p, s = good().split(".")
    return f"{_b64(_json({'alg': 'none', 'kid': KID, 'typ': 'fk-epass'}))}.{p}.{s}"


def hs256_with_our_public_key() -> str:
    """HS256 whose HMAC key is our public key (the key-confusion attack)."""
    h = _b64(_json({"alg": "HS256", "kid": KID, "typ": "fk-epass"}))
    p = _b64(_json(claims(exp=AT + 99 * DAY)))
    public = base64.urlsafe_b64decode(tk.public_x(OUR_KEY) + "=")
    mac = hmac.new(public, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{_b64(mac)}"


def strangers_key_under_our_kid() -> str:
    """A well-formed pass signed by a key nobody trusts, claiming our kid."""
    return forged({"alg": "EdDSA", "kid": KID, "typ": "fk-epass"}, claims(), key=STRANGER)


def unknown_kid() -> str:
    return forged({"alg": "EdDSA", "kid": "999999-z", "typ": "fk-epass"}, claims(), key=STRANGER)


def other_issuer_signs_our_number() -> str:
    """Shanghai's trusted key signing a number of Changzhou's (320400…)."""
    return forged({"alg": "EdDSA", "kid": OTHER_KID, "typ": "fk-epass"}, claims(), key=OTHER_KEY)


def short_signature() -> str:
    """A real pass with its signature's last byte cut off (canonical base64url, 63 bytes)."""
    h, p, s = good().split(".")
    return f"{h}.{p}.{_b64(base64.urlsafe_b64decode(s + '==')[:-1])}"


def signed_bad_claims() -> str:
    """Our own key over claims that break the spec (nbf ≥ exp): a signing bug, not a pass."""
    return tk.sign(claims(nbf=AT + DAY, exp=AT), OUR_KEY, KID)


#: forgery → the reason the verifier must give at AT, with no plate and the revocations below
REVOKED = frozenset({"320400000009"})
FORGERIES: dict[str, tuple[str, str]] = {
    "not_three_parts": ("abc.def", "malformed"),
    "padded_base64": (good().replace(".", "=.", 1), "malformed"),
    "wrong_typ": (forged({"alg": "EdDSA", "kid": KID, "typ": "JWT"}, claims(), key=OUR_KEY), "malformed"),
    "header_not_object": (forged(b"[1,2]", claims(), key=OUR_KEY), "malformed"),
    "kid_not_string": (forged({"alg": "EdDSA", "kid": 7, "typ": "fk-epass"}, claims(), key=OUR_KEY), "malformed"),
    "duplicate_alg": (forged(b'{"alg":"none","alg":"EdDSA","kid":"320400-a","typ":"fk-epass"}', claims(),
                             key=OUR_KEY), "malformed"),
    "alg_none": (alg_none(), "unsupported_alg"),
    "alg_none_real_signature": (alg_none_with_real_signature(), "unsupported_alg"),
    "hs256_public_key": (hs256_with_our_public_key(), "unsupported_alg"),
    "unknown_kid": (unknown_kid(), "unknown_key"),
    "stranger_under_our_kid": (strangers_key_under_our_kid(), "bad_signature"),
    "edited_claims": (edited_claims(), "bad_signature"),
    "spliced": (spliced(), "bad_signature"),
    "reserialised": (reserialised(), "bad_signature"),
    "short_signature": (short_signature(), "bad_signature"),
    "signed_bad_claims": (signed_bad_claims(), "bad_claims"),
    "signed_not_object": (forged({"alg": "EdDSA", "kid": KID, "typ": "fk-epass"}, b'"x"', key=OUR_KEY), "bad_claims"),
    "other_issuer": (other_issuer_signs_our_number(), "issuer_mismatch"),
    "revoked": (good(no="320400000009"), "revoked"),
    "not_yet_valid": (good(nbf=AT + 1, exp=AT + DAY), "not_yet_valid"),
    "expired": (good(nbf=AT - 7 * DAY, exp=AT), "expired"),
    "valid": (good(), ""),
    "valid_url": ("https://fk.example.cn/v#" + good(), ""),
}
