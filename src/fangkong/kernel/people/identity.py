"""Identity fields: GB 11643-1999 resident ID numbers, mainland mobile numbers, names.

Core helpers here; the full validators (regions, dates, 15-digit conversion, phone normalisation,
name keys) are built on them in this module.
"""

from __future__ import annotations

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def mask_id(value: str | None) -> str:
    """First 6 + `********` + last 4 (decisions.md)."""
    if not value:
        return ""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "********" + value[-4:]


def mask_phone(value: str | None) -> str:
    """First 3 + `****` + last 4 (decisions.md)."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]
