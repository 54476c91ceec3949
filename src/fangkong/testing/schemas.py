"""Testing API bodies and answers (Pydantic): results, samples, tubes, rosters, headcounts, compliance."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangkong.kernel import clock
from fangkong.kernel.tabular import ReportRow


class ResultIn(BaseModel):
    """One lab result (检测结果) of a tube. Times without an offset are local (`FANGKONG_TIMEZONE`)."""

    model_config = ConfigDict(extra="forbid")
    tube_barcode: str = Field(max_length=64)
    result: str = Field(max_length=16, description="阴性/negative/neg/- or 阳性/positive/pos/+")
    ct: str | float | None = Field(default=None, description="28.5, or `ORF1ab:28.5; N:30.1`")
    lab: str | None = Field(default=None, max_length=100)
    reported_at: str | None = Field(default=None, max_length=64)

    def values(self) -> dict[str, str]:
        return {"tube_barcode": self.tube_barcode, "result": self.result,
                "ct": "" if self.ct is None else str(self.ct), "lab": self.lab or "",
                "reported_at": self.reported_at or ""}


class ResultsIn(BaseModel):
    """A batch of results, or one result given by its fields at the top level."""

    model_config = ConfigDict(extra="allow")
    items: list[ResultIn] | None = Field(default=None, min_length=1, max_length=10000)

    @model_validator(mode="after")
    def _one_or_many(self) -> ResultsIn:
        if self.items is None:
            single = dict(self.model_extra or {})
            if not single:
                raise ValueError("give `items` (a batch) or the fields of one result")
            self.items = [ResultIn.model_validate(single)]
            self.__pydantic_extra__ = {}
        return self


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tube_barcode: str = Field(max_length=64)
    pool_size: int | None = Field(default=None, ge=1, le=50)
    id_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    collected_at: str = Field(max_length=64)
    sampling_point: str | None = Field(default=None, max_length=40, description="sampling point code")

    def values(self) -> dict[str, str]:
        return {k: "" if v is None else str(v) for k, v in self.model_dump().items()}


class SamplesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[SampleIn] = Field(min_length=1, max_length=10000)


class RosterPersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=64)
    id_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)


class RosterIn(BaseModel):
    """An employer's roster of a key group; an unknown employer is registered on first use."""

    model_config = ConfigDict(extra="forbid")
    employer: str = Field(min_length=1, max_length=120, description="employer code, reference or name")
    items: list[RosterPersonIn] = Field(min_length=1, max_length=10000)


class ItemOut(BaseModel):
    row: int
    status: str
    person_id: int | None = None
    issues: list[str] = []
    extra: dict[str, Any] = {}

    @classmethod
    def of(cls, r: ReportRow) -> ItemOut:
        return cls(row=r.row, status=r.status, person_id=r.person_id, issues=r.issues,
                   extra={k: v for k, v in r.extra.items() if not k.startswith("_") and v is not None})


class ReportOut(BaseModel):
    """The same per-item report as a file import."""

    counts: dict[str, int]
    items: list[ItemOut]


class TubeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tube_barcode: str = Field(max_length=64)
    pool_size: int | None = Field(default=None, ge=1, le=50, description="default: the policy's (10-in-1)")
    sampling_point_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class TubeSampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: str = Field(min_length=1, max_length=64, description="ID number or mobile number")
    name: str | None = Field(default=None, max_length=64)


class TubeOut(BaseModel):
    id: int
    barcode: str
    pool_size: int
    samples: int
    status: str
    result: str | None
    collected_at: str | None
    reported_at: str | None
    persons: list[dict[str, Any]]


class HeadcountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    declared: int = Field(ge=0, le=10_000_000)


class HoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opens: str = Field(max_length=5, examples=["08:00"])
    closes: str = Field(max_length=5, examples=["20:00"])
    days: str = Field(default="1234567", max_length=7)
    note: str | None = Field(default=None, max_length=200)


class ComplianceOut(BaseModel):
    member_id: int
    person_id: int
    name: str | None
    id_number_masked: str | None
    phone_masked: str | None
    group: str
    employer_id: int | None
    employer: str | None
    unit_id: int
    last_negative_at: str | None
    next_due_at: str | None
    overdue_hours: float
    status: str

    @classmethod
    def of(cls, r: Any) -> ComplianceOut:
        return cls(member_id=r.member_id, person_id=r.person_id, name=r.name, id_number_masked=r.id_number_masked,
                   phone_masked=r.phone_masked, group=r.group_code, employer_id=r.employer_id,
                   employer=r.employer_code, unit_id=r.unit_id,
                   last_negative_at=clock.iso_local(r.last_negative_at) or None,
                   next_due_at=clock.iso_local(r.next_due_at) or None, overdue_hours=r.overdue_hours,
                   status=r.status)


class CompliancePage(BaseModel):
    items: list[ComplianceOut]
    next_cursor: str | None = None


class CoverageRowOut(BaseModel):
    employer_id: int
    employer_code: str
    employer_name: str
    unit_id: int
    unit_name: str
    group: str
    declared: int | None
    enrolled: int
    gap: int | None
    problem: str | None


class CoverageOut(BaseModel):
    totals: dict[str, int]
    rows: list[CoverageRowOut]
    gaps: list[CoverageRowOut]
    by_group: list[dict[str, Any]]
    by_unit: list[dict[str, Any]]
