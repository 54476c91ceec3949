"""Identity fields (身份信息): GB 11643-1999 resident ID numbers, mainland mobile numbers, names.

Pure functions, no database: every channel (imports, forms, the API, the synthetic city) normalises
and validates through them, so one row means the same thing wherever it arrives (decisions.md,
"Identity fields"). The validators are hand-written: python-stdnum's `cn.ric.validate` rejects most
older people's cards and phonenumbers rejects whole real prefixes (libraries.md); both rules are a few
lines here and 10–20× faster.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from operator import mul
from typing import Any

from fangkong.kernel.chinese import to_simplified, to_simplified_many
from fangkong.kernel.messages import Message, _, message
from fangkong.kernel.people import regions

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


#: sum of the weights times ord('0'): subtracted when weighting the ASCII codes directly
_ZERO_SUM = 48 * sum(_WEIGHTS)


def _check_char(s: str) -> str:
    """`id_check_digit` on the first 17 ASCII digits of `s`, 1.5× faster (bulk loads call it a lot)."""
    return _CHECK[(sum(map(mul, s.encode("ascii"), _WEIGHTS)) - _ZERO_SUM) % 11]


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


def _text(raw: Any) -> str:
    """NFKC text of a cell; ASCII text (the usual case) skips the normaliser."""
    s = raw if isinstance(raw, str) else str(raw)
    return s if s.isascii() else unicodedata.normalize("NFKC", s)


# -------------------------------------------------------------------------------------- ID numbers

#: earliest birth date we accept: nobody alive was born earlier, so an earlier one is a typo
MIN_BIRTH = dt.date(1900, 1, 1)
#: Excel keeps 15 significant digits of a number: more than that were lost
_EXCEL_DIGITS = 15
EXCEL_NUMBER = message("identity.excel_number", _("typed as a number in Excel: digits lost"))
MSG_EXCEL_NUMBER = EXCEL_NUMBER()
NOT_AN_ID = message("id_number.not_an_id", _("not an ID number"))
BIRTH_DATE_INVALID = message("id_number.birth_date_invalid", _("birth date %(date)s does not exist"))
BIRTH_DATE_FUTURE = message("id_number.birth_date_future", _("birth date is in the future"))
BIRTH_DATE_EARLY = message("id_number.birth_date_early", _("birth date %(date)s is before %(year)s"))
ID_LENGTH = message("id_number.length", _("should be 18 characters (got %(length)s)"))
ID_SHAPE = message("id_number.shape", _("should be 17 digits and a final digit or X"))
CHECK_DIGIT = message("id_number.check_digit", _("check digit should be %(expected)s"))
REGION_UNKNOWN = message("id_number.region", _("region %(region)s is not a known region code"))
ID_CONVERTED = message("id_number.converted", _("15-digit number converted to 18 digits"))
#: a row without an ID number or a phone (a row of a channel that gives nothing else to match on)
NO_KEY = message("person.no_key", _("nothing to find the person by (no ID number, no phone)"))
NO_VALID_KEY = message("person.no_valid_key", _("no valid phone or ID number to find the person by"))

_SCIENTIFIC = re.compile(r"^[0-9]+(\.[0-9]+)?E[+-]?[0-9]+$")
_DIGITS_DOT_ZERO = re.compile(r"^([0-9]+)\.0+$")
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_FAST = re.compile(r"^[0-9]{17}[0-9Xx]$")


@dataclass(frozen=True)
class IdNumberCheck:
    """The verdict on one resident ID number (身份证号校验). `value` is the normalised number, kept
    even when invalid (it can be stored and shown, never used as a match key). Derived fields are
    filled only for valid numbers."""

    value: str
    valid: bool
    issues: tuple[Message, ...]
    converted: bool = False
    birth_date: dt.date | None = None
    sex: str | None = None  # "M" / "F"
    region_code: str | None = None
    region_name: str | None = None


def _number_cell(raw: float | int) -> IdNumberCheck | str:
    """A number cell: a whole value of at most 15 digits is intact (a first-generation number);
    anything longer lost its last digits in Excel's double."""
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")) or not raw.is_integer():
            return IdNumberCheck(repr(raw), False, (MSG_EXCEL_NUMBER,))
        raw = int(raw)
    digits = str(abs(raw))
    if len(digits) > _EXCEL_DIGITS:
        return IdNumberCheck(digits, False, (MSG_EXCEL_NUMBER,))
    return digits


def _normalise_id(raw: Any) -> IdNumberCheck | str | None:
    """Normalised text of an ID cell, None when blank, or a finished verdict for an Excel number."""
    if raw is None or isinstance(raw, bool):
        return None if raw is None else IdNumberCheck(str(raw), False, (NOT_AN_ID(),))
    if isinstance(raw, int | float):
        return _number_cell(raw)
    s = "".join(_text(raw).split()).upper()
    if s.startswith("'"):  # Excel's "keep as text" apostrophe, pasted through
        s = s[1:]
    if not s:
        return None
    if _SCIENTIFIC.match(s):
        return IdNumberCheck(s, False, (MSG_EXCEL_NUMBER,))
    m = _DIGITS_DOT_ZERO.match(s)
    if m:  # a number cell written out as text: intact only up to 15 digits
        if len(m.group(1)) > _EXCEL_DIGITS:
            return IdNumberCheck(s, False, (MSG_EXCEL_NUMBER,))
        s = m.group(1)
    return s


def _birth_issue(ymd: str, today: dt.date) -> tuple[dt.date | None, Message | None]:
    try:
        born = dt.date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
    except ValueError:
        return None, BIRTH_DATE_INVALID(date=ymd)
    if born > today:
        return born, BIRTH_DATE_FUTURE()
    if born < MIN_BIRTH:
        return born, BIRTH_DATE_EARLY(date=ymd, year=MIN_BIRTH.year)
    return born, None


def check_id_number(raw: object, *, today: dt.date | None = None) -> IdNumberCheck | None:
    """Normalise and validate a resident ID number (GB 11643-1999); None when the cell is blank.

    Valid = 18 characters, MOD 11-2 check digit, a real birth date (1900 … today), a region prefix
    that exists or existed in GB/T 2260. A 15-digit first-generation number is converted (insert
    `19`, compute the check digit) and flagged `converted`. An ID that went through an Excel number
    cell (a float, scientific notation, more than 15 digits followed by `.0`) is flagged as such.
    """
    if type(raw) is str and _ID_FAST.match(raw):  # the usual case: nothing to normalise
        s = raw.upper() if raw[-1] == "x" else raw
    else:
        norm = _normalise_id(raw)
        if norm is None or isinstance(norm, IdNumberCheck):
            return norm
        s = norm
    converted = False
    if len(s) == 15 and s.isdigit():
        first17 = s[:6] + "19" + s[6:]
        s18 = first17 + _check_char(first17)
        converted = True
    elif len(s) != 18:
        return IdNumberCheck(s, False, (ID_LENGTH(length=len(s)),))
    elif not _ID_SHAPE.match(s):
        return IdNumberCheck(s, False, (ID_SHAPE(),))
    else:
        s18 = s
    issues: list[Message] = []
    expected = _check_char(s18)
    if s18[17] != expected:
        issues.append(CHECK_DIGIT(expected=expected))
    if today is None:
        from fangkong.kernel import clock

        today = clock.today()
    born, issue = _birth_issue(s18[6:14], today)
    if issue:
        issues.append(issue)
    code = s18[:6]
    if not regions.is_known_region(code):
        issues.append(REGION_UNKNOWN(region=code))
    if issues:
        # a 15-digit number that does not convert cleanly is kept as written
        return IdNumberCheck(s, False, tuple(issues))
    return IdNumberCheck(
        s18, True, (), converted=converted, birth_date=born,
        sex="M" if int(s18[16]) % 2 else "F", region_code=code, region_name=regions.region_name(code),
    )


def check_id_numbers(raws: Iterable[object], *, today: dt.date | None = None) -> list[IdNumberCheck | None]:
    """`check_id_number` for a batch, reading the clock once."""
    if today is None:
        from fangkong.kernel import clock

        today = clock.today()
    return [check_id_number(r, today=today) for r in raws]


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    """Whole years of age on `day` (None without a birth date)."""
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


# ---------------------------------------------------------------------------------- mobile numbers

MSG_MASKED = message("phone.masked", _("masked number"))()
MSG_EXTRA_TEXT = message("phone.extra_text", _("extra text ignored"))()
MSG_SEVERAL = message("phone.several", _("several numbers; the first was used"))()
PHONE_LANDLINE = message("phone.landline", _("a landline number, not a mobile"))
PHONE_LENGTH = message("phone.length", _("should be 11 digits (got %(length)s)"))
PHONE_PREFIX = message("phone.prefix", _("a mobile number starts with 13 to 19"))
PHONE_NO_NUMBER = message("phone.no_number", _("no number found"))

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
#: characters a number may be written with: digits, spaces, dashes, brackets, a leading +
_NUMBERISH = re.compile(r"[0-9+][0-9 \-()\[\]]*[0-9]")
_DROP = str.maketrans("", "", " \t\r\n-()[]+")
_MASKED = re.compile(r"[0-9]{3}\*{3,}[0-9]{3,4}")


@dataclass(frozen=True)
class PhoneCheck:
    """The verdict on one mobile number (手机号校验); `value` is the normalised number."""

    value: str
    valid: bool
    issues: tuple[Message, ...]


def _strip_prefix(digits: str) -> str:
    if len(digits) == 15 and digits.startswith("0086"):
        return digits[4:]
    if len(digits) == 13 and digits.startswith("86"):
        return digits[2:]
    return digits


def _phone_issue(digits: str) -> Message:
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        return PHONE_LANDLINE()
    if len(digits) != 11:
        return PHONE_LENGTH(length=len(digits))
    return PHONE_PREFIX()


def _split_run(digits: str) -> list[str]:
    """Digits of several mobiles written one after another with only spaces between them."""
    if len(digits) > 11 and len(digits) % 11 == 0:
        parts = [digits[i:i + 11] for i in range(0, len(digits), 11)]
        if all(_MOBILE.match(p) for p in parts):
            return parts
    return [digits]


def check_phone(raw: object) -> PhoneCheck | None:
    """Normalise and validate a mainland mobile number; None when the cell is blank.

    Drops spaces, dashes, brackets and a +86/0086/86 prefix; valid = `1[3-9]` and 9 more digits (no
    operator tables: they change and stale tables lose real people). Excel traps are handled and
    reported: a float cell, an already-masked number, a note beside the number, several numbers.
    """
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    s = _text(raw).strip()
    if not s:
        return None
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    elif _SCIENTIFIC.match(s.upper()):
        return PhoneCheck(s, False, (MSG_EXCEL_NUMBER,))
    plain = s.translate(_DROP)
    if plain.isdigit():  # the usual case: only digits and separators
        digits = _split_run(_strip_prefix(plain))
        first = digits[0]
        if _MOBILE.match(first):
            return PhoneCheck(first, True, (MSG_SEVERAL,) if len(digits) > 1 else ())
        return PhoneCheck(first, False, (_phone_issue(first),))
    masked = _MASKED.search(s)
    if masked:
        return PhoneCheck(masked.group(0), False, (MSG_MASKED,))
    runs = [d for m in _NUMBERISH.finditer(s) for d in _split_run(_strip_prefix(m.group(0).translate(_DROP)))]
    runs = [d for d in runs if len(d) >= 7] or runs
    if not runs:
        return PhoneCheck(s[:32], False, (PHONE_NO_NUMBER(),))
    mobiles = [d for d in runs if _MOBILE.match(d)]
    if not mobiles:
        return PhoneCheck(runs[0], False, (_phone_issue(runs[0]),))
    return PhoneCheck(mobiles[0], True, (MSG_SEVERAL if len(runs) > 1 else MSG_EXTRA_TEXT,))


# -------------------------------------------------------------------------------------------- names

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
#: middle-dot variants in transliterated names (买买提·艾力): one form for comparison
_DOTS = str.maketrans({c: "·" for c in "•‧∙・･.．"})


def clean_name(raw: object) -> str | None:
    """A name for display (姓名): NFKC, trimmed; inner whitespace removed in Chinese names, collapsed
    to one space otherwise. None when blank. Traditional characters are kept as written."""
    if raw is None:
        return None
    parts = _text(raw).split()
    if not parts:
        return None
    s = " ".join(parts)
    return s.replace(" ", "") if _CJK.search(s) else s


def _key_base(raw: object) -> str | None:
    if raw is None:
        return None
    s = "".join(_text(raw).split())
    return s.translate(_DOTS) or None


def name_key(raw: object) -> str | None:
    """The comparison form of a name: NFKC, no whitespace (incl. U+3000), traditional → simplified
    (OpenCC t2s), case-folded, one middle dot; so 陳 偉 and 陈伟 compare equal. None when blank."""
    s = _key_base(raw)
    if s is None:
        return None
    return to_simplified(s).casefold()


def name_keys(names: list[Any]) -> list[str | None]:
    """`name_key` for a batch: one OpenCC call for all names (about 2× faster than one call each)."""
    bases = [_key_base(n) for n in names]
    converted = iter(to_simplified_many([b for b in bases if b is not None]))
    return [None if b is None else next(converted).casefold() for b in bases]
