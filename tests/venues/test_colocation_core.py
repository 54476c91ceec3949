"""The co-location search against a brute-force computation on generated data (property tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.venues.colocation.core import Segment, Visits, merge, overlap_bounds, search

T0 = 1_650_000_000

scans = st.lists(st.tuples(st.integers(1, 4), st.integers(0, 600), st.integers(1, 6)), max_size=80)


def brute(rows: list[tuple[int, int, int]], visits: list[tuple[int, int, int, int]], w: int,
          min_t: int | None = None) -> list[tuple[int, int, int]]:
    """(visit index, co-visitor, t) for every scan at the visit's venue with |Δt| ≤ w, not the subject's."""
    out = []
    for i, (_case, subject, venue, t) in enumerate(visits):
        for v, ts, p in rows:
            if v == venue and abs(ts - t) <= w and p != subject and (min_t is None or ts >= min_t):
                out.append((i, p, ts))
    return sorted(out)


def as_segments(rows: list[tuple[int, int, int]], cut: int) -> list[Segment]:
    parts = [rows[:cut], rows[cut:]]
    segs = []
    for part in parts:
        if part:
            a = np.array(part, dtype=np.int64)
            segs.append(Segment.from_unsorted(a[:, 0], a[:, 1] + T0, a[:, 2]))
    return segs


@settings(max_examples=300, deadline=None)
@given(rows=scans, subjects=st.lists(st.integers(1, 6), min_size=1, max_size=4), w=st.integers(0, 120),
       cut=st.integers(0, 80), data=st.data())
def test_search_equals_brute_force(rows, subjects, w, cut, data) -> None:
    # each subject visits some of the scanned (venue, time) points exactly — the edges matter most —
    # and some times of their own
    visits = []
    for case, subject in enumerate(subjects):
        for _ in range(data.draw(st.integers(0, 4))):
            if rows and data.draw(st.booleans()):
                v, t, _p = data.draw(st.sampled_from(rows))
                t += data.draw(st.sampled_from([0, w, -w, w + 1, -w - 1]))
            else:
                v, t = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 600))
            visits.append((case, subject, v, t))
    # the subjects' own visits are scans too
    all_rows = rows + [(v, t, s) for _c, s, v, t in visits]
    min_t = data.draw(st.one_of(st.none(), st.integers(0, 600)))
    vis = Visits(*(np.array([x[k] for x in visits], dtype=np.int64) for k in range(4)))
    vis.t = vis.t + T0
    hits = search(as_segments(all_rows, cut), vis, w, min_t=None if min_t is None else min_t + T0)
    got = sorted(zip(hits.visit.tolist(), hits.person.tolist(), (hits.t - T0).tolist(), strict=True))
    assert got == brute(all_rows, visits, w, min_t)


def test_window_is_inclusive_at_both_ends_and_excludes_the_subject() -> None:
    rows = [(1, 100, 2), (1, 40, 3), (1, 160, 4), (1, 39, 5), (1, 161, 6), (1, 100, 1), (2, 100, 7)]
    seg = as_segments(rows, 0)
    vis = Visits(np.array([0]), np.array([1]), np.array([1]), np.array([100 + T0]))
    hits = search(seg, vis, 60)
    assert sorted(hits.person.tolist()) == [2, 3, 4]


def test_merge_drops_scans_before_the_retention_cut_and_stays_sorted() -> None:
    a = Segment.from_unsorted(np.array([2, 1, 1]), np.array([5, 9, 1]) + T0, np.array([1, 2, 3]))
    b = Segment.from_unsorted(np.array([1, 3]), np.array([4, 0]) + T0, np.array([4, 5]))
    m = merge([a, b], min_t=T0 + 2)
    assert np.all(np.diff(m.keys) >= 0)
    assert sorted(m.persons.tolist()) == [1, 2, 4]


def brute_overlap(rows: list[tuple[int, int, int]], stays: list[tuple[int, int, int, int, int]],
                  dwell: dict[int, int]) -> list[tuple[int, int, int]]:
    """(visit index, co-visitor, t) for every scan whose stay [t, t + dwell] meets the visit's stay
    [start, end] at the same venue (inclusive), not the subject's: interval overlap, written plainly."""
    out = []
    for i, (_case, subject, venue, start, end) in enumerate(stays):
        for v, ts, p in rows:
            if v == venue and p != subject and max(start, ts) <= min(end, ts + dwell[v]):
                out.append((i, p, ts))
    return sorted(out)


@settings(max_examples=300, deadline=None)
@given(rows=scans, subjects=st.lists(st.integers(1, 6), min_size=1, max_size=4),
       dwell=st.fixed_dictionaries({v: st.integers(0, 300) for v in range(1, 5)}), cut=st.integers(0, 80),
       data=st.data())
def test_overlap_search_equals_brute_force(rows, subjects, dwell, cut, data) -> None:
    # a stay is a scan plus its venue's dwell time, or an interview's own from/until; the edges
    # (a co-visitor's stay ending exactly at the subject's start, starting exactly at its end) matter most
    stays = []
    for case, subject in enumerate(subjects):
        for _ in range(data.draw(st.integers(0, 4))):
            if rows and data.draw(st.booleans()):
                v, t, _p = data.draw(st.sampled_from(rows))
                start = t + data.draw(st.sampled_from([0, dwell[v], -dwell[v], dwell[v] + 1, -dwell[v] - 1]))
            else:
                v, start = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 600))
            end = start + (dwell[v] if data.draw(st.booleans()) else data.draw(st.integers(0, 400)))
            stays.append((case, subject, v, start, end))
    all_rows = rows + [(v, s, subj) for _c, subj, v, s, _e in stays]
    arr = [np.array([x[k] for x in stays], dtype=np.int64) for k in range(5)]
    lo, hi = overlap_bounds(arr[3] + T0, arr[4] + T0, np.array([dwell[v] for v in arr[2].tolist()], np.int64))
    vis = Visits(arr[0], arr[1], arr[2], arr[3] + T0, lo, hi)
    hits = search(as_segments(all_rows, cut), vis)
    got = sorted(zip(hits.visit.tolist(), hits.person.tolist(), (hits.t - T0).tolist(), strict=True))
    assert got == brute_overlap(all_rows, stays, dwell)


def test_overlap_of_stays_by_dwell_time() -> None:
    # restaurant 120 min, office 480 min, market 60 min (the default pack's numbers, in seconds here)
    restaurant, office, market = 1, 2, 3
    dwell = {restaurant: 7200, office: 28800, market: 3600}
    t = 10_000 + T0
    rows = [(restaurant, t - T0 + 100 * 60, 11), (office, t - T0 + 7 * 3600, 12), (market, t - T0 + 70 * 60, 13),
            (market, t - T0 + 60 * 60, 14)]
    venues = np.array([restaurant, office, market])
    start = np.full(3, t)
    d = np.array([dwell[v] for v in venues.tolist()])
    lo, hi = overlap_bounds(start, start + d, d)
    hits = search(as_segments(rows, 0), Visits(np.zeros(3, np.int64), np.zeros(3, np.int64), venues, start, lo, hi))
    assert sorted(hits.person.tolist()) == [11, 12, 14]  # the market visit 70 min later does not overlap


def test_merge_into_preallocated_outputs_equals_merge() -> None:
    """The streamed merge (`merge_into`, used with memory-mapped outputs) gives `merge`'s rows in its order,
    whatever the block size, with and without retention."""
    from fangkong.venues.colocation.core import merge_into, merged_size

    rng = np.random.default_rng(11)
    for trial in range(40):
        n, m = (int(x) for x in rng.integers(0, 800, 2))

        def seg(k: int) -> Segment:
            return Segment.from_unsorted(rng.integers(1, 5, k), rng.integers(0, 50, k), rng.integers(0, 10**6, k))

        a, b = seg(n), seg(m)
        min_t = None if trial % 2 else 20
        want = merge([a, b], min_t=min_t)
        size = merged_size([a, b], min_t=min_t, block=97)
        keys, persons = np.empty(size, np.int64), np.empty(size, np.int64)
        assert merge_into(a, b, keys, persons, min_t=min_t, block=int(rng.integers(1, 300))) == size == len(want)
        assert np.array_equal(keys, want.keys) and np.array_equal(persons, want.persons)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3), st.integers(0, 50), st.integers(0, 1)),
                min_size=1, max_size=8, unique=True),
       st.lists(st.tuples(st.integers(0, 7), st.integers(0, 10**6), st.integers(-60, 60)), max_size=40),
       st.booleans())
def test_pairs_ordered_as_the_sort_of_their_fields(visit_rows, hit_rows, huge) -> None:
    """The pairs of each case come in (subject time, venue, source, co-visitor time, co-visitor) order,
    whether the order is one packed sort or (ids too large to pack: `huge`) the two-key lexsort. (Two
    visits alike in all four fields keep their own pairs together, in the visits' order: not drawn.)"""
    from fangkong.venues.colocation.core import Hits
    from fangkong.venues.colocation.service import _pair_sets, _Venues

    n_cases = 3
    case, venue, t, src = (np.array(c, np.int64) for c in zip(*visit_rows, strict=True))
    visits = Visits(case, case + 100, venue, t + 1000)
    hits_v = np.array([h[0] % len(visit_rows) for h in hit_rows], np.int64)
    persons = np.array([h[1] % 1000 + (2**60 if huge else 0) for h in hit_rows], np.int64)
    hits = Hits(hits_v, persons, visits.t[hits_v] + np.array([h[2] for h in hit_rows], np.int64))
    names = _Venues(np.array([1, 2, 3], np.int64), ["a", "b", "c"], ["A", "B", "C"], np.zeros(3, np.int64))
    sets = _pair_sets(visits, src, hits, n_cases, names)
    for k, ps in enumerate(sets):
        got = list(zip(*(ps.columns()[c].tolist() for c in ("subject_t", "venue_id", "source", "covisitor_t",
                                                              "person_id")), strict=True))
        want = sorted((int(visits.t[v]), int(venue[v]), int(src[v]), int(ht), int(p))
                      for v, p, ht in zip(hits.visit.tolist(), hits.person.tolist(), hits.t.tolist(), strict=True)
                      if case[v] == k)
        assert got == want
