"""Pydantic bodies of the surveillance API (监测预警接口)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

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


class CountIn(BaseModel):
    site_ref: str = Field(max_length=64)
    date: str = Field(max_length=32)
    indicator: str = Field(max_length=32)
    count: str | int | float


class CountsIn(BaseModel):
    items: list[CountIn] = Field(min_length=1, max_length=10_000)


class ItemsOut(BaseModel):
    counts: dict[str, int]
    items: list[dict[str, Any]]


class SignalOut(BaseModel):
    id: int
    level: str
    site_id: int | None
    site_ref: str | None = None
    unit_id: int
    unit_code: str | None = None
    name: str = Field(description="the site's name, or the unit's for a unit series")
    indicator: str
    algorithm: str
    first_date: dt.date
    last_date: dt.date
    alarms: int
    status: str
    outcome: str | None
    task_id: int | None
    field_task_id: int | None


class SignalListOut(BaseModel):
    items: list[SignalOut]
    next_cursor: int | None = None


class ReviewIn(BaseModel):
    action: str = Field(max_length=16, description="dismiss, investigate or escalate")
    note: str | None = Field(default=None, max_length=500)


class PurchaseIn(BaseModel):
    """One pharmacy registration (药店实名登记); drug_class 退热/antipyretic, 止咳/cough, 抗病毒/antiviral,
    抗生素/antibiotic, 其他/other."""

    source_ref: str = Field(max_length=128)
    pharmacy_ref: str = Field(max_length=64)
    purchased_at: str = Field(max_length=40)
    name: str = Field(default="", max_length=60)
    id_number: str = Field(default="", max_length=40)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=200)
    drug_name: str = Field(default="", max_length=120)
    drug_class: str = Field(max_length=16)
    quantity: str | int | float = Field(description="a whole number ≥ 1")
    temperature: str | float | None = None
    symptoms: str = Field(default="", max_length=200)


class PurchasesIn(BaseModel):
    items: list[PurchaseIn] = Field(min_length=1, max_length=10_000)


class AntigenIn(BaseModel):
    """One antigen test result (抗原检测结果); source 自测/self, 药店/pharmacy, 诊所/clinic, 单位/employer;
    result 阳性/positive or 阴性/negative. A positive needs an ID number, a phone or a name with an address."""

    source_ref: str = Field(max_length=128)
    source: str = Field(max_length=16)
    site_ref: str = Field(default="", max_length=64)
    employer: str = Field(default="", max_length=120)
    tested_at: str = Field(max_length=40)
    result: str = Field(max_length=16)
    name: str = Field(default="", max_length=60)
    id_number: str = Field(default="", max_length=40)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=200)


class AntigenResultsIn(BaseModel):
    items: list[AntigenIn] = Field(min_length=1, max_length=10_000)
