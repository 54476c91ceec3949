"""Pydantic shapes of the venue API (/api/v1/scans, /api/v1/colocation, /api/v1/venues/…).

Times come in as text (ISO 8601 or the spreadsheet shapes, naive = local) so that one bad item is a
`rejected` line of the report, not a 422 for the whole batch; times go out as local ISO 8601."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(max_length=200)]


class ScanIn(BaseModel):
    """One scan from a venue's own system. Name the venue by `venue_ref` (the import reference or
    the place code) or `venue_code` (the signed token, or the whole QR URL); give a phone or an ID."""

    model_config = ConfigDict(extra="ignore")
    venue_ref: Text | None = None
    venue_code: Text | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    id_number: Annotated[str, Field(max_length=40)] | None = None
    name: Annotated[str, Field(max_length=64)] | None = None
    scanned_at: Annotated[str, Field(max_length=64)] | None = None
    request_id: Annotated[str, Field(max_length=200)] | None = None
    temperature: float | str | None = None
    mask_ok: bool | None = None


class ScansIn(BaseModel):
    items: Annotated[list[ScanIn], Field(max_length=10_000)]


class ScanControlOut(BaseModel):
    """The scanned person's control status at the scan time (control's one answer): `level` `stop`
    (do not let in), `check` (check before letting in) or null (not under control)."""

    under_control: bool
    kind: str
    label: str
    level: str | None
    measure: str | None
    site_name: str | None
    since: str | None
    planned_end_at: str | None


class ItemOut(BaseModel):
    row: int
    status: str
    person_id: int | None
    issues: list[str]
    request_id: str | None = None
    control: ScanControlOut | None = None


class ScansReportOut(BaseModel):
    counts: dict[str, int]
    items: list[ItemOut]


class PairOut(BaseModel):
    person_id: int
    venue_ref: str
    venue_name: str
    subject_scanned_at: str
    covisitor_scanned_at: str
    gap_min: float


class ColocationOut(BaseModel):
    subject_person_id: int
    since: str
    until: str
    #: the symmetric window asked for; None in the default mode of overlapping stays
    window_min: int | None
    #: "overlap" (stays: scan + the venue category's dwell time) or "window" (±window_min)
    mode: str = "overlap"
    count: int
    pairs: list[PairOut]
    next_cursor: str | None = None


class CodeOut(BaseModel):
    venue_id: int
    code_id: int
    key_version: int
    token: str
    url: str | None = Field(None, description="`<FANGKONG_PUBLIC_URL>/v/<token>`; null on a production database "
                                               "where FANGKONG_PUBLIC_URL is not set (never the request's host)")
    issued_at: str


class FlagIn(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class FlagOut(BaseModel):
    id: int
    venue_id: int
    reason: str
    flagged_at: str
    flagged_by: str
    cleared_at: str | None = None


class VenueCoverageOut(BaseModel):
    venue_id: int
    name: str
    code: str
    ref: str | None
    category: str | None
    expected: int | None
    scans: int
    ratio: float | None
    open_flags: int


class CoverageOut(BaseModel):
    day: str
    totals: dict[str, int]
    without_scans: list[VenueCoverageOut]
    under_scanning: list[VenueCoverageOut]
    flagged: list[VenueCoverageOut]
