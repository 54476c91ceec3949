"""No personal data or secrets in logs (日志脱敏): ID numbers, mobile numbers and bearer tokens are masked
in every log record the server writes — the access log's request line included, where a search by
phone or ID number puts them (`GET /persons?q=13812345678`).

A logging filter rewrites the record's message and arguments before any handler formats it. It is
attached to the handlers uvicorn configured and to our own loggers when the app is created.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: an 18-character ID number (17 digits + digit or X), a 15-digit first-generation one, a mobile
#: number (optionally +86/86-prefixed), our bearer tokens; digits adjacent to other digits are not matched
#: "not right after a digit or letter" — but a percent-escape (`%89`) before the number is a boundary too
_START = r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![0-9A-Za-z]))"
_PATTERNS = [
    (re.compile(_START + r"(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])"), r"\1********\2"),
    (re.compile(_START + r"(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])"), r"\1******\2"),
    (re.compile(r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![0-9]))((?:\+?86)?1[3-9]\d)\d{4}(\d{4})(?![0-9])"), r"\1****\2"),
    (re.compile(r"fk_[A-Za-z0-9_\-]{20,}"), "fk_[redacted]"),
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


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
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
        return True


_FILTER = RedactFilter()
LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "fangkong", "sqlalchemy.engine")


def install() -> None:
    """Attach the filter to the loggers that write requests and errors, and to their handlers."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
