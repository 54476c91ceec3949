"""The command centre's API shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IndicatorOut(BaseModel):
    day: str
    unit_code: str
    unit_name: str
    level: str
    indicator: str
    value: float | None = Field(description="rates as fractions (0.9545), hours, counts; null: no value")
    numerator: float | None
    denominator: float | None
    status: str = Field(description="green | amber | red | none; empty without thresholds")
    name_zh: str
    kind: str
    rule: str = Field(description="the rule that set the colour, with the pack's threshold it came from")
    enabled: bool = Field(description="false: no capability provides this indicator yet (尚未启用)")
    note: str


class IndicatorsOut(BaseModel):
    day: str
    unit_code: str
    cutoff_at: str
    pack_version: str
    frozen: bool
    version: int | None
    taken_at: str | None
    rows: list[IndicatorOut]


class OrderIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=4000)
    to: list[str] | None = Field(default=None, max_length=500, description="target unit codes")
    to_level: str | None = Field(default=None, max_length=16, description="every unit of this level …")
    under: str | None = Field(default=None, max_length=32, description="… under this unit (default: yours)")
    ack_hours: float = Field(default=2, ge=0.1, le=720)
    due_hours: float = Field(default=24, ge=0.1, le=720)
    evidence: bool = False
    attachments: list[str] = Field(default_factory=list, max_length=20)


class CompleteIn(BaseModel):
    evidence: str | None = Field(default=None, max_length=2000)


class RelayIn(BaseModel):
    to: list[str] = Field(min_length=1, max_length=500)


class OrderTargetOut(BaseModel):
    unit_code: str
    unit_name: str
    status: str
    acknowledged_at: str | None
    completed_at: str | None
    escalated_at: str | None
    acknowledged_by: str | None
    completed_by: str | None
    evidence: str | None
    sub_orders: list[OrderOut]


class OrderOut(BaseModel):
    id: int
    title: str
    body: str
    attachments: list[str]
    issued_at: str
    issued_by: str
    unit_code: str
    ack_due_at: str
    due_at: str
    evidence_required: bool
    parent_target_id: int | None
    targets: list[OrderTargetOut]


OrderTargetOut.model_rebuild()
