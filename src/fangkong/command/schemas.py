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
