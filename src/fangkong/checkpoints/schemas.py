"""Checkpoint API bodies (卡口): records and arrivals in, per-item reports and trips out."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Short = Annotated[str, Field(max_length=120)]


class RecordIn(BaseModel):
    """One checkpoint record: a person (ID number or phone), or a plate alone (a sighting). Fields as
    the file's English headers; codes or their Chinese words (进/出/巡查, 货车, 驾驶员, 黄码, 劝返 …)."""

    model_config = ConfigDict(extra="ignore")
    record_ref: Short
    passage_ref: Short | None = None
    checkpoint: Short
    inspected_at: Annotated[str, Field(max_length=64)]
    direction: Annotated[str, Field(max_length=16)]
    plate: Annotated[str, Field(max_length=32)] | None = None
    vehicle_type: Annotated[str, Field(max_length=16)] | None = None
    epass_no: Annotated[str, Field(max_length=32)] | None = None
    epass_token: Annotated[str, Field(max_length=4000)] | None = None
    name: Annotated[str, Field(max_length=64)] | None = None
    id_number: Annotated[str, Field(max_length=40)] | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    role: Annotated[str, Field(max_length=16)] | None = None
    origin: Annotated[str, Field(max_length=200)] | None = None
    destination: Annotated[str, Field(max_length=200)] | None = None
    address: Annotated[str, Field(max_length=255)] | None = None
    receiver: Annotated[str, Field(max_length=120)] | None = None
    health_code: Annotated[str, Field(max_length=16)] | None = None
    tested_at: Annotated[str, Field(max_length=64)] | None = None
    temperature: Annotated[str, Field(max_length=16)] | float | None = None
    decision: Annotated[str, Field(max_length=16)] | None = None


class RecordsIn(BaseModel):
    items: Annotated[list[RecordIn], Field(min_length=1, max_length=5_000)]


class RecordItemOut(BaseModel):
    row: int
    status: str
    person_id: int | None
    issues: list[str]
    lead_id: int | None = None
    trip_id: int | None = None


class ReportOut(BaseModel):
    counts: dict[str, int]
    items: list[RecordItemOut]


class ArrivalIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    request_id: Short
    plate: Annotated[str, Field(max_length=32)]
    epass_no: Annotated[str, Field(max_length=32)] | None = None
    arrived_at: Annotated[str, Field(max_length=64)]
    receiver: Annotated[str, Field(max_length=120)] | None = None


class ArrivalsIn(BaseModel):
    items: Annotated[list[ArrivalIn], Field(min_length=1, max_length=5_000)]


class TripOut(BaseModel):
    trip_id: int
    plate: str
    epass_no: str | None
    entered_at: str
    arrived_at: str | None
    exited_at: str | None
    state: str
    overdue_hours: float | None
    destination_code: str | None
    local: bool
    task_id: int | None
    checkpoint_name: str


class ShiftRowOut(BaseModel):
    checkpoint: str
    checkpoint_name: str
    day: str
    shift: str
    vehicles_in: int
    vehicles_out: int
    persons_in: int
    persons_out: int
    trucks_in: int
    leads: int
    sampled: int
    returned: int


class StrandedOut(BaseModel):
    plate: str
    service_area: str
    service_area_name: str
    first_seen_at: str
    last_seen_at: str
    hours: float


class ClosedOut(BaseModel):
    trip_id: int
    lead_ids: list[int]
