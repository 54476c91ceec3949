"""Domain errors. Each carries its HTTP status, a generic `code` (`not_found`, `invalid` …) and, when
its message is a `kernel.messages.Message`, a stable specific `reason` with parameters; one handler maps
them for the API (JSON `{"error": {"code", "reason", "params", "message", "fields"}}`) and for pages (a
toast in the reader's language)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fangkong.kernel.messages import Message, Term, _, labels, message

NOT_FOUND = message("not_found", _("not found"))
PERMISSION_REQUIRED = message("permission_required", _("permission required: %(permission)s"))
AUTHENTICATION_REQUIRED = message("authentication_required", _("authentication required"))
#: `lead 5 not found`: the record's label (a `Term` of the `record` labels) and its id
RECORD_NOT_FOUND = message("record.not_found", _("%(record)s %(id)s not found"))
INVALID_INPUT = message("invalid_input", _("invalid input"))
INTERNAL_ERROR = message("internal_error", _("internal error"))

# field messages every capability uses (a FieldError's message, an import report's issue)
REQUIRED = message("field.required", _("required"))
TIME_ZONE_REQUIRED = message("field.time_zone_required", _("a time zone is required"))
NOT_A_TIME = message("field.not_a_time", _("not a date or time"))
#: `not a date or time: '昨天'` (the text as given, quoted)
NOT_A_TIME_TEXT = message("time.invalid", _("not a date or time: %(text)s"))
TOO_LONG = message("field.too_long", _("at most %(max)s characters"))
REQUIRED_TOO_LONG = message("field.required_at_most", _("required, at most %(max)s characters"))
ONE_OF = message("field.one_of", _("one of %(choices)s"))
NOT_A_CURSOR = message("field.cursor", _("not a cursor from a previous page"))
INVALID_CURSOR = message("cursor.invalid", _("invalid cursor"))
INVALID_TIME = message("time.invalid_field", _("invalid time"))
INVALID_FILTER = message("filter.invalid", _("invalid filter"))
UNKNOWN_STATUS = message("status.unknown", _("unknown status"))
UNKNOWN_UNIT = message("unit.unknown", _("unknown unit %(code)s"))

# what a library's validation (Pydantic) says, by its error type: people read these, the API keeps the
# library's own English sentence
_TOO_LONG = message("field.string_too_long", _("at most %(max_length)s characters"))
_TOO_SHORT = message("field.string_too_short", _("at least %(min_length)s characters"))
_NOT_INT = message("field.not_an_integer", _("not a whole number"))
_NOT_NUMBER = message("field.not_a_number", _("not a number"))
_GE = message("field.too_small", _("at least %(ge)s"))
_LE = message("field.too_large", _("at most %(le)s"))
_GT = message("field.not_greater", _("greater than %(gt)s"))
_LT = message("field.not_less", _("less than %(lt)s"))
_PATTERN = message("field.pattern", _("not in the expected form"))
_CHOICE = message("field.not_a_choice", _("not one of the choices offered"))
_INVALID = message("field.invalid", _("invalid value"))
_PYDANTIC: dict[str, tuple[Any, tuple[str, ...]]] = {
    "missing": (REQUIRED, ()), "string_too_long": (_TOO_LONG, ("max_length",)),
    "string_too_short": (_TOO_SHORT, ("min_length",)), "int_parsing": (_NOT_INT, ()), "int_type": (_NOT_INT, ()),
    "int_from_float": (_NOT_INT, ()), "float_parsing": (_NOT_NUMBER, ()), "float_type": (_NOT_NUMBER, ()),
    "greater_than_equal": (_GE, ("ge",)), "less_than_equal": (_LE, ("le",)), "greater_than": (_GT, ("gt",)),
    "less_than": (_LT, ("lt",)), "string_pattern_mismatch": (_PATTERN, ()), "literal_error": (_CHOICE, ()),
    "enum": (_CHOICE, ()),
}


def library_message(error: Mapping[str, Any]) -> Message:
    """A Pydantic error as a Message: its English sentence kept, its type translated for people."""
    kind, names = _PYDANTIC.get(str(error.get("type")), (_INVALID, ()))
    ctx = error.get("ctx") or {}
    params = {n: ctx.get(n, "") for n in names}
    return Message.worded(kind.code, kind.template, params, str(error.get("msg", "invalid")))


#: what a record is called in "… not found" (capabilities add theirs)
labels("record", {"unit": _("unit"), "person": _("person"), "place": _("place"), "task": _("task"),
                  "user": _("user"), "token": _("token"), "api_token": _("token"), "address": _("address"),
                  "policy_pack": _("policy pack")})


def record_not_found(record: str, record_id: object) -> Message:
    """`lead 5 not found` in English (the API's message); 线索 5 不存在 for people."""
    return RECORD_NOT_FOUND(record=Term(record, kind="record"), id=record_id)


@dataclass
class FieldError:
    field: str
    message: str  # a Message where the code made it; plain text from a library (pydantic)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    @property
    def reason(self) -> str | None:
        return self.message.code if isinstance(self.message, Message) else None


@dataclass
class DomainError(Exception):
    message: str
    fields: list[FieldError] = field(default_factory=list)
    status: int = 400
    code: str = "bad_request"

    def __str__(self) -> str:
        if self.fields:
            return self.message + " (" + "; ".join(str(f) for f in self.fields) + ")"
        return self.message

    @property
    def reason(self) -> str | None:
        """The stable specific code of the message (`case.not_found`), when it has one."""
        return self.message.code if isinstance(self.message, Message) else None


class NotFound(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else NOT_FOUND(), status=404, code="not_found")


class PermissionDenied(DomainError):
    def __init__(self, permission: str) -> None:
        from fangkong.kernel.auth.roles import PERMISSIONS  # lazy: roles imports the tables

        # the API keeps the code (`permission required: case.view`); a person reads its description
        term = Term(permission, {"zh_CN": PERMISSIONS.get(permission)})
        super().__init__(PERMISSION_REQUIRED(permission=term), status=403, code="forbidden")
        self.permission = permission


class NotAuthenticated(DomainError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else AUTHENTICATION_REQUIRED(), status=401,
                         code="unauthenticated")


class ValidationFailed(DomainError):
    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message, fields or [], status=422, code="invalid")


class Conflict(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=409, code="conflict")
