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

Codes people never read raw — channels, statuses, place categories, field names — get labels:
`labels("channel", {"bigdata": _("Big-data push")})` registers them (code `label.channel.bigdata`), and
`label_of("channel", code)` / the Jinja filter `label` show them; names that live in data rather than
in catalogs (a policy pack's `name_zh`/`name_en`, a permission's description) are a `Term`.
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


def _english(value: Any) -> str:
    """A parameter in the English text: a list joined with commas."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _shown(value: Any, locale: str) -> Any:
    """A parameter as the reader sees it: Messages and text translated, lists joined the reader's way."""
    if isinstance(value, list | tuple):
        return ("、" if locale != "en" else ", ").join(translate(v, locale) for v in value)
    return translate(value, locale) if isinstance(value, str) else value


class Message(str):
    """English text plus the stable code and parameters it was made from."""

    code: str
    template: str
    params: Mapping[str, Any]

    def __new__(cls, code: str, template: str, params: Mapping[str, Any] | None = None) -> Message:
        params = dict(params or {})
        text = template % {k: _english(v) for k, v in params.items()} if params else template
        obj = super().__new__(cls, text)
        obj.code = code
        obj.template = template
        obj.params = params
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (multiprocessing, caches) keeps the code
        return (Message, (self.code, self.template, dict(self.params)))

    @classmethod
    def worded(cls, code: str, template: str, params: Mapping[str, Any], text: str) -> Message:
        """A message whose English text is someone else's sentence (a library's validation message,
        kept word for word in the API) while people read `template` translated."""
        obj = str.__new__(cls, text)
        obj.code, obj.template, obj.params = code, template, dict(params)
        return obj

    def translated(self, locale: str) -> str:
        text = translations(locale).gettext(self.template)
        if not self.params:
            return text
        return text % {k: _shown(v, locale) for k, v in self.params.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message | str:
        """A stored `{"code", "params"}` back into a Message (plain text when the code is unknown)."""
        code = str(data.get("code", ""))
        template = REGISTRY.get(code)
        if template is None:
            return str(data.get("text", code))
        return cls(code, template, data.get("params") or {})

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": {k: str(v) if isinstance(v, Message) else
                                              [str(x) for x in v] if isinstance(v, list | tuple) else v
                                              for k, v in self.params.items()}}

    def stored(self) -> dict[str, Any]:
        """What a table keeps (a lead's issues): code, params (labels kept as their codes) and the
        English text, so a reader without the code still has the words."""
        params: dict[str, Any] = {}
        for k, v in self.params.items():
            if isinstance(v, Term):
                params[k] = {"term": str(v), "names": dict(v.names), "kind": v.kind}
            elif isinstance(v, list | tuple):
                params[k] = [x.stored() if isinstance(x, Message) else str(x) for x in v]
            elif isinstance(v, Message):
                params[k] = {"code": v.code, "params": v.stored()["params"]}
            else:
                params[k] = v if isinstance(v, int | float | bool) or v is None else str(v)
        return {"code": self.code, "params": params, "text": str(self)}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Message | str:
        """`stored()` read back (unknown codes: the stored English text)."""
        code = str(data.get("code", ""))
        if code == "joined":
            items = (data.get("params") or {}).get("items") or []
            return Joined([cls.from_stored(i) if isinstance(i, Mapping) else str(i) for i in items])
        template = REGISTRY.get(code)
        if template is None:
            return str(data.get("text", code))
        params: dict[str, Any] = {}
        for k, v in (data.get("params") or {}).items():
            if isinstance(v, Mapping) and "term" in v:
                params[k] = Term(str(v["term"]), dict(v.get("names") or {}), v.get("kind"))
            elif isinstance(v, list):
                params[k] = [cls.from_stored(x) if isinstance(x, Mapping) else x for x in v]
            elif isinstance(v, Mapping) and "code" in v:
                params[k] = cls.from_stored(v)
            else:
                params[k] = v
        return cls(code, template, params)


class Term(Message):
    """A code shown as a name. It reads as its code (machines, the API's English message) and shows as
    the name of the reader's language: from `names` (names that live in data — a policy pack's
    `name_zh`/`name_en`, a permission's description) or from the label set `kind` (catalog labels)."""

    names: Mapping[str, str]
    kind: str | None

    def __new__(cls, code: str, names: Mapping[str, str | None] | None = None, kind: str | None = None) -> Term:
        obj = super().__new__(cls, "term", str(code))
        obj.names = {k: v for k, v in (names or {}).items() if v}
        obj.kind = kind
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Term, (str(self), dict(self.names), self.kind))

    def translated(self, locale: str) -> str:
        if self.kind is not None:
            found = label_of(self.kind, str(self))
            if isinstance(found, Message):
                return found.translated(locale)
        return self.names.get(locale) or self.names.get("en" if locale == "en" else "zh_CN") or str(self)


class Joined(Message):
    """Several messages as one (`check digit should be 7; region 990101 is not a known region code`)."""

    def __new__(cls, items: list[str] | tuple[str, ...], sep: str = "; ") -> Joined:
        obj = str.__new__(cls, sep.join(str(i) for i in items))
        obj.code, obj.template, obj.params = "joined", "%(items)s", {"items": list(items)}
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Joined, (list(self.params["items"]),))

    def translated(self, locale: str) -> str:
        return ("；" if locale != "en" else "; ").join(translate(i, locale) for i in self.params["items"])


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


#: kind → code → label (`channel` → `bigdata` → "Big-data push")
LABELS: dict[str, dict[str, Message]] = {}


def labels(kind: str, entries: Mapping[str, str]) -> dict[str, Message]:
    """Register the labels of a set of codes; each is the message `label.kind.code` with its English text as
    the msgid. Capabilities register theirs at import, so kernel pages can label codes they don't own."""
    made = {code: label(f"label.{kind}.{code}", text) for code, text in entries.items()}
    LABELS.setdefault(kind, {}).update(made)
    return made


def named_labels(kind: str, names: Mapping[str, str | tuple[str, str]]) -> dict[str, Term]:
    """Register labels whose names live in data rather than in catalogs: code → Chinese name, or
    (Chinese, English). Without an English name, English readers see the code in words."""
    made = {}
    for code, name in names.items():
        zh, en = name if isinstance(name, tuple) else (name, code.replace("_", " ").capitalize())
        made[code] = Term(code, {"zh_CN": zh, "en": en})
    LABELS.setdefault(kind, {}).update(made)
    return made


def label_of(kind: str, code: Any) -> Message | str:
    """The label of `code` in the set `kind`; the code itself when it has none (None → "")."""
    if code is None or code == "":
        return ""
    return LABELS.get(kind, {}).get(str(code), str(code))


def field_label(name: str, locale: str) -> str:
    """A field name as a person reads it: `id_number` → 身份证号; a path (`items.2.phone`) label by label,
    positions as 1-based item numbers. A name or path with a part nobody labelled stays as it is: it
    locates something in a file the reader edits (`key_groups.0.frequency_days` in a policy pack)."""
    known = LABELS.get("field", {})
    segments = str(name).split(".")
    if any(not (seg.isascii() and seg.isdigit()) and seg not in known for seg in segments):
        return str(name)
    parts = []
    for seg in segments:
        if seg.isascii() and seg.isdigit():
            n = int(seg) + 1
            parts.append(f"第 {n} 项" if locale != "en" else f"item {n}")
        else:
            parts.append(translate(known[seg], locale))
    return " › ".join(parts)


def translate(value: Any, locale: str) -> str:
    """What a person reading `locale` sees for `value`: a `Message` through its template, a plain string
    through the catalog (it may be a msgid), anything else as `str()`."""
    if isinstance(value, Message):
        return value.translated(locale)
    if isinstance(value, FieldIssue):
        if not value.field:
            return translate(value.message, locale)
        colon = "：" if locale != "en" else ": "
        return field_label(value.field, locale) + colon + translate(value.message, locale)
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


def reason_of(exc: BaseException) -> str:
    """What an exception says, as the Message it was raised with when it was (`BadTime(NOT_A_TIME…)`),
    so the reader's language survives `except … as exc`; else its text."""
    found = getattr(exc, "message", None)
    if isinstance(found, str):
        return found
    if exc.args and isinstance(exc.args[0], Message):
        return exc.args[0]
    return str(exc)


def issue_stored(value: str) -> dict[str, Any] | str:
    """A report issue as a table keeps it: `{"field", "code", "params", "text"}` when a Message made it,
    the plain `field: message` text otherwise."""
    if isinstance(value, FieldIssue) and isinstance(value.message, Message):
        return {"field": value.field, **value.message.stored()}
    return str(value)


def issue_loaded(value: Any) -> FieldIssue:
    """A stored issue back: a dict through its code, an older plain string as `field: message` text."""
    if isinstance(value, Mapping):
        return FieldIssue(str(value.get("field") or ""), Message.from_stored(value))
    return FieldIssue.parse(value if isinstance(value, FieldIssue) else str(value))


def translator(locale: str) -> Callable[[Any], str]:
    return lambda value: translate(value, locale)
