"""Pydantic bodies of the surveillance API (监测预警接口)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DetectPoint(BaseModel):
    series: str = Field(default="", max_length=200)
    t: str | int = Field(description="period number 1, 2, … or a date (YYYY-MM-DD)")
    count: str | int | float = Field(description="a whole number ≥ 0")


class DetectIn(BaseModel):
    """Series to judge with one method: `series, t, count` rows as in the `detect` file."""

    method: Literal["ears-c1", "ears-c2", "ears-c3", "cusum", "farrington", "farrington-noufaily",
                    "farrington-1996"]
    params: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=20)
    from_: str | int | None = Field(default=None, alias="from", description="first period to judge")
    period: Literal["day", "week"] = "day"
    items: list[DetectPoint] = Field(min_length=1, max_length=100_000)


class DetectRowOut(BaseModel):
    series: str
    t: str
    observed: int
    expected: float | None = None
    upperbound: float | None = None
    statistic: float | None = None
    alarm: bool
    phi: float | None = None
    trend: int | None = None


class ItemReportOut(BaseModel):
    row: int
    status: str
    issues: list[str] = []


class DetectOut(BaseModel):
    counts: dict[str, int]
    results: list[DetectRowOut]
    items: list[ItemReportOut]
