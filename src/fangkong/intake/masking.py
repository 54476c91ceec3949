"""Masking a lead's raw payload for display (原始数据脱敏): ID and phone numbers hidden, dates and times
never touched.

A field whose name says it holds an ID or phone number (身份证号, 手机, 联系电话, phone …) has every
number in it masked, valid or not (a mistyped ID is still somebody's ID). In any other field only a
number that has the shape of a person's identifier is masked: an 18- or 15-digit ID number whose
region and birth date are plausible, a mobile number (`1[3-9]` + 9 digits, written whole or 3-4-4),
or a landline with its area code. Nothing else is: flight numbers, references, and above all dates
and times in any of the forms files use (`2022-04-18 09:00:00`, `20220418090000`, epoch seconds) stay
readable. Pure functions: no session, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fangkong.kernel.tabular import header_key

#: the first two digits of every province-level region code (GB/T 2260): no date or time starts like
#: an ID number, since 19xx and 20xx are not provinces
_PROVINCES = ("11|12|13|14|15|21|22|23|31|32|33|34|35|36|37|41|42|43|44|45|46|50|51|52|53|54|61|62|63|64|65"
              "|71|81|82")
_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[12]\d|3[01])"
_ID18 = rf"(?:{_PROVINCES})\d{{4}} ?(?:19|20)\d{{2}}{_MONTH}{_DAY} ?\d{{3}}[\dXx]"
_ID15 = rf"(?:{_PROVINCES})\d{{4}}\d{{2}}{_MONTH}{_DAY}\d{{3}}"
_MOBILE = r"1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}"
_PREFIX = r"(?:\+86|0086|86)[ \-]?"
#: area code and local number with a separator, or 11–12 digits written whole
_LANDLINE = r"0\d{2,3}[ \-]\d{3,4}[ \-]?\d{4}|0\d{10,11}"

_CANDIDATE = re.compile(
    rf"(?<![0-9A-Za-z])(?:(?P<id>{_ID18}|{_ID15})|(?P<prefix>{_PREFIX})?(?P<mobile>{_MOBILE})"
    rf"|(?P<landline>{_LANDLINE}))(?![0-9A-Za-z])"
)
#: in an ID or phone field, any other run of 5+ digits (single spaces or dashes inside) is hidden too
_DIGIT_RUN = re.compile(r"(?<![0-9*])[0-9](?:[ \-]?[0-9]){4,}(?:[Xx](?![A-Za-z]))?(?![0-9*])")
#: yyMMddHHmmss: a 12-digit time starting with 0 (years 2000–2009) is not a landline
_TIME12 = re.compile(rf"\d{{2}}{_MONTH}{_DAY}(?:[01]\d|2[0-3])[0-5]\d[0-5]\d")

_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－", "0123456789Xx+-")

#: words in a field's name that say it holds an ID or phone number (compared after `header_key`)
_IDENTITY_WORDS = ("身份证", "证件号", "证件号码", "公民身份号码", "护照", "手机", "电话", "联系方式", "手机号",
                   "phone", "mobile", "telephone", "idnumber", "idno", "idcard", "identitynumber", "passport")
_IDENTITY_KEYS = {"id", "tel", "cell", "号码"}
#: …unless the name says it is a time or a date (联系电话登记时间)
_TIME_WORDS = ("时间", "日期", "time", "date", "at")


def is_identity_field(name: str) -> bool:
    """True when a column name says it holds an ID or phone number (Chinese or English)."""
    key = header_key(str(name))
    if not key:
        return False
    if key in _IDENTITY_KEYS:
        return True
    if any(key.endswith(w) for w in _TIME_WORDS):
        return False
    return any(w in key for w in _IDENTITY_WORDS)


def _digits(text: str) -> str:
    return re.sub(r"[ \-]", "", text)


def _hide(digits: str) -> str:
    """An ID keeps its first 6 and last 4, anything shorter its first 3 and last 4 (decisions.md)."""
    if len(digits) >= 15:
        keep = 6
    elif len(digits) >= 8:
        keep = 3
    else:
        return "*" * max(0, len(digits) - 2) + digits[-2:]
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def _mask_candidate(m: re.Match[str]) -> str:
    if m.group("id"):
        return _hide(_digits(m.group("id")).upper())
    if m.group("mobile"):
        return (m.group("prefix") or "") + _hide(_digits(m.group("mobile")))
    number = m.group("landline")
    if len(number) == 12 and _TIME12.fullmatch(number):
        return number
    return _hide(_digits(number))


def mask_text(text: str, *, identity_field: bool = False) -> str:
    """`text` with ID and phone numbers masked; in an identity field every other run of 5+ digits too.
    Full-width digits are read (and shown) as ASCII digits."""
    if not text:
        return text
    text = text.translate(_FULLWIDTH)
    shown = _CANDIDATE.sub(_mask_candidate, text)
    if identity_field:
        shown = _DIGIT_RUN.sub(lambda m: _hide(_digits(m.group(0)).upper()), shown)
    return shown


def masked_payload(payload: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The raw payload as shown on the lead page: (field, text) pairs in the order received."""
    return [(str(k), mask_text("" if v is None else str(v), identity_field=is_identity_field(str(k))))
            for k, v in (payload or {}).items()]
