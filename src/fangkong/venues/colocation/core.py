"""The co-location search (时空伴随检索) over sorted columns: pure numpy, no database.

A segment is two parallel arrays sorted by `key = venue_id << 32 | unix_seconds` (int64) and holding
the scanner's `person` (int64). All scans of one venue are contiguous and in time order, so the scans
whose time lies in [lo, hi] for a visit to venue v are exactly the slice
    [searchsorted(key, v<<32 | lo, "left"), searchsorted(key, v<<32 | hi, "right"))
— two binary searches (~25 steps at 30 million rows) per visit, done for every visit of every case in
one vectorised call, then the slices are gathered with one fancy index. The bounds are inclusive at
both ends because they are (left, right) searches of the exact end keys.

Each visit carries its own [lo, hi]:
- overlapping stays (the default): the subject stayed [start, end] (the interview's times, or the scan
  plus the venue category's dwell time) and a co-visitor who scanned at c stayed [c, c + d], d the
  venue's dwell time (one venue, one category, one d). The stays overlap (inclusive) exactly when
  start − d ≤ c ≤ end: `overlap_bounds`. No filter after the search is needed;
- the symmetric window (`window_s`): |c − t| ≤ w, i.e. [t − w, t + w].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHIFT = 32
LOW = np.int64((1 << SHIFT) - 1)


def make_keys(venue: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Sort keys of scans: venue id in the high 32 bits, unix seconds (until 2106) in the low 32."""
    return (np.asarray(venue, dtype=np.int64) << SHIFT) | np.asarray(t, dtype=np.int64)


@dataclass
class Segment:
    """Scans sorted by key; `persons[i]` scanned at `keys[i]`."""

    keys: np.ndarray
    persons: np.ndarray

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @classmethod
    def from_unsorted(cls, venue: np.ndarray, t: np.ndarray, person: np.ndarray) -> Segment:
        keys = make_keys(venue, t)
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], np.asarray(person, dtype=np.int64)[order])

    @classmethod
    def empty(cls) -> Segment:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64))


def merge(segments: Sequence[Segment], *, min_t: int | None = None) -> Segment:
    """One sorted segment from several, dropping scans before `min_t` (retention). The stable sort of
    concatenated sorted runs is a run merge (timsort), close to linear."""
    keys = np.concatenate([s.keys for s in segments]) if segments else np.empty(0, np.int64)
    persons = np.concatenate([s.persons for s in segments]) if segments else np.empty(0, np.int64)
    if min_t is not None and keys.size:
        keep = (keys & LOW) >= min_t
        keys, persons = keys[keep], persons[keep]
    order = np.argsort(keys, kind="stable")
    return Segment(keys[order], persons[order])


#: rows per block of a streamed merge (two int64 columns: ~64 MB of each input per block)
MERGE_BLOCK = 4_000_000


def merged_size(segments: Sequence[Segment], *, min_t: int | None = None, block: int = MERGE_BLOCK) -> int:
    """Rows `merge_into` writes: all, or those at or after `min_t` (counted block by block)."""
    if min_t is None:
        return sum(len(s) for s in segments)
    return sum(int(np.count_nonzero((np.asarray(s.keys[i:i + block]) & LOW) >= min_t))
               for s in segments for i in range(0, len(s), block))


def merge_into(a: Segment, b: Segment, keys_out: np.ndarray, persons_out: np.ndarray, *,
               min_t: int | None = None, block: int = MERGE_BLOCK) -> int:
    """Merge two sorted segments into preallocated outputs (e.g. `np.memmap`s of `merged_size` rows),
    in key ranges of about `block` rows of `a`: memory stays a few blocks whatever the sizes, and each
    range is a stable merge (a's rows before b's at equal keys, as `merge` orders them). Drops scans
    before `min_t`. Returns the rows written."""
    n, m, at = len(a), len(b), 0
    i = j = 0
    while i < n or j < m:
        if i < n:
            i2 = min(i + block, n)
            if i2 < n:
                # end the range between two different keys of a, so equal keys never straddle it
                i2 = int(np.searchsorted(a.keys, a.keys[i2 - 1], side="right"))
            j2 = int(np.searchsorted(b.keys, a.keys[i2 - 1], side="right")) if i2 < n else m
        else:
            i2, j2 = n, min(j + block, m)
        ka, pa = np.asarray(a.keys[i:i2]), np.asarray(a.persons[i:i2])
        kb, pb = np.asarray(b.keys[j:j2]), np.asarray(b.persons[j:j2])
        if min_t is not None:
            fa, fb = (ka & LOW) >= min_t, (kb & LOW) >= min_t
            ka, pa, kb, pb = ka[fa], pa[fa], kb[fb], pb[fb]
        # the rank of each row in the merged range: its own index plus the other side's rows before it
        pos_a = np.arange(ka.shape[0]) + np.searchsorted(kb, ka, side="left")
        pos_b = np.arange(kb.shape[0]) + np.searchsorted(ka, kb, side="right")
        size = ka.shape[0] + kb.shape[0]
        out_k = np.empty(size, np.int64)
        out_p = np.empty(size, np.int64)
        out_k[pos_a], out_p[pos_a] = ka, pa
        out_k[pos_b], out_p[pos_b] = kb, pb
        keys_out[at:at + size] = out_k
        persons_out[at:at + size] = out_p
        at += size
        i, j = i2, j2
    return at


def overlap_bounds(start: np.ndarray, end: np.ndarray, dwell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi] of the scan times c whose stay [c, c + dwell] overlaps the stay [start, end] (inclusive):
    c ≤ end and c + dwell ≥ start. All in seconds; vectorised."""
    start, end, dwell = (np.asarray(x, dtype=np.int64) for x in (start, end, dwell))
    return start - dwell, end


@dataclass
class Visits:
    """The subjects' visits to search around: parallel arrays, one entry per visit. `t` is the
    subject's time reported with each pair (their scan, or the start of an interview stay); `lo`/`hi`
    bound the co-visitors' scan times (`overlap_bounds`); without them, a window around `t` is used."""

    case: np.ndarray  # index of the query (case) the visit belongs to
    subject: np.ndarray  # the subject's person id (their own scans are excluded)
    venue: np.ndarray
    t: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def bounds(self, window_s: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The co-visitor time bounds of each visit: ±window_s around `t`, else `lo`/`hi`."""
        t = self.t.astype(np.int64)
        if window_s is not None:
            return t - int(window_s), t + int(window_s)
        if self.lo is None or self.hi is None:
            raise ValueError("visits without bounds need a window")
        return self.lo.astype(np.int64), self.hi.astype(np.int64)


@dataclass
class Hits:
    """Co-visits: for each, the visit it belongs to (index into Visits), the co-visitor and their time."""

    visit: np.ndarray
    person: np.ndarray
    t: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])


def _slices(keys: np.ndarray, lo_keys: np.ndarray, hi_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # sorted needles let numpy's binary search reuse the previous bound and walk memory forwards
    order = np.argsort(lo_keys, kind="stable")
    lo = np.empty_like(lo_keys)
    hi = np.empty_like(hi_keys)
    lo[order] = np.searchsorted(keys, lo_keys[order], side="left")
    hi[order] = np.searchsorted(keys, hi_keys[order], side="right")
    return lo, hi


def search(segments: Sequence[Segment], visits: Visits, window_s: int | None = None, *,
           min_t: int | None = None) -> Hits:
    """Every scan in `segments` at a visit's venue with its time in the visit's bounds (|t − visit t| ≤
    window_s when a window is given, else [visit lo, visit hi]), not by the visit's subject, and (with
    `min_t`) not before min_t. Order: by visit, then segment, then key."""
    n = len(visits)
    if n == 0:
        return Hits(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    venue = visits.venue.astype(np.int64) << SHIFT
    lo_t, hi_t = visits.bounds(window_s)
    lo_keys = venue | np.clip(lo_t, 0, int(LOW))
    hi_keys = venue | np.clip(hi_t, 0, int(LOW))
    parts_v, parts_p, parts_t = [], [], []
    for seg in segments:
        if len(seg) == 0:
            continue
        lo, hi = _slices(seg.keys, lo_keys, hi_keys)
        counts = np.maximum(hi - lo, 0)  # an empty range (hi < lo) is an empty slice
        total = int(counts.sum())
        if total == 0:
            continue
        visit = np.repeat(np.arange(n, dtype=np.int64), counts)
        starts = np.cumsum(counts) - counts
        pos = np.arange(total, dtype=np.int64) + np.repeat(lo - starts, counts)
        person = np.asarray(seg.persons[pos], dtype=np.int64)
        ht = np.asarray(seg.keys[pos], dtype=np.int64) & LOW
        keep = person != visits.subject[visit]
        if min_t is not None:
            keep &= ht >= min_t
        parts_v.append(visit[keep])
        parts_p.append(person[keep])
        parts_t.append(ht[keep])
    if not parts_v:
        return Hits(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    if len(parts_v) == 1:
        return Hits(parts_v[0], parts_p[0], parts_t[0])
    v, p, ht = np.concatenate(parts_v), np.concatenate(parts_p), np.concatenate(parts_t)
    order = np.lexsort((p, ht, v))
    return Hits(v[order], p[order], ht[order])
