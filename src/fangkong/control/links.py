"""Signed check-in links (健康打卡短信链接): what the SMS to a person under a measure carries, so they
check in from their phone without an account.

A token is `{measure_id in base 36}.{signature}`: the first 15 bytes of HMAC-SHA256 over
`checkin:{measure_id}` with a sub-key of the platform's secret key (HKDF, `kernel.people.crypto`),
url-safe base64. Changing any character breaks it. How long it is good for is the database's answer
(`service.checkins.measure_for_link`): until 7 days after the measure's end, and only while the
measure takes check-ins. Pure functions, no database.
"""

from __future__ import annotations

import base64
import hmac
import re
from hashlib import sha256

from fangkong.kernel.people import crypto

SIG_BYTES = 15
_TOKEN = re.compile(r"^([0-9a-z]{1,13})\.([A-Za-z0-9_-]{20})$")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class BadLink(ValueError):
    """A link token that is malformed, or whose signature does not match."""


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def _signature(measure_id: int) -> str:
    mac = hmac.new(crypto.derive_key(b"checkin-link:v1"), f"checkin:{measure_id}".encode(), sha256).digest()
    return base64.urlsafe_b64encode(mac[:SIG_BYTES]).decode().rstrip("=")


def make_token(measure_id: int) -> str:
    if measure_id < 1:
        raise ValueError("measure ids start at 1")
    return f"{_b36(measure_id)}.{_signature(measure_id)}"


def verify_token(token: str) -> int:
    """The measure id of a well-formed token with a matching signature (constant-time); BadLink else."""
    m = _TOKEN.match((token or "").strip())
    if m is None:
        raise BadLink("malformed")
    measure_id = int(m.group(1), 36)
    if not 1 <= measure_id <= 2_147_483_647 or not hmac.compare_digest(m.group(2), _signature(measure_id)):
        raise BadLink("signature")
    return measure_id


def path_of(measure_id: int) -> str:
    """The link's path (`/c/{token}`); the SMS gateway prefixes the site's public address."""
    return f"/c/{make_token(measure_id)}"
