"""Pydantic shapes of the tracing API (/api/v1/cases …). Times come in as text (ISO 8601 or the
spreadsheet shapes; naive = local time) and go out as local ISO 8601 with offset."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from fangkong.control.schemas import ControlStatusOut
from fangkong.kernel.clock import LocalTime

Time = Annotated[str, Field(max_length=64)]
Short = Annotated[str, Field(max_length=64)]
RowRef = Annotated[int, Field(ge=1, le=2_147_483_647)]


class CaseIn(BaseModel):
    """A case: from a positive individual result (`candidate_id`), or a clinic report / by hand with
    the person (`person_id`, or name with ID number or phone)."""

    model_config = ConfigDict(extra="forbid")
    classification: Annotated[str, Field(max_length=16)]
    detection_channel: Annotated[str, Field(max_length=24)] | None = None
    source: Annotated[str, Field(max_length=16)] = "manual"
    candidate_id: RowRef | None = None
    person_id: RowRef | None = None
    name: Short | None = None
    id_number: Annotated[str, Field(max_length=40)] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    sampled_at: LocalTime | None = None
    onset_at: LocalTime | None = None
    result_at: LocalTime | None = None
    isolated_at: LocalTime | None = None
    note: Annotated[str, Field(max_length=500)] | None = None


class ContactIn(BaseModel):
    """A contact to confirm: `kind` household | workplace | colocation (a venue co-visitor, by
    `person_id` from the case page: a risk person, not a close contact) | named | secondary (by name,
    phone or ID number, or `person_id`); `via_contact_id` for a secondary contact, whose
    `last_contact_at` must lie in the close contact's exposure window."""

    model_config = ConfigDict(extra="forbid")
    kind: Annotated[str, Field(max_length=16)]
    person_id: RowRef | None = None
    name: Short | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    id_number: Annotated[str, Field(max_length=40)] | None = None
    address: Annotated[str, Field(max_length=255)] | None = None
    relation: Short | None = None
    last_contact_at: Time | None = None
    via_contact_id: RowRef | None = None
    #: a close contact's first contact with the case (default: the case's tracing window start)
    first_contact_at: Time | None = None


class UpgradeIn(BaseModel):
    """An epidemiologist upgrades a venue co-visitor to a close contact, with the reason."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=200)] | None = None


class ContactsIn(BaseModel):
    items: Annotated[list[ContactIn], Field(min_length=1, max_length=500)]


class ContactReportOut(BaseModel):
    item: int
    status: str
    contact_id: int | None
    lead_id: int | None
    person_id: int | None
    channel: str | None
    category: str | None
    issues: list[str]


class ContactsReportOut(BaseModel):
    counts: dict[str, int]
    items: list[ContactReportOut]


class LinkIn(BaseModel):
    """`source_case_id` infected this case, or this case infected `target_case_id` (give one)."""

    model_config = ConfigDict(extra="forbid")
    source_case_id: RowRef | None = None
    target_case_id: RowRef | None = None
    note: Annotated[str, Field(max_length=255)] | None = None


class LinkOut(BaseModel):
    id: int
    source_case_id: int
    target_case_id: int
    note: str | None
    created_at: str


class MilestoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: Annotated[str, Field(max_length=16)]
    note: Annotated[str, Field(max_length=255)] | None = None


class ContactOut(BaseModel):
    id: int
    person_id: int | None
    name: str | None
    phone_masked: str | None
    tier: str
    kind: str
    relation: str | None
    via_contact_id: int | None
    venue_id: int | None
    venue_name: str | None
    last_contact_at: str | None
    overlap_min: float | None
    channel: str
    category: str
    confirmed_at: str
    lead_id: int | None
    lead_status: str | None
    measure: str | None
    known_at: str | None
    managed_at: str | None
    controlled_at: str | None
    status: str
    first_contact_at: str | None = None
    #: a secondary contact whose close contact turned positive: the close contact they became
    promoted_to_id: int | None = None
    #: a secondary contact: when tracing released them (or ended their measure after the promotion)
    released_at: str | None = None
    release_rule: str | None = None
    #: the person's control status now (control's one answer; `status` above follows it)
    control: ControlStatusOut | None = None


class CaseOut(BaseModel):
    id: int
    person_id: int
    name: str | None
    phone_masked: str | None
    id_number_masked: str | None
    classification: str
    detection_channel: str
    source: str
    candidate_id: int | None
    status: str
    sampled_at: str | None
    onset_at: str | None
    result_at: str | None
    isolated_at: str | None
    created_at: str
    created_by: str
    unit_id: int
    investigation_task_id: int | None
    core_due_at: str | None
    report_due_at: str | None
    core_done_at: str | None
    report_done_at: str | None
    pack_version: str | None
    note: str | None


class CaseDetailOut(CaseOut):
    window_start: str | None
    window_end: str | None
    lookback_days: int
    lookback_rule: str
    contacts: list[ContactOut]
    sources: list[int]
    infected: list[int]
    cluster: list[int]


class CaseListOut(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class ChainOut(BaseModel):
    case_id: int
    cluster: list[int]
    categories: list[str]
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
