"""Password hashing (口令哈希) with argon2id, throttled so a burst of logins cannot exhaust memory.

argon2-cffi's defaults (argon2id, 64 MiB, t=3, p=4) cost ~90 ms and 64 MiB per hash or verify
(libraries.md). A process-wide semaphore lets at most two run at once: twenty simultaneous logins
queue for ~1 s instead of asking for 1.3 GiB.
"""

from __future__ import annotations

import secrets
import threading
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: at most this many hashes in flight in the process (each takes 64 MiB)
MAX_CONCURRENT_HASHES = 2

_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


def hash_password(password: str) -> str:
    """An argon2id hash string (salt and parameters included)."""
    with _slots:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or a malformed hash (never raises)."""
    with _slots:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with other parameters than today's: rehash after a successful login."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(24))


def burn_verify(password: str) -> None:
    """Spend the time a real verify would, for an unknown user, so timing does not reveal who exists."""
    verify_password(_dummy_hash(), password)


# Readable generated passwords: consonant-vowel syllables without look-alikes (l/1, o/0), joined by
# dashes, ending in digits. 3 words of 2 syllables + 4 digits ≈ 49 bits; long enough for a first
# password that the user is asked to change, easy to read out over the phone.
_CONSONANTS = "bcdfghjkmnprstvwxz"
_VOWELS = "aeiu"


def generate_password(words: int = 3) -> str:
    """A random, readable password such as `kabu-mevi-tasu-4821` (≥ 12 characters)."""
    parts = [
        "".join(secrets.choice(_CONSONANTS) + secrets.choice(_VOWELS) for _ in range(2)) for _ in range(words)
    ]
    return "-".join(parts) + "-" + "".join(secrets.choice("23456789") for _ in range(4))
