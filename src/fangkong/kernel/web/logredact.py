"""No personal data or secrets in logs (日志脱敏): ID numbers, mobile numbers and bearer tokens are masked
in every log record the server writes — the access log's request line included, where a search by
phone or ID number puts them (`GET /persons?q=13812345678`).

Every log record is masked when it is made: `install()` wraps the logging record factory, so a record
of any logger (`fangkong.imports`, a library's) is masked whichever handler writes it — a filter on the
`fangkong` logger alone would miss its children's records, and Python's last-resort handler (what
prints a warning when nobody configured logging) has no filters at all. The filter is also attached
to the handlers uvicorn configured and to our own loggers, for records made before `install()`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: an 18-character ID number (17 digits + digit or X), a 15-digit first-generation one, a mobile
#: number (optionally +86/86-prefixed), our bearer tokens; digits adjacent to other digits are not matched
#: "not right after a digit or letter" — but a percent-escape (`%89`) before the number is a boundary too
_START = r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![0-9A-Za-z]))"
#: one separator inside a number typed in groups: a space, a dash, or a space as a query string writes it
_SEP = r"(?:[ +\-]|%20|%2[Dd])"
_PATTERNS = [
    (re.compile(_START + r"(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])"), r"\1********\2"),
    (re.compile(_START + r"(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])"), r"\1******\2"),
    (re.compile(r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![0-9]))((?:\+?86)?1[3-9]\d)\d{4}(\d{4})(?![0-9])"), r"\1****\2"),
    (re.compile(r"fk_[A-Za-z0-9_\-]{20,}"), "fk_[redacted]"),
    # typed in groups (`138 1234 5678`, `320483 19700101 1234`), spaces URL-encoded as `+` or `%20`
    (re.compile(r"(?<![0-9])((?:\+?86" + _SEP + r"?)?1[3-9]\d)" + _SEP + r"\d{4}" + _SEP + r"(\d{4})(?![0-9])"),
     r"\1****\2"),
    (re.compile(_START + r"(\d{6})" + _SEP + r"\d{8}" + _SEP + r"(\d{3}[0-9Xx])(?![0-9A-Za-z])"), r"\1********\2"),
]
# URL-encoded forms: "%2B86" prefixes and spaces do not hide a number
_ENCODED_PLUS = re.compile(r"%2B86", re.I)


def redact(text: str) -> str:
    out = _ENCODED_PLUS.sub("+86", text)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the record's message, arguments, traceback and stack in place (idempotent)."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_value(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redact_value(v) for k, v in record.args.items()}
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_FILTER = RedactFilter()
LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "fangkong", "sqlalchemy.engine")


class _RedactingFactory:
    """The record factory, wrapped: every record comes out masked (recognised, so never wrapped twice)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(self.inner(*args, **kwargs))


def install() -> None:
    """Mask every record at its making (the record factory), and attach the filter to the loggers that
    write requests and errors and to their handlers."""
    if not isinstance(logging.getLogRecordFactory(), _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
