"""Control over JSON: a person's control status and due tests (API shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

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
