"""Co-location (时空伴随): a columnar, memory-mapped copy of the scans searched by binary search.

See docs/colocation.md for the design and the figures."""

from fangkong.venues.colocation.service import (
    PAIR_COLUMNS,
    CaseQuery,
    Pair,
    PairSet,
    Stay,
    colocated,
    colocated_batch,
    resolve_subject,
)
from fangkong.venues.colocation.store import get_index

__all__ = ["PAIR_COLUMNS", "CaseQuery", "Pair", "PairSet", "Stay", "colocated", "colocated_batch", "get_index", "resolve_subject"]
