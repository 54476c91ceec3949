"""Control over JSON: a person's control status and due tests (API shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangkong.control.rules import ControlStatus
from fangkong.kernel import clock


class ControlStatusOut(BaseModel):
    """A person's control status (管控状态) at `at`: `kind` of the phase they are in (`none` when not
    under control), `level` what a venue entrance does (`stop`, `check` or null)."""

    person_id: int
    at: str
    under_control: bool
    kind: str
    label: str
    level: str | None
    measure_id: int | None
    category: str | None
    measure: str | None
    measure_name_zh: str | None
    measure_name_en: str | None
    place_kind: str | None
    site_id: int | None
    site_name: str | None
    since: str | None
    phase_since: str | None
    phase_until: str | None
    planned_end_at: str | None

    @classmethod
    def of(cls, s: ControlStatus) -> ControlStatusOut:
        data: dict[str, Any] = s.as_dict()
        for key in ("since", "phase_since", "phase_until", "planned_end_at"):
            data[key] = clock.iso_local(data[key]) or None
        return cls(at=clock.iso_local(s.at), **data)


class DueTestOut(BaseModel):
    """A test day of a measure (应检日): `state` is done, cancelled, upcoming, due or missed."""

    id: int
    measure_id: int
    person_id: int
    name: str | None
    phone_masked: str | None
    day: int
    due_on: str
    window_end_on: str
    #: hours after the previous test's sample (3天2检), 0 otherwise
    min_gap_hours: float
    measure: str
    kind: str
    place_kind: str
    site_id: int | None
    site_name: str | None
    status: str
    state: str
    sampled_at: str | None
    task_id: int | None
    unit_id: int


class PersonControlOut(BaseModel):
    status: ControlStatusOut
    due_tests: list[DueTestOut]


class DueTestsPage(BaseModel):
    items: list[DueTestOut]
    next_cursor: str | None


class CheckInIn(BaseModel):
    """One check-in (健康打卡): the person by ID number, or by phone (and name when a family shares it).
    Times without an offset are local (`FANGKONG_TIMEZONE`); Chinese date formats are accepted."""

    model_config = ConfigDict(extra="forbid")
    id_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    checked_at: str = Field(max_length=64)
    temperature: str | float = Field(description="°C, 34–43 (`36.5`, `36.5℃`)")
    symptoms: str | list[str] | None = Field(default=None, description="listed symptoms, or 无/none")
    by: str | None = Field(default=None, max_length=64, description="who took it (default: the caller)")

    def values(self) -> dict[str, str]:
        symptoms = "、".join(s[:40] for s in self.symptoms[:20]) if isinstance(self.symptoms, list) else self.symptoms
        temp = self.temperature if isinstance(self.temperature, str) else repr(float(self.temperature))
        return {"id_number": self.id_number or "", "phone": self.phone or "", "name": self.name or "",
                "checked_at": self.checked_at, "temperature": str(temp)[:40], "symptoms": (symptoms or "")[:400],
                "by": self.by or ""}


class CheckInsIn(BaseModel):
    """A batch of check-ins, or one given by its fields at the top level."""

    model_config = ConfigDict(extra="allow")
    items: list[CheckInIn] | None = Field(default=None, min_length=1, max_length=10000)

    @model_validator(mode="after")
    def _one_or_many(self) -> CheckInsIn:
        if self.items is None:
            single = dict(self.model_extra or {})
            if not single:
                raise ValueError("give `items` (a batch) or the fields of one check-in")
            self.items = [CheckInIn.model_validate(single)]
            self.__pydantic_extra__ = {}
        return self


class ReportItemOut(BaseModel):
    row: int
    status: str
    person_id: int | None = None
    issues: list[str] = []
    extra: dict[str, Any] = {}


class ReportOut(BaseModel):
    """The same per-item report as a file import."""

    counts: dict[str, int]
    items: list[ReportItemOut]


class ReleaseIn(BaseModel):
    """Release one person (解除管控): by rule, or against it with a doctor's `override_reason`
    (`case.manage`). `notice` prints the release notice (its number comes back)."""

    model_config = ConfigDict(extra="forbid")

    override_reason: str | None = Field(None, max_length=200)
    notice: bool = True


class ReleasesIn(ReleaseIn):
    """Release a cohort: every measure in `measure_ids`, all or nothing."""

    measure_ids: list[int] = Field(..., min_length=1, max_length=500)

    @model_validator(mode="after")
    def _ids(self) -> ReleasesIn:
        if any(i < 1 or i > 2_147_483_647 for i in self.measure_ids):
            raise ValueError("measure_ids: not an id")
        return self


class ReleaseOut(BaseModel):
    """One released measure: when, whether against the rule, and its notice's number (empty without)."""

    person_id: int
    measure_id: int
    status: str
    released_at: str
    override: bool
    notice_no: str


class DueStepOut(BaseModel):
    """A step the rules allow now (`fangkong control release --due`): `stepdown` or `release`."""

    person_id: int
    #: the person's name beside the id, as on the releases page
    name: str | None = None
    measure_id: int
    action: str


class MeasureAsOfOut(BaseModel):
    """One measure as of a moment: the columns of `fangkong export measures` (dates local, ISO), with
    the person's name beside the id."""

    person_id: int
    name: str | None = None
    measure_id: int
    category: str
    phase: str | None
    status: str
    anchor_on: str | None
    planned_end_on: str | None
    stepdown_on: str | None
    releasable_on: str | None
    released_at: str | None
    site: str | None
    room: str | None
    missed_tests: str
    checkins_missed: int
    fevers: int


class MeasuresPage(BaseModel):
    items: list[MeasureAsOfOut]
    at: str
    next_cursor: str | None = None
