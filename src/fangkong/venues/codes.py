"""Signed venue tokens (场所码签名): what a venue's QR code carries.

A token is `{key_version}.{place_id in base 36}.{signature}`, e.g. `1.2s.Qm9vW3Zr0FZ6U1dDbXhq`: short,
so the QR stays small (version 3–4 for a 60-character URL). The signature is the first 15 bytes of
HMAC-SHA256 over `venue:{version}:{place_id}` with a key derived per key version from the platform's
secret key by HKDF; changing any character of the token breaks it. Rotating a venue's code moves it to
the next key version and the database revokes the old token (`service/codes.py`), so old posters are
refused even though their signature is still well formed.

Pure functions, no database.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass
from hashlib import sha256

from fangkong.kernel.messages import _, message
from fangkong.kernel.people import crypto

MALFORMED = message("venue_code.malformed", _("malformed venue code"))
BAD_SIGNATURE = message("venue_code.bad_signature", _("venue code signature does not match"))

#: 120-bit signatures: forging one by guessing is out of reach, and the token stays short
SIG_BYTES = 15
_TOKEN = re.compile(r"^([1-9][0-9]{0,5})\.([0-9a-z]{1,13})\.([A-Za-z0-9_-]{20})$")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class BadToken(ValueError):
    """A venue token that is malformed or whose signature does not match (forged or altered)."""


def derive_key(purpose: bytes) -> bytes:
    """A sub-key of the platform's master key for `purpose` (see kernel.people.crypto)."""
    return crypto.derive_key(purpose)


def _key(version: int) -> bytes:
    return derive_key(b"venue-code:v%d" % version)


def _b36(n: int) -> str:
    if n < 0:
        raise ValueError("negative id")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def _signature(version: int, place_id: int) -> str:
    mac = hmac.new(_key(version), f"venue:{version}:{place_id}".encode(), sha256).digest()[:SIG_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_token(place_id: int, version: int) -> str:
    """The token for a venue at a key version."""
    if version < 1:
        raise ValueError("key versions start at 1")
    return f"{version}.{_b36(place_id)}.{_signature(version, place_id)}"


@dataclass(frozen=True)
class TokenInfo:
    place_id: int
    key_version: int


def extract_token(text: str) -> str:
    """The token inside what a scanner or a file gives: the token itself or the whole QR URL."""
    s = (text or "").strip()
    if "/v/" in s:
        s = s.rsplit("/v/", 1)[1]
    return s.split("?", 1)[0].split("#", 1)[0].strip("/ ")


def verify_token(text: str) -> TokenInfo:
    """Check a token's shape and signature (constant-time); BadToken when forged, altered or malformed.

    Whether the token is still the venue's current code is the database's answer
    (`service.codes.venue_for_token`)."""
    token = extract_token(text)
    m = _TOKEN.match(token)
    if m is None:
        raise BadToken(MALFORMED())
    version, place_id = int(m.group(1)), int(m.group(2), 36)
    if place_id < 1 or place_id > 2_147_483_647:
        raise BadToken(MALFORMED())
    if not hmac.compare_digest(m.group(3), _signature(version, place_id)):
        raise BadToken(BAD_SIGNATURE())
    return TokenInfo(place_id, version)
