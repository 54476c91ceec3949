"""Pydantic shapes of the kernel's JSON API (/api/v1), so the OpenAPI document says what clients get.

Times are local ISO 8601 with offset (decisions.md, "Time"); ID and phone numbers are masked
everywhere except the answer of an explicit unmask.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = []


class ErrorOut(BaseModel):
    """Every error answer: `{"error": {"code", "message", "fields"}}`."""

    error: ErrorDetail


#: documented on every route so clients see the error shape
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No or invalid credentials"},
    403: {"model": ErrorOut, "description": "Permission missing"},
    404: {"model": ErrorOut, "description": "Not found or outside the caller's jurisdiction"},
    422: {"model": ErrorOut, "description": "Invalid input, with field-level messages"},
}


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None = None
    depth: int


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str
    unit: UnitOut | None
    permissions: list[str]


class PersonOut(BaseModel):
    """A person as lists and details show them: masked identity fields."""

    model_config = ConfigDict(extra="ignore")

    id: int
    name: str | None = None
    id_number_masked: str | None = None
    id_number_valid: bool = False
    phone_masked: str | None = None
    sex: str | None = None
    birth_date: dt.date | None = None
    age: int | None = None
    address_text: str | None = None
    unit_id: int | None = None
    employer_id: int | None = None


class PersonPage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None = None


class PersonIn(BaseModel):
    """Register a person (登记). Invalid ID or phone numbers are refused with field errors."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    id_number: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    address_text: str | None = Field(default=None, max_length=255)


class UnmaskIn(BaseModel):
    field: Literal["id_number", "phone"]


class UnmaskOut(BaseModel):
    field: str
    value: str | None


class TaskOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    title: str
    status: str
    unit_id: int
    subject_type: str | None = None
    subject_id: int | None = None
    assignee_id: int | None = None
    created_at: str
    due_at: str | None = None
    done_at: str | None = None
    overdue: bool
    outcome_code: str | None = None
    escalation_level: int = 0


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = None


class TaskCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome_code: str = Field(min_length=1, max_length=48)
    outcome: dict[str, Any] | None = None
    note: str | None = Field(default=None, max_length=2000)


class AuditEventOut(BaseModel):
    id: int
    at: str
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str | None
    object_id: str | None
    detail: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None = None


class HealthOut(BaseModel):
    status: str
    database: str
    mode: str
