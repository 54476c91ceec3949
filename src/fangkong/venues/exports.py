"""Venue exports through the one writer: the co-location pairs of `fangkong colocation --out`."""

from __future__ import annotations

from typing import Any

from fangkong.kernel.export import INT, NUMBER, TEXT, Column, ExportKind
from fangkong.venues.colocation.service import PAIR_COLUMNS

_ZH = {"person_id": "人员编号", "venue_ref": "场所编号", "venue_name": "场所名称",
       "subject_scanned_at": "对象扫码时间", "covisitor_scanned_at": "同时段人员扫码时间", "gap_min": "间隔(分钟)"}
_KINDS = {"person_id": INT, "gap_min": NUMBER}


def _no_rows(*args: Any, **kwargs: Any) -> list[Any]:
    return []  # the pairs are computed by the command and handed to the writer


#: not in the page registry: pairs are computed for one subject and period, then written
COLOCATION = ExportKind("colocation", "时空伴随", [Column(k, _ZH.get(k, k), _KINDS.get(k, TEXT)) for k in PAIR_COLUMNS],
                        _no_rows, ("colocation.query",), object_type="scan")
