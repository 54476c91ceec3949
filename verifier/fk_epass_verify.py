#!/usr/bin/env python3
"""fk_epass_verify — verify truck e-passes (货车电子通行证核验) without the platform.

Needs Python >= 3.10 and `cryptography` only. Give it the issuers' public keys (a JWK Set written by
`fangkong epass keys export`) and their signed revocation lists (`fangkong epass crl`):

    python3 fk_epass_verify.py TOKEN --keys ring.json [--revocations crl.jws]... [--plate P] [--at T]
    python3 fk_epass_verify.py --in passes.csv --out checked.csv --keys ring.json [--revocations F]...

One token: prints `verdict reason pass_no valid_until label` (tab-separated; `--json` for JSON) and
exits 0 whatever the verdict. A file: column `token`, optional `plate`, the other columns copied;
adds `verdict,reason,pass_no,valid_until`. A revocation list that fails verification stops the run
(exit 1): checking without it would show revoked passes green. Usage errors exit 2.

The verdicts are the platform's: valid, or the first of malformed, unsupported_alg, unknown_key,
bad_signature, bad_claims, issuer_mismatch, revoked, not_yet_valid, expired, plate_mismatch. The
section between the CORE markers is a verbatim copy of `fangkong/checkpoints/epass/token.py`'s (a test
compares them).
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

# ------------------------------------------------------------------------------------- command line

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
ADDED = ["verdict", "reason", "pass_no", "valid_until"]


def parse_at(text: str | None) -> int:
    """Unix seconds of `--at` (ISO 8601; a naive time is Beijing time), default now."""
    if not text:
        return int(dt.datetime.now(dt.timezone.utc).timestamp())  # noqa: UP017 (runs on Python 3.10)
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=TZ)
    return int(value.timestamp())


def local_iso(unix: int | None) -> str:
    return "" if unix is None else dt.datetime.fromtimestamp(unix, TZ).isoformat()


def load(keys: Path, lists: list[Path]) -> tuple[dict[str, TrustedKey], frozenset[str]]:
    """The ring and every revoked number; BadKeys / BadRevocationList when either cannot be trusted."""
    ring = load_ring(keys.read_bytes())
    revoked: set[str] = set()
    for path in lists:
        try:
            _iat, numbers = read_revocation_list(path.read_text(encoding="utf-8"), ring)
        except BadRevocationList as exc:
            raise BadRevocationList(f"{path}: {exc}") from None
        revoked |= numbers
    return ring, frozenset(revoked)


def row_of(verdict: Verdict) -> list[str]:
    exp = (verdict.claims or {}).get("exp")
    return [verdict.verdict, verdict.reason or "", verdict.pass_no or "", local_iso(exp)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fk_epass_verify", description="Verify truck e-passes (货车电子通行证核验).")
    ap.add_argument("token", nargs="?", help="the QR text: a token or https://HOST/v#TOKEN")
    ap.add_argument("--in", dest="inp", type=Path, help="CSV with a token column (optional plate)")
    ap.add_argument("--out", type=Path, help="CSV to write with verdict,reason,pass_no,valid_until added")
    ap.add_argument("--plate", help="the plate seen on the vehicle")
    ap.add_argument("--at", help="check at this time (ISO 8601, Beijing time if naive; default now)")
    ap.add_argument("--keys", type=Path, required=True, help="JWK Set of trusted issuers' public keys")
    ap.add_argument("--revocations", type=Path, action="append", default=[], help="signed revocation list (repeat)")
    ap.add_argument("--json", action="store_true", help="print JSON (one token)")
    args = ap.parse_args(argv)
    if (args.token is None) == (args.inp is None) or (args.inp is not None) != (args.out is not None):
        ap.error("give a TOKEN, or --in FILE with --out FILE")
    try:
        at = parse_at(args.at)
    except ValueError:
        ap.error(f"--at: not a time: {args.at}")
    try:
        ring, revoked = load(args.keys, args.revocations)
    except (OSError, BadKeys, BadRevocationList) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.token is not None:
        verdict = verify(args.token, ring, at=at, revoked=revoked, plate=args.plate)
        if args.json:
            print(json.dumps({"verdict": verdict.verdict, "reason": verdict.reason, "label": verdict.label_zh,
                              "pass_no": verdict.pass_no, "valid_until": local_iso((verdict.claims or {}).get("exp")) or None,
                              "claims": verdict.claims}, ensure_ascii=False))
        else:
            print("\t".join([*row_of(verdict), verdict.label_zh]))
        return 0
    try:
        with args.inp.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = list(reader.fieldnames or [])
            if "token" not in fields:
                print(f"error: {args.inp}: no token column", file=sys.stderr)
                return 1
            lines = [(row, verify(row.get("token") or "", ring, at=at, revoked=revoked,
                                  plate=row.get("plate") or args.plate)) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"error: {args.inp}: {exc}", file=sys.stderr)
        return 1
    kept = [c for c in fields if c not in ADDED]
    with args.out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(kept + ADDED)
        for row, verdict in lines:
            w.writerow([row.get(c) or "" for c in kept] + row_of(verdict))
    valid = sum(v.valid for _r, v in lines)
    print(f"{len(lines)} passes: {valid} valid, {len(lines) - valid} invalid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
