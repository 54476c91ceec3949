"""Domain errors. Each carries its HTTP status, a generic `code` (`not_found`, `invalid` …) and, when
its message is a `kernel.messages.Message`, a stable specific `reason` with parameters; one handler maps
them for the API (JSON `{"error": {"code", "reason", "params", "message", "fields"}}`) and for pages (a
toast in the reader's language)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fangkong.kernel.messages import Message, _, message

NOT_FOUND = message("not_found", _("not found"))
PERMISSION_REQUIRED = message("permission_required", _("permission required: %(permission)s"))
AUTHENTICATION_REQUIRED = message("authentication_required", _("authentication required"))


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
        super().__init__(PERMISSION_REQUIRED(permission=permission), status=403, code="forbidden")
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
