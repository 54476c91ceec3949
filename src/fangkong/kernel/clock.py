"""The one clock of the platform (时钟). Every due time, cut-off, job and decision asks it.

`FANGKONG_NOW` fixes it, but only in a database initialised in `test` or `drill` mode; production
ignores the variable (decisions.md, "Clock and modes").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from fangkong.kernel.messages import _, message

MODES = ("production", "test", "drill")

_mode: str = "production"
_frozen: dt.datetime | None = None


def configure(mode: str) -> None:
    """Tell the clock the database's mode (read at start-up from system_setting `mode`)."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    _mode = mode


def mode() -> str:
    return _mode


def tz() -> ZoneInfo:
    from fangkong.settings import get_settings

    return ZoneInfo(get_settings().timezone)


def now() -> dt.datetime:
    """Current time, aware, in UTC."""
    if _frozen is not None:
        return _frozen
    if _mode in ("test", "drill"):
        from fangkong.settings import get_settings

        fixed = get_settings().now
        if fixed:
            return parse_fixed(fixed)
    return dt.datetime.now(dt.UTC)


def parse_fixed(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz())
    return value.astimezone(dt.UTC)


def local_now() -> dt.datetime:
    return now().astimezone(tz())


def today() -> dt.date:
    """Today's date in the platform's time zone."""
    return local_now().date()


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(tz())


def iso_local(value: dt.datetime | None) -> str:
    """ISO 8601 local time with offset, as every export and API response gives it."""
    return "" if value is None else value.astimezone(tz()).isoformat(timespec="seconds")


#: the days the platform accepts (births from 1900, plans to 2999): near year 1 or 9999 the conversion
#: between local time and UTC overflows, so such input is refused as invalid instead
MIN_DAY, MAX_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
OUT_OF_RANGE = message("time.out_of_range", _("outside the years %(first)s to %(last)s"))


def check_day(day: dt.date, field: str = "day") -> dt.date:
    """`day` when it lies in [MIN_DAY, MAX_DAY]; a 422 naming `field` otherwise."""
    if MIN_DAY <= day <= MAX_DAY:
        return day
    from fangkong.kernel.errors import FieldError, ValidationFailed

    text = OUT_OF_RANGE(first=MIN_DAY.year, last=MAX_DAY.year)
    raise ValidationFailed(text, [FieldError(field, text)])


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day, in UTC (a day outside MIN_DAY..MAX_DAY is a 422)."""
    check_day(day)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz())
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


@contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Freeze the clock (tests only: the brief allows mocking the clock)."""
    global _frozen
    previous = _frozen
    _frozen = at if at.tzinfo else at.replace(tzinfo=tz())
    try:
        yield
    finally:
        _frozen = previous


# Times in files and API bodies (decisions.md, "Time").
_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s*(\d{1,2})[:时](\d{1,2})?(?:[:分](\d{1,2}))?秒?)?$")
_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$")
_DAY_ONLY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class BadTime(ValueError):
    pass


def parse_time(text: str) -> dt.datetime | None:
    """A time from a file or API body, aware UTC; naive times are local (`FANGKONG_TIMEZONE`).

    Accepts ISO 8601 (`T` or space, with or without seconds or offset), `YYYY/MM/DD HH:MM`,
    `YYYY年M月D日 H:MM`, Excel date cells (read as ISO by the table reader) and dates alone
    (midnight). Empty → None; anything else raises BadTime with a short message.
    """
    s = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not s:
        return None
    value: dt.datetime | None = None
    m = _CN_DATE.match(s) or _SLASH.match(s)
    try:
        if m:
            y, mo, d, hh, mm, ss = m.groups()
            value = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        else:
            iso = s.replace("Z", "+00:00")
            if _DAY_ONLY.match(iso):
                y, mo, d = iso.split("-")
                value = dt.datetime(int(y), int(mo), int(d))
            else:
                value = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise BadTime(f"not a date or time: {text!r}") from None
    if not MIN_DAY <= value.date() <= MAX_DAY:
        raise BadTime(f"outside the years {MIN_DAY.year} to {MAX_DAY.year}: {text!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz())
    return value.astimezone(dt.UTC)
