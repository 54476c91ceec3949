"""Stable message codes with parameters (消息码), translated in catalogs.

Everything a person reads that code produces — a domain error, a field issue in an import report, a
toast — is a `Message`: a stable `code` (`id_number.check_digit`), its `params` (`{"expected": "7"}`)
and an English template that is also the catalog's msgid (`"check digit should be %(expected)s"`).

A `Message` *is* a `str` holding its English text, so machine formats (CSV reports, logs, the API's
`message`) keep the English wording other systems' scripts read, while every place that shows text to
a person calls `translate(value, locale)`, which looks the template up in the catalog and fills in the
parameters. No page ever pattern-matches English sentences back into codes.

Declare messages once, at module level, where they are raised:

    CHECK_DIGIT = message("id_number.check_digit", _("check digit should be %(expected)s"))
    ...
    issues.append(CHECK_DIGIT(expected="7"))
    raise NotFound(CASE_NOT_FOUND(id=case_id))

A parameter that is itself a `Message` (a label such as a category's name) is translated too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fangkong.kernel.i18n import translations


def _(template: str) -> str:
    """Marks a template for catalog extraction (the `_` keyword the i18n test extracts)."""
    return template


#: code → English template; codes are stable (scripts read them), templates may be reworded
REGISTRY: dict[str, str] = {}


class Message(str):
    """English text plus the stable code and parameters it was made from."""

    code: str
    template: str
    params: Mapping[str, Any]

    def __new__(cls, code: str, template: str, params: Mapping[str, Any] | None = None) -> Message:
        params = dict(params or {})
        text = template % {k: str(v) for k, v in params.items()} if params else template
        obj = super().__new__(cls, text)
        obj.code = code
        obj.template = template
        obj.params = params
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (multiprocessing, caches) keeps the code
        return (Message, (self.code, self.template, dict(self.params)))

    def translated(self, locale: str) -> str:
        text = translations(locale).gettext(self.template)
        if not self.params:
            return text
        return text % {k: translate(v, locale) if isinstance(v, str) else v for k, v in self.params.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message | str:
        """A stored `{"code", "params"}` back into a Message (plain text when the code is unknown)."""
        code = str(data.get("code", ""))
        template = REGISTRY.get(code)
        if template is None:
            return str(data.get("text", code))
        return cls(code, template, data.get("params") or {})

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": {k: str(v) if isinstance(v, Message) else v
                                              for k, v in self.params.items()}}


class MessageType:
    """A registered message: call it with the parameters to make a `Message`."""

    __slots__ = ("code", "template")

    def __init__(self, code: str, template: str) -> None:
        self.code = code
        self.template = template

    def __call__(self, **params: Any) -> Message:
        return Message(self.code, self.template, params)

    def __repr__(self) -> str:
        return f"MessageType({self.code!r})"


def message(code: str, template: str) -> MessageType:
    """Register `code` with its English `template` (also the msgid in the catalogs)."""
    known = REGISTRY.get(code)
    if known is not None and known != template:
        raise ValueError(f"message code {code!r} registered twice with different templates")
    REGISTRY[code] = template
    return MessageType(code, template)


def label(code: str, text: str) -> Message:
    """A label that is shown translated (a category's or a group's name) and reads as `text` in English."""
    message(code, text)
    return Message(code, text)


def translate(value: Any, locale: str) -> str:
    """What a person reading `locale` sees for `value`: a `Message` through its template, a plain string
    through the catalog (it may be a msgid), anything else as `str()`."""
    if isinstance(value, Message):
        return value.translated(locale)
    if isinstance(value, str):
        return translations(locale).gettext(value) if value else value
    return "" if value is None else str(value)


class FieldIssue(str):
    """`field: message` — one item of a report's `issues` column or of an API error's `fields`."""

    field: str
    message: str

    def __new__(cls, field: str, message: str) -> FieldIssue:
        obj = super().__new__(cls, f"{field}: {message}" if field else str(message))
        obj.field = field
        obj.message = message
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (FieldIssue, (self.field, self.message))

    @classmethod
    def parse(cls, value: str) -> FieldIssue:
        """A stored `field: message` string back into its parts (the message stays English text)."""
        if isinstance(value, FieldIssue):
            return value
        field, sep, rest = str(value).partition(": ")
        return cls(field, rest) if sep and field.replace("_", "").replace(".", "").isalnum() \
            and field.isascii() else cls("", str(value))


def issue(field: str, value: str) -> FieldIssue:
    return FieldIssue(field, value)


def translator(locale: str) -> Callable[[Any], str]:
    return lambda value: translate(value, locale)
