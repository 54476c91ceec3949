"""Intake API bodies and answers (Pydantic): leads in and out, verification, risk areas, reports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangkong.intake.models import Lead, RiskArea
from fangkong.kernel import clock
from fangkong.kernel.jurisdictions import regions
from fangkong.kernel.messages import issue_loaded

LEAD_FIELDS = ("name", "id_number", "phone", "origin", "arrival_at", "address", "transport", "reason",
               "source_ref", "category")


class LeadIn(BaseModel):
    """One lead (线索). Unknown fields are kept in the stored payload. Times without an offset are
    local (`FANGKONG_TIMEZONE`)."""

    model_config = ConfigDict(extra="allow")
    name: str | None = Field(default=None, max_length=200)
    id_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    origin: str | None = Field(default=None, max_length=500)
    arrival_at: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=1000)
    transport: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=1000)
    source_ref: str | None = Field(default=None, max_length=500,
                                   description="the sender's own reference: a repeat is a duplicate")
    category: str | None = Field(default=None, max_length=64)

    def values(self) -> dict[str, str]:
        return {f: "" if getattr(self, f) is None else str(getattr(self, f)) for f in LEAD_FIELDS}

    def extra(self) -> dict[str, str]:
        return {k: "" if v is None else str(v) for k, v in (self.model_extra or {}).items()}


class LeadsIn(BaseModel):
    """A batch of leads of one channel, or one lead given by its fields at the top level."""

    model_config = ConfigDict(extra="allow")
    channel: str = Field(max_length=16)
    category: str | None = Field(default=None, max_length=64, description="for items that give none")
    items: list[LeadIn] | None = Field(default=None, min_length=1, max_length=10000)

    @model_validator(mode="after")
    def _one_or_many(self) -> LeadsIn:
        if self.items is None:
            single = dict(self.model_extra or {})
            if not single:
                raise ValueError("give `items` (a batch) or the fields of one lead")
            self.items = [LeadIn.model_validate(single)]
        return self


class ItemOut(BaseModel):
    row: int
    status: str
    person_id: int | None = None
    issues: list[str] = []
    lead_id: int | None = None
    match_rule: str | None = None


class LeadsReportOut(BaseModel):
    batch_id: int
    counts: dict[str, int]
    items: list[ItemOut]


class LeadOut(BaseModel):
    id: int
    channel: str
    source_ref: str | None
    status: str
    person_id: int | None
    match_rule: str | None
    name: str | None
    id_number_masked: str | None
    phone_masked: str | None
    origin: str | None
    arrival_at: str | None
    address_text: str | None
    category: str | None
    decision_category: str | None
    measure_code: str | None
    rule: str | None
    pack_version: str | None
    explanation: str | None
    issues: list[Any]
    received_at: str
    known_at: str | None
    managed_at: str | None
    controlled_at: str | None
    closed_at: str | None
    verification_task_id: int | None
    outcome_code: str | None
    #: 四个查清 人数: persons at the address, household included
    headcount: int | None = None
    measure_id: int | None
    unit_id: int

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        def t(v: Any) -> str | None:
            return clock.iso_local(v) or None

        return cls(
            id=lead.id, channel=lead.channel, source_ref=lead.source_ref, status=lead.status,
            person_id=lead.person_id, match_rule=lead.match_rule, name=lead.name,
            id_number_masked=lead.id_number_masked, phone_masked=lead.phone_masked, origin=lead.origin,
            arrival_at=t(lead.arrival_at), address_text=lead.address_text, category=lead.category,
            decision_category=lead.decision_category, measure_code=lead.measure_code, rule=lead.rule,
            pack_version=lead.pack_version, explanation=(lead.decision or {}).get("explanation_zh"),
            issues=[str(issue_loaded(i)) for i in lead.issues or []], received_at=clock.iso_local(lead.received_at), known_at=t(lead.known_at),
            managed_at=t(lead.managed_at), controlled_at=t(lead.controlled_at), closed_at=t(lead.closed_at),
            verification_task_id=lead.verification_task_id, outcome_code=lead.outcome_code,
            headcount=lead.headcount, measure_id=lead.measure_id, unit_id=lead.unit_id)


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = None


class VerificationIn(BaseModel):
    """The four checks (四个查清: 人数、人头、位置、管控情况) and the outcome."""

    model_config = ConfigDict(extra="forbid")
    outcome_code: str = Field(max_length=32)
    four_checks: dict[str, Any] = Field(default_factory=dict, description=(
        "headcount: persons at the address, household included (a number); identity: true/false; "
        "location, control: text"), examples=[{"headcount": 3, "identity": True, "location": "家中",
                                               "control": "居家隔离,门磁已安装"}])
    destination: str | None = Field(default=None, max_length=100)
    site_place_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    note: str | None = Field(default=None, max_length=1000)


class VerificationItemIn(VerificationIn):
    """One lead's four checks in a batch."""

    lead_id: int = Field(ge=1, le=2_147_483_647)


class VerificationsIn(BaseModel):
    """A round of four checks (a grid worker's phone syncing, another system): at most 500 leads."""

    model_config = ConfigDict(extra="forbid")
    items: list[VerificationItemIn] = Field(min_length=1, max_length=500)


class VerificationErrorOut(BaseModel):
    code: str
    reason: str | None = None
    message: str
    fields: list[dict[str, Any]] = []


class VerificationItemOut(BaseModel):
    row: int
    lead_id: int
    #: verified | rejected
    status: str
    error: VerificationErrorOut | None = None
    #: the lead as it stands after the item (verified) or still stands (rejected, when you see it)
    lead: LeadOut | None = None


class VerificationsOut(BaseModel):
    counts: dict[str, int]
    items: list[VerificationItemOut]


class RiskAreaIn(BaseModel):
    """Where (the national list's 省/市/县区/风险区名称, free text naming a county or a place in one, or a
    county code), level (high/medium: low-risk areas are derived) and times."""

    model_config = ConfigDict(extra="forbid")
    region_name: str | None = Field(default=None, max_length=200,
                                    description="free text naming a county or a place inside one")
    region_code: str | None = Field(default=None, max_length=12, description="GB/T 2260 county code")
    province: str | None = Field(default=None, max_length=50, description="省")
    city: str | None = Field(default=None, max_length=50, description="市")
    county: str | None = Field(default=None, max_length=50, description="县区")
    place: str | None = Field(default=None, max_length=200,
                              description="风险区名称: 街道/小区/村 inside the county, several separated by 、")
    level: str = Field(max_length=16)
    start_at: str = Field(max_length=64)
    end_at: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=200)


class RiskAreaPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: str | None = Field(default=None, max_length=16)
    end_at: str | None = Field(default=None, max_length=64, description="an empty string lifts the end")
    source: str | None = Field(default=None, max_length=200)
    region_name: str | None = Field(default=None, max_length=200, description="where it lies, read again")
    region_code: str | None = Field(default=None, max_length=12)
    place: str | None = Field(default=None, max_length=200)


class RiskAreaOut(BaseModel):
    id: int
    #: the region as given
    region_name: str
    region_code: str | None
    #: the county (GB/T 2260) and its full name; None when the row names no single county (it matches nothing)
    county_code: str | None
    county_name: str | None
    #: places inside the county; empty: the whole county
    places: list[str]
    level: str
    start_at: str
    end_at: str | None
    source: str | None

    @classmethod
    def of(cls, a: RiskArea) -> RiskAreaOut:
        return cls(id=a.id, region_name=a.region_name, region_code=a.region_code, county_code=a.county_code,
                   county_name=regions.full_name(a.county_code) or None, places=list(a.places or []),
                   level=a.level, start_at=clock.iso_local(a.start_at), end_at=clock.iso_local(a.end_at) or None,
                   source=a.source)


class DerivedLowOut(BaseModel):
    """The low-risk rest of a county with a high- or medium-risk area (derived, 第九版)."""

    county_code: str
    county_name: str
    level: str = "low"
    since: str
    #: the high- and medium-risk areas that make the rest of the county low-risk
    area_ids: list[int]
