"""Truck e-pass tokens (重点物资运输车辆通行证二维码): sign, parse and verify. Pure: no database, no clock.

A token is a JWS compact serialisation (RFC 7515) signed with Ed25519 (RFC 8037): three unpadded
base64url parts `header.claims.signature`, the signature over the first two parts *as sent*. The QR
may also carry `https://HOST/v#TOKEN`. The header is `{"alg":"EdDSA","kid":K,"typ":"fk-epass"}`; the
claims `no`, `plate`, `from`, `to`, `nbf`, `exp`, `crew` (1–3 persons, one driver), optional `cargo`,
`receiver`, `iat`; unknown claims are ignored. A revocation list is the same JWS with `typ`
`fk-epass-crl` and claims `{"iat": …, "revoked": [pass numbers]}`.

The verdict is `valid` or the FIRST failing reason of, in this order: malformed → unsupported_alg →
unknown_key → bad_signature → bad_claims → issuer_mismatch → revoked → not_yet_valid → expired →
plate_mismatch. Nothing in the claims is read before the signature has been checked.

Why hand-written and not joserfc / jwcrypto / PyJWT: none of them is installed here, and each folds
several of our reasons into one exception (PyJWT raises `DecodeError` for a bad header and for a bad
payload alike, checks `exp` before or with the signature depending on options, and accepts padded or
non-canonical base64), so the verdict order would need a parse of our own anyway. The parse is small:
split on '.', strict base64url (canonical, unpadded), JSON objects without duplicate names, Ed25519
from `cryptography`.

This module depends on the standard library and `cryptography` only. `verifier/fk_epass_verify.py`
carries a verbatim copy of the section between the `CORE` markers (a test compares them), so the
standalone verifier gives the same verdicts.
"""

from __future__ import annotations

# ---- CORE BEGIN (verbatim in verifier/fk_epass_verify.py; tests/checkpoints/test_epass_verifier.py) ----
import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TYP = "fk-epass"
CRL_TYP = "fk-epass-crl"
ALG = "EdDSA"
URL_MARK = "/v#"

#: reasons in the order they are checked; the first that fails is the verdict's reason
REASONS = ("malformed", "unsupported_alg", "unknown_key", "bad_signature", "bad_claims", "issuer_mismatch",
           "revoked", "not_yet_valid", "expired", "plate_mismatch")
#: how a checkpoint reads them (the page, the standalone verifiers)
REASONS_ZH = {
    "malformed": "格式错误", "unsupported_alg": "签名算法不受支持", "unknown_key": "未知签发密钥",
    "bad_signature": "签名无效", "bad_claims": "通行证内容不合规", "issuer_mismatch": "签发地不符",
    "revoked": "已吊销", "not_yet_valid": "尚未生效", "expired": "已过期", "plate_mismatch": "车牌不符",
}
VERDICTS_ZH = {"valid": "有效", "invalid": "无效"}
ROLES_ZH = {"driver": "驾驶员", "crew": "随车人员"}

_B64 = re.compile(r"^[A-Za-z0-9_-]*$")
_PASS_NO = re.compile(r"^[0-9]{12}$")
_COUNTY = re.compile(r"^[0-9]{6}$")
_MASKED_ID = re.compile(r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$")
_PLATE_DROP = re.compile(r"[\s·]+")


class Malformed(ValueError):
    """Not a token (or not a revocation list) at all."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (RFC 7515 §2): the URL-safe alphabet, no padding, canonical (the text is the one
    encoding of its bytes, so a signature has exactly one spelling)."""
    if not _B64.match(text) or len(text) % 4 == 1:
        raise Malformed("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Malformed("not base64url") from None
    if b64url_encode(data) != text:
        raise Malformed("non-canonical base64url")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member")
    return out


#: one decoder for every pass (json.loads with a hook builds a new one per call: a tenth of a verification)
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates)


def json_object(data: bytes) -> dict[str, Any] | None:
    """The JSON object `data` holds (UTF-8, no duplicate member names), else None."""
    try:
        value = _DECODER.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def compact_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def normalise_plate(text: str | None) -> str:
    """How plates compare: NFKC, upper case, no spaces or `·` (苏D·A1234 = 苏da1234 = 苏ＤＡ１２３４)."""
    return _PLATE_DROP.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def extract_token(text: str) -> str:
    """The token in what a scanner gives: the token itself or `https://HOST/v#TOKEN`."""
    s = (text or "").strip()
    if URL_MARK in s and s.lower().startswith(("https://", "http://")):
        s = s.split(URL_MARK, 1)[1]
    return s.strip()


def region_prefix(region: str) -> str:
    """What a key's pass numbers start with: its region minus trailing `00` pairs (320400 → 3204,
    320000 → 32, 320412 → 320412)."""
    prefix = region
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


@dataclass(frozen=True)
class TrustedKey:
    """One public key of a ring (JWK: kty OKP, crv Ed25519, x, kid, fk_region, fk_issuer)."""

    kid: str
    x: str
    region: str
    issuer: str
    public: Ed25519PublicKey = field(compare=False, repr=False)

    @property
    def prefix(self) -> str:
        return region_prefix(self.region)

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "use": "sig", "alg": ALG,
                "fk_region": self.region, "fk_issuer": self.issuer}


class BadKeys(ValueError):
    """A key ring (JWK Set) that cannot be used."""


def trusted_key(jwk: Mapping[str, Any]) -> TrustedKey:
    """A ring entry from its JWK; BadKeys names what is wrong."""
    if not isinstance(jwk, Mapping):
        raise BadKeys("a key is not a JSON object")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise BadKeys("a key has no kid")
    if jwk.get("kty") != "OKP" or jwk.get("crv", "Ed25519") != "Ed25519":
        raise BadKeys(f"key {kid}: not an Ed25519 key (kty OKP, crv Ed25519)")
    if "d" in jwk:
        raise BadKeys(f"key {kid}: a private key (d) does not belong in a ring")
    region, issuer, x = jwk.get("fk_region"), jwk.get("fk_issuer"), jwk.get("x")
    if not isinstance(region, str) or not _COUNTY.match(region) or region == "000000":
        raise BadKeys(f"key {kid}: fk_region must be a 6-digit region code")
    if not isinstance(issuer, str) or not issuer.strip():
        raise BadKeys(f"key {kid}: fk_issuer is missing")
    try:
        raw = b64url_decode(x) if isinstance(x, str) else b""
    except Malformed:
        raw = b""
    if len(raw) != 32:
        raise BadKeys(f"key {kid}: x must be 32 bytes of base64url")
    return TrustedKey(kid, x, region, issuer.strip(), Ed25519PublicKey.from_public_bytes(raw))


def load_ring(jwks: Any) -> dict[str, TrustedKey]:
    """kid → key from a JWK Set (`{"keys": [...]}`); two keys under one kid are refused."""
    if isinstance(jwks, (bytes, str)):
        parsed = json_object(jwks.encode() if isinstance(jwks, str) else jwks)
        if parsed is None:
            raise BadKeys("not a JSON object")
        jwks = parsed
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise BadKeys('not a JWK Set (expected {"keys": [...]})')
    ring: dict[str, TrustedKey] = {}
    for jwk in keys:
        key = trusted_key(jwk)
        if key.kid in ring and ring[key.kid].x != key.x:
            raise BadKeys(f"two different keys under kid {key.kid}")
        ring[key.kid] = key
    return ring


@dataclass(frozen=True)
class Verdict:
    """What a checkpoint sees: `valid` (green) or `invalid` (grey) with the first failing reason."""

    reason: str | None
    claims: dict[str, Any] | None = None
    kid: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None

    @property
    def verdict(self) -> str:
        return "valid" if self.reason is None else "invalid"

    @property
    def label_zh(self) -> str:
        return VERDICTS_ZH["valid"] if self.reason is None else REASONS_ZH[self.reason]

    @property
    def pass_no(self) -> str | None:
        no = (self.claims or {}).get("no")
        return no if isinstance(no, str) else None


def _is_int(v: Any) -> bool:
    return type(v) is int


def _short_text(v: Any, limit: int) -> bool:
    return isinstance(v, str) and 0 < len(v.strip()) <= limit


def claims_problem(claims: Any) -> str | None:
    """Why a signed payload is not an e-pass's claims (None when it is)."""
    if not isinstance(claims, dict):
        return "not a JSON object"
    no, plate = claims.get("no"), claims.get("plate")
    if not isinstance(no, str) or not _PASS_NO.match(no):
        return "no: 12 digits"
    if not _short_text(plate, 16) or not normalise_plate(plate):
        return "plate"
    for k in ("from", "to"):
        if not isinstance(claims.get(k), str) or not _COUNTY.match(claims[k]):
            return f"{k}: 6-digit county code"
    nbf, exp = claims.get("nbf"), claims.get("exp")
    if not _is_int(nbf) or not _is_int(exp):
        return "nbf/exp: Unix seconds"
    if nbf >= exp:
        return "nbf ≥ exp"
    crew = claims.get("crew")
    if not isinstance(crew, list) or not 1 <= len(crew) <= 3:
        return "crew: 1–3 persons"
    drivers = 0
    for person in crew:
        if not isinstance(person, dict):
            return "crew: not an object"
        if person.get("role") not in ROLES_ZH:
            return "crew.role"
        drivers += person["role"] == "driver"
        if not _short_text(person.get("name"), 32):
            return "crew.name"
        if not isinstance(person.get("id"), str) or not _MASKED_ID.match(person["id"]):
            return "crew.id: 6+********+4"
        if not _is_int(person.get("tested_at")):
            return "crew.tested_at"
    if drivers != 1:
        return "crew: exactly one driver"
    for k in ("cargo", "receiver"):
        if k in claims and not isinstance(claims[k], str):
            return k
    if "iat" in claims and not _is_int(claims["iat"]):
        return "iat"
    return None


def _split(token: str, typ: str) -> tuple[dict[str, Any], bytes, bytes, bytes] | None:
    """(header, signing input, payload, signature) of a JWS of `typ`, or None when malformed."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        header_raw, payload, signature = (b64url_decode(p) for p in parts)
    except Malformed:
        return None
    header = json_object(header_raw)
    if header is None or not isinstance(header.get("alg"), str) or not isinstance(header.get("kid"), str):
        return None
    if header.get("typ") != typ or "crit" in header:  # we understand no critical extensions
        return None
    return header, f"{parts[0]}.{parts[1]}".encode("ascii"), payload, signature


def _signed(split: tuple[dict[str, Any], bytes, bytes, bytes], ring: Mapping[str, TrustedKey]
            ) -> tuple[str | None, TrustedKey | None]:
    header, signing_input, _payload, signature = split
    if header["alg"] != ALG:
        return "unsupported_alg", None
    key = ring.get(header["kid"])
    if key is None:
        return "unknown_key", None
    if len(signature) != 64:
        return "bad_signature", key
    try:
        key.public.verify(signature, signing_input)
    except InvalidSignature:
        return "bad_signature", key
    return None, key


def verify(text: str, ring: Mapping[str, TrustedKey], *, at: int, revoked: Container[str] = (),
           plate: str | None = None) -> Verdict:
    """The verdict on a scanned text at Unix second `at` (valid while nbf ≤ at < exp)."""
    split = _split(extract_token(text), TYP)
    if split is None:
        return Verdict("malformed")
    kid = split[0]["kid"]
    reason, key = _signed(split, ring)
    if reason is not None or key is None:
        return Verdict(reason, kid=kid)
    claims = json_object(split[2])
    if claims is None or claims_problem(claims) is not None:
        return Verdict("bad_claims", kid=kid)
    if not claims["no"].startswith(key.prefix):
        return Verdict("issuer_mismatch", claims, kid)
    if claims["no"] in revoked:
        return Verdict("revoked", claims, kid)
    if at < claims["nbf"]:
        return Verdict("not_yet_valid", claims, kid)
    if at >= claims["exp"]:
        return Verdict("expired", claims, kid)
    if plate is not None and plate.strip() and normalise_plate(plate) != normalise_plate(claims["plate"]):
        return Verdict("plate_mismatch", claims, kid)
    return Verdict(None, claims, kid)


class BadRevocationList(ValueError):
    """A revocation list that fails verification: a verifier must stop, not check without it."""


def read_revocation_list(text: str, ring: Mapping[str, TrustedKey]) -> tuple[int, frozenset[str]]:
    """(iat, revoked numbers) of a signed list (typ fk-epass-crl); BadRevocationList says why not.

    Every number must be one its signing key may sign (starts with the key's region prefix): an
    issuer revokes only its own passes."""
    split = _split(text.strip(), CRL_TYP)
    if split is None:
        raise BadRevocationList("malformed")
    reason, key = _signed(split, ring)
    if reason is not None or key is None:
        raise BadRevocationList(reason or "unknown_key")
    claims = json_object(split[2])
    revoked = claims.get("revoked") if claims else None
    if claims is None or not _is_int(claims.get("iat")) or not isinstance(revoked, list):
        raise BadRevocationList("bad_claims")
    for no in revoked:
        if not isinstance(no, str) or not _PASS_NO.match(no):
            raise BadRevocationList("bad_claims")
        if not no.startswith(key.prefix):
            raise BadRevocationList("issuer_mismatch")
    return claims["iat"], frozenset(revoked)
# ---- CORE END ----

from collections.abc import Iterable  # noqa: E402

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402


def sign(claims: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str, *, typ: str = TYP) -> str:
    """A compact JWS of `claims` signed with `private_key` under `kid`."""
    header = b64url_encode(compact_json({"alg": ALG, "kid": kid, "typ": typ}))
    payload = b64url_encode(compact_json(dict(claims)))
    signature = private_key.sign(f"{header}.{payload}".encode("ascii"))
    return f"{header}.{payload}.{b64url_encode(signature)}"


def sign_revocation_list(numbers: Iterable[str], private_key: Ed25519PrivateKey, kid: str, *, iat: int) -> str:
    """A signed revocation list (typ fk-epass-crl) of pass numbers, sorted."""
    return sign({"iat": iat, "revoked": sorted(set(numbers))}, private_key, kid, typ=CRL_TYP)


def public_x(private_key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return b64url_encode(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def thumbprint(x: str) -> str:
    """RFC 7638 JWK thumbprint of an Ed25519 public key (base64url SHA-256 of the canonical JWK)."""
    import hashlib

    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def key_of(private_key: Ed25519PrivateKey, *, kid: str, region: str, issuer: str) -> TrustedKey:
    return TrustedKey(kid, public_x(private_key), region, issuer, private_key.public_key())


def mask_id(id_number: str) -> str:
    """6 + ******** + 4, as the token carries it."""
    return f"{id_number[:6]}********{id_number[-4:]}"
