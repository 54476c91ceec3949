"""Venue exports through the one writer: scan coverage (the 导出 of /venues) and the co-location pairs of
`fangkong colocation --out`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from fangkong.kernel import export
from fangkong.kernel.export import CODE, INT, NUMBER, TEXT, Column, ExportKind
from fangkong.venues.colocation.service import PAIR_COLUMNS

_ZH = {"person_id": "人员编号", "venue_ref": "场所编号", "venue_name": "场所名称",
       "subject_scanned_at": "对象扫码时间", "covisitor_scanned_at": "同时段人员扫码时间", "gap_min": "间隔(分钟)"}
_KINDS = {"person_id": INT, "gap_min": NUMBER}


def _no_rows(*args: Any, **kwargs: Any) -> list[Any]:
    return []  # the pairs are computed by the command and handed to the writer


#: not in the page registry: pairs are computed for one subject and period, then written
COLOCATION = ExportKind("colocation", "时空伴随", [Column(k, _ZH.get(k, k), _KINDS.get(k, TEXT)) for k in PAIR_COLUMNS],
                        _no_rows, ("colocation.query",), object_type="scan")


# ------------------------------------------------------------------------------------ scan coverage

def _category_label(code: Any) -> str:
    from fangkong.venues.fields import CATEGORIES

    return CATEGORIES.get(code, code)


COVERAGE_TABS = ("none", "low", "flagged", "all")

VENUE_COLUMNS = [
    Column("venue_code", "场所码编号"),
    Column("venue_ref", "场所编号"),
    Column("name", "场所名称", width=24),
    Column("category", "场所类别", CODE, label=_category_label, label_zh="场所类别名称"),
    Column("scans", "当日扫码数", INT),
    Column("expected", "日均人流", INT),
    Column("ratio", "扫码率", NUMBER),
    Column("open_flags", "未整改督查标记", INT),
    Column("last_flag_reason", "督查发现", width=30),
]


def _venue_filters(session: Any, actor: Any, params: Mapping[str, str]) -> dict[str, Any]:
    return {"day": export.param_day(params, "day"),
            "tab": export.param_choice(params, "tab", COVERAGE_TABS) or "none"}


def venue_rows(session: Any, actor: Any, *, day: dt.date | None = None, tab: str = "none") -> Iterator[dict[str, Any]]:
    """The venues of a coverage tab (无扫码、低于人流、督查标记、全部) for a day, as the page lists them."""
    from fangkong.venues.service import coverage as coverage_module

    report = coverage_module.coverage(session, actor, day=day)
    rows = {"none": report.without_scans, "low": report.under_scanning, "flagged": report.flagged,
            "all": report.venues}[tab]
    for v in rows:
        yield {"venue_code": v.code, "venue_ref": v.ref, "name": v.name, "category": v.category, "scans": v.scans,
               "expected": v.expected, "ratio": None if v.ratio is None else round(v.ratio, 3),
               "open_flags": v.open_flags, "last_flag_reason": v.last_flag_reason}


VENUES = export.register(ExportKind("venues", "场所扫码覆盖", VENUE_COLUMNS, venue_rows,
                                    ("venues.view", "data.export"), parse_filters=_venue_filters,
                                    object_type="place"))
