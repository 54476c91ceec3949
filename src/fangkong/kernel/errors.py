"""Domain errors. Each carries its HTTP status and a stable code; one handler maps them for the API
(JSON `{"error": {"code", "message", "fields"}}`) and for pages (a toast)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


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


class NotFound(DomainError):
    def __init__(self, message: str = "not found") -> None:
        super().__init__(message, status=404, code="not_found")


class PermissionDenied(DomainError):
    def __init__(self, permission: str) -> None:
        super().__init__(f"permission required: {permission}", status=403, code="forbidden")
        self.permission = permission


class NotAuthenticated(DomainError):
    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(message, status=401, code="unauthenticated")


class ValidationFailed(DomainError):
    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message, fields or [], status=422, code="invalid")


class Conflict(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=409, code="conflict")
