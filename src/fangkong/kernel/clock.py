"""The one clock of the platform (时钟). Every due time, cut-off, job and decision asks it.

`FANGKONG_NOW` fixes it, but only in a database initialised in `test` or `drill` mode; a production
database refuses to start with the variable set (`bootstrap.load_mode`, called by `serve`, the app
factory, the scheduler's jobs and every command's unit of work; decisions.md, "Clock and modes").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, WithJsonSchema

from fangkong.kernel.errors import NOT_A_TIME_TEXT
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
OUT_OF_RANGE_TEXT = message("time.out_of_range_text", _("outside the years %(first)s to %(last)s: %(text)s"))


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


# Times in files, forms and API bodies (decisions.md, "Time"): the platform's one time parser.
_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s*(\d{1,2})[:时](\d{1,2})?(?:[:分](\d{1,2}))?秒?)?$")
_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$")
_DAY_ONLY = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")

#: how people read a time (page cells, XLSX exports): local, to the minute
LOCAL_MINUTE = "%Y-%m-%d %H:%M"


class BadTime(ValueError):
    pass


def parse_time(text: str | dt.datetime | dt.date | None) -> dt.datetime | None:
    """A time from a file, form or API body as aware UTC; naive times are local (`FANGKONG_TIMEZONE`).

    Accepts ISO 8601 (`T` or space, with or without seconds or offset), `YYYY/MM/DD HH:MM`,
    `YYYY年M月D日 H:MM`, Excel date cells (read as ISO by the table reader, or given as `datetime` /
    `date`) and dates alone (midnight). Empty → None; anything else raises BadTime with a short message.
    """
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, dt.date):
        value = dt.datetime.combine(text, dt.time(0))
    else:
        s = " ".join(unicodedata.normalize("NFKC", text or "").split())
        if not s:
            return None
        m = _CN_DATE.match(s) or _SLASH.match(s)
        try:
            if m:
                y, mo, d, hh, mm, ss = m.groups()
                value = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
            elif _DAY_ONLY.match(s):
                y, mo, d = s.split("-")
                value = dt.datetime(int(y), int(mo), int(d))
            else:
                value = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            raise BadTime(NOT_A_TIME_TEXT(text=repr(text))) from None
    if not MIN_DAY <= value.date() <= MAX_DAY:
        raise BadTime(OUT_OF_RANGE_TEXT(first=MIN_DAY.year, last=MAX_DAY.year, text=repr(text)))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz())
    return value.astimezone(dt.UTC)


def format_local(value: dt.datetime | None, fmt: str = LOCAL_MINUTE) -> str:
    """An aware time as people read it: local, `2022-04-18 09:00` ('' for None)."""
    return "" if value is None else value.astimezone(tz()).strftime(fmt)


def _pydantic_time(value: Any) -> dt.datetime | None:
    if isinstance(value, str) and len(value) > 64:
        raise ValueError("at most 64 characters")
    if value is not None and not isinstance(value, str | dt.date):  # a JSON number, list or object
        raise ValueError(str(NOT_A_TIME_TEXT(text=type(value).__name__)))
    try:
        return parse_time(value)
    except BadTime as exc:
        raise ValueError(str(exc)) from None


#: The time type of API bodies: the same shapes as files and forms (`parse_time`), aware UTC after
#: validation; a bad value is a 422 naming the field. Batch items keep their times as text and parse
#: them per item with `parse_time`, so one bad item is rejected in the report, not the whole batch.
LocalTime = Annotated[
    dt.datetime,
    BeforeValidator(_pydantic_time),
    WithJsonSchema({"type": "string", "examples": ["2022-04-18T09:00:00+08:00", "2022-04-18 09:00",
                                                   "2022/4/18 9:00", "2022年4月18日 9:00"]}),
]
