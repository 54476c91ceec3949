"""Co-location queries (场所同时段人员, 时空伴随查询): who was at the same venue at the same time as a
subject.

    pairs = colocated(session, actor, person_id=42, since=t0, until=t1)          # one case
    per_case = colocated_batch(session, actor, queries=[CaseQuery(42, t0, t1), …])  # many cases

The subject's visits are their own scans with since ≤ scanned_at ≤ until (the `(person_id,
scanned_at)` index) plus the stays a query brings (the places of a case's interview, with their
visited_from/until); the co-visitors come from the columnar index plus its tail (`store.py`); the
subject's own scans are never co-visits (decisions.md, "Venues and co-location").

Two modes, one `Pair` per (subject visit, co-visitor scan) either way:
- overlapping stays (default): a stay is the interview's visited_from/until when known, else the
  scan time plus the venue category's dwell time (policy pack `venues.dwell_minutes`); a pair is a
  co-visitor scan whose stay overlaps the subject's stay (inclusive);
- `window_min=N`: the symmetric |Δt| ≤ N minutes around each subject scan (scripts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.db import is_postgres
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.schema import Venues as VenuesPolicy
from fangkong.venues.colocation import fastcsv
from fangkong.venues.colocation.core import Hits, Visits, search
from fangkong.venues.colocation.store import _epoch_sql, get_index, kept_from

INVALID_WINDOW = message("colocation.invalid_window", _("invalid window"))
WINDOW_RANGE = message("colocation.window_range", _("0 to %(max)s minutes"))
CHOOSE_SUBJECT = message("colocation.choose_subject", _("choose the subject"))
GIVE_ONE = message("colocation.give_one", _("give one of person, phone, id_number"))
NO_PERSON_ID = message("colocation.no_person_id", _("no person with this ID number"))
NO_PERSON_PHONE = message("colocation.no_person_phone", _("no person with this phone"))
SHARED_PHONE = message("colocation.shared_phone", _("several persons share this phone"))
SHARED_BY = message("colocation.shared_by", _("shared by persons %(persons)s; choose one with --person"))
TOO_MANY_CASES = message("colocation.too_many", _("too many cases"))
AT_MOST_PER_CALL = message("colocation.at_most", _("at most %(max)s per call"))
INVALID_PERIOD = message("period.invalid", _("invalid period"))
BEFORE_SINCE = message("period.before_since", _("before since"))

#: the CSV columns of `fangkong colocation --out` (decisions.md)
PAIR_COLUMNS = ["person_id", "venue_ref", "venue_name", "subject_scanned_at", "covisitor_scanned_at", "gap_min"]
WINDOW_MAX_MIN = 24 * 60
#: a visit's source, as stored in the pair columns
SOURCES = ("scan", "interview")
MAX_CASES = 5000


class Pair(NamedTuple):
    """One co-visit: `person_id` scanned `venue` at `covisitor_scanned_at`, `gap_min` minutes after
    (negative: before) the subject's scan at `subject_scanned_at` — for an interview stay
    (`subject_source` "interview"), the stay's start."""

    person_id: int
    venue_id: int
    venue_ref: str
    venue_name: str
    subject_scanned_at: dt.datetime
    covisitor_scanned_at: dt.datetime
    gap_min: float
    subject_source: str = "scan"

    def row(self) -> list[object]:
        """The CSV/API row: times as local ISO 8601 with offset."""
        return [self.person_id, self.venue_ref, self.venue_name, clock.iso_local(self.subject_scanned_at),
                clock.iso_local(self.covisitor_scanned_at), self.gap_min]


@dataclass(frozen=True)
class Stay:
    """A stay the subject named in an interview (流调地点): at `venue_id` from `start` until `end`
    (None: unknown, then the venue category's dwell time from `start`)."""

    venue_id: int
    start: dt.datetime
    end: dt.datetime | None = None


@dataclass(frozen=True)
class CaseQuery:
    """One subject, the period of their scans to search around, and the stays they named."""

    person_id: int
    since: dt.datetime
    until: dt.datetime
    stays: tuple[Stay, ...] = ()


def window_minutes(session: Session, window_min: int | None) -> int | None:
    """The symmetric window to use (checked), or None for the default mode of overlapping stays."""
    if window_min is None:
        return None
    if not 0 <= window_min <= WINDOW_MAX_MIN:
        raise ValidationFailed(INVALID_WINDOW(), [FieldError("window_min", WINDOW_RANGE(max=WINDOW_MAX_MIN))])
    return int(window_min)


def resolve_subject(session: Session, actor: Actor, *, person_id: int | None = None, phone: str | None = None,
                    id_number: str | None = None) -> int:
    """The subject's person id from exactly one of person id, phone or ID number, within the actor's
    jurisdiction (NotFound otherwise; several persons sharing the phone is a ValidationFailed)."""
    given = [x for x in (person_id, phone, id_number) if x not in (None, "")]
    if len(given) != 1:
        raise ValidationFailed(CHOOSE_SUBJECT(), [FieldError("person", GIVE_ONE())])
    if person_id is not None:
        return scope.get_visible(session, actor, Person, person_id).id
    if id_number:
        person = people_service.find_by_id_number(session, id_number)
        if scope.visible_or_none(actor, person) is None:
            raise NotFound(NO_PERSON_ID())
        return person.id
    persons = [p for p in people_service.find_by_phone(session, phone) if scope.sees(actor, p)]
    if not persons:
        raise NotFound(NO_PERSON_PHONE())
    if len(persons) > 1:
        raise ValidationFailed(SHARED_PHONE(), [FieldError(
            "phone", SHARED_BY(persons=[str(p.id) for p in persons]))])
    return persons[0].id


def _epoch(at: dt.datetime) -> int:
    return int(at.timestamp())


def _sql_time(session: Session, at: dt.datetime) -> object:
    """`at` as the scan table stores it, for a comparison in plain SQL: naive UTC (PostgreSQL), the
    SQLAlchemy text 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLite)."""
    naive = at.astimezone(dt.UTC).replace(tzinfo=None)
    return naive if is_postgres(session) else naive.isoformat(sep=" ", timespec="microseconds")


def _int_list(ids: Sequence[int]) -> str:
    """Integer ids written into the SQL text (ints only: nothing to escape). SQLAlchemy's expanding IN
    costs ~1 ms per 500 ids to compile; written in, a statement is parsed by the database alone."""
    return ",".join(str(int(i)) for i in ids)


def _visible_subjects(session: Session, actor: Actor, ids: Sequence[int]) -> None:
    """NotFound unless every id is a person in the actor's jurisdiction (one statement)."""
    visible: set[int] = set()
    for i in range(0, len(ids), 5000):
        for pid, path in session.execute(text(
                f"SELECT id, unit_path FROM person WHERE id IN ({_int_list(ids[i:i + 5000])})")):
            if scope.sees(actor, path):
                visible.add(int(pid))
    missing = [pid for pid in ids if pid not in visible]
    if missing:
        raise NotFound(record_not_found("person", missing[0]))


@dataclass
class _Venues:
    """The venues of a batch's visits: sorted ids, and per id its ref (else code), name and dwell (s)."""

    ids: np.ndarray
    refs: list[str]
    names: list[str]
    dwell: np.ndarray

    _cells: np.ndarray | None = None

    def at(self, venue: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ids, venue)

    def label_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """refs and names as object arrays (gathered by index)."""
        refs, names = np.empty(len(self.refs), object), np.empty(len(self.names), object)
        refs[:], names[:] = self.refs, self.names
        return refs, names

    def cells(self) -> np.ndarray:
        """Each venue's `ref,name` CSV cells as bytes (made once, shared by a batch's cases)."""
        if self._cells is None:
            self._cells = fastcsv.text_cells([[r, n] for r, n in zip(self.refs, self.names, strict=True)])
        return self._cells


def _venue_facts(venues: VenuesPolicy, rows: dict[int, tuple[str | None, str, str | None]]) -> _Venues:
    ids = sorted(rows)
    dwell_of: dict[str | None, int] = {}
    dwell = np.empty(len(ids), np.int64)
    refs, names = [], []
    for i, v in enumerate(ids):
        category, ref, name = rows[v]
        d = dwell_of.get(category)
        if d is None:
            d = dwell_of[category] = venues.dwell(category) * 60
        dwell[i] = d
        refs.append(ref or str(v))
        names.append(name or "")
    return _Venues(np.array(ids, np.int64), refs, names, dwell)


def visits_of(session: Session, queries: Sequence[CaseQuery], window_min: int | None = None
              ) -> tuple[Visits, np.ndarray, _Venues]:
    """The subjects' visits as parallel arrays (case index, subject, venue, t, lo, hi), each visit's
    source (0 scan, 1 interview stay), and the facts of their venues (ref, name, dwell time): the scans
    and their venues in one statement, the stays' venues in one more when there are stays.

    A scan in the query's period is a stay [t, t + dwell]; an interview stay at a venue replaces the
    scans inside it (the interview's times are known); a stay is kept when it meets the period.
    With `window_min`, the bounds are ±window around t (a stay: from its start − window to its end + window).
    """
    empty = np.empty(0, np.int64)
    if not queries:
        return Visits(empty, empty, empty, empty, empty, empty), empty, _Venues(empty, [], [], empty)
    ids = sorted({q.person_id for q in queries})
    lo, hi = min(q.since for q in queries), max(q.until for q in queries)
    epoch = _epoch_sql(session, "s.scanned_at")
    places: dict[int, tuple[str | None, str, str | None]] = {}
    got: list[tuple[int, int, int]] = []
    for i in range(0, len(ids), 5000):
        for pid, venue, t, category, ref, name in session.execute(text(
                f"SELECT s.person_id, s.place_id, {epoch}, p.category, coalesce(p.ref, p.code), p.name "
                f"FROM scan s JOIN place p ON p.id = s.place_id WHERE s.person_id IN ({_int_list(ids[i:i + 5000])}) "
                "AND s.scanned_at >= :lo AND s.scanned_at <= :hi"),
                {"lo": _sql_time(session, lo), "hi": _sql_time(session, hi)}).all():
            got.append((pid, venue, t))
            if venue not in places:
                places[venue] = (category, ref, name)
    stay_venues = sorted({s.venue_id for q in queries for s in q.stays} - set(places))
    for i in range(0, len(stay_venues), 5000):
        for venue, category, ref, name in session.execute(text(
                "SELECT id, category, coalesce(ref, code), name FROM place "
                f"WHERE id IN ({_int_list(stay_venues[i:i + 5000])})")):
            places[venue] = (category, ref, name)
    pack = policy_service.active_pack(session).venues
    facts = _venue_facts(pack, places)
    default_dwell = pack.colocation_window_min * 60
    scans = np.array(got, np.int64).reshape(-1, 3)
    scans = scans[np.lexsort((scans[:, 2], scans[:, 0]))]
    s_person, s_venue, s_t = scans[:, 0], scans[:, 1], scans[:, 2]
    s_dwell = facts.dwell[facts.at(s_venue)] if s_venue.size else empty
    w = None if window_min is None else window_min * 60

    def dwell(venue: int) -> int:
        k = int(np.searchsorted(facts.ids, venue))
        return int(facts.dwell[k]) if k < facts.ids.size and facts.ids[k] == venue else default_dwell

    parts: list[tuple[np.ndarray, ...]] = []
    for k, q in enumerate(queries):
        a, b = np.searchsorted(s_person, [q.person_id, q.person_id + 1])
        since, until = _epoch(q.since), _epoch(q.until)
        keep = (s_t[a:b] >= since) & (s_t[a:b] <= until)
        venue, t, d = s_venue[a:b][keep], s_t[a:b][keep], s_dwell[a:b][keep]
        start, end, source = t, t if w is not None else t + d, np.zeros(t.shape[0], np.int64)
        if q.stays:
            stays = []
            for s in q.stays:
                if s.start.tzinfo is None or (s.end is not None and s.end.tzinfo is None):
                    raise ValueError("aware datetimes only")
                st = _epoch(s.start)
                en = _epoch(s.end) if s.end is not None and s.end >= s.start else st + dwell(s.venue_id)
                if st <= until and en >= since:
                    stays.append((s.venue_id, st, en))
            inside = np.zeros(t.shape[0], bool)
            for v, st, en in stays:
                inside |= (venue == v) & (t >= st) & (t <= en)  # the interview says how long this visit lasted
            sv = np.array([x[0] for x in stays], np.int64)
            sd = np.array([dwell(x) for x in sv.tolist()], np.int64)
            venue = np.concatenate([sv, venue[~inside]])
            start = np.concatenate([np.array([x[1] for x in stays], np.int64), start[~inside]])
            end = np.concatenate([np.array([x[2] for x in stays], np.int64), end[~inside]])
            d = np.concatenate([sd, d[~inside]])
            source = np.concatenate([np.ones(len(stays), np.int64), source[~inside]])
        b_lo, b_hi = (start - w, end + w) if w is not None else (start - d, end)
        parts.append((np.full(venue.shape[0], k, np.int64), np.full(venue.shape[0], q.person_id, np.int64),
                      venue, start, b_lo, b_hi, source))
    cols = [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(7)]
    return Visits(*cols[:6]), cols[6], facts


def find_hits(session: Session, visits: Visits, window_s: int | None = None, *,
              index_dir: Path | None = None) -> Hits:
    """Co-visits of `visits` in the columnar index plus its tail (the engine, no permission check):
    within ±window_s of each visit when given, else within each visit's own bounds."""
    index = get_index(index_dir)
    segments, watermark = index.snapshot(session)
    tail = index.tail(session, watermark)
    return search([*segments, tail], visits, window_s, min_t=kept_from(session))


class PairSet(Sequence[Pair]):
    """The pairs of one case, held as columns; `Pair` objects are made only when read one by one
    (a batch of 500 cases at city scale holds millions of pairs). `rows(start, stop)` gives a page of
    CSV/API rows and `csv_chunks()` the CSV text, both formatted column-wise (`fastcsv`).
    Sorted by subject scan time, venue, source, co-visitor time, co-visitor: the engine's deterministic
    order, in which an API cursor is a position."""

    def __init__(self, person: np.ndarray, venue: np.ndarray, t_subject: np.ndarray, t_cov: np.ndarray,
                 names: dict[int, tuple[str, str]] | _Venues, source: np.ndarray | None = None) -> None:
        self._person, self._venue, self._ts, self._tc = person, venue, t_subject, t_cov
        self._src = source if source is not None else np.zeros(person.shape[0], np.int64)
        if isinstance(names, dict):
            ids = sorted(names)
            names = _Venues(np.array(ids, np.int64), [names[v][0] for v in ids], [names[v][1] for v in ids],
                            np.zeros(len(ids), np.int64))
        self._venues = names

    def __len__(self) -> int:
        return int(self._person.shape[0])

    def person_ids(self) -> list[int]:
        """The distinct co-visitors, ascending."""
        return np.unique(self._person).tolist()

    def to_list(self) -> list[Pair]:
        return self._make(slice(None))

    def columns(self, sl: slice = slice(None)) -> dict[str, np.ndarray]:
        """The pairs as numpy columns: person, venue, subject and co-visitor unix seconds, source."""
        return {"person_id": self._person[sl], "venue_id": self._venue[sl], "subject_t": self._ts[sl],
                "covisitor_t": self._tc[sl], "source": self._src[sl]}

    def _labels(self, venue: np.ndarray) -> tuple[list[str], list[str]]:
        ids = self._venues.ids
        k = np.minimum(np.searchsorted(ids, venue), max(ids.size - 1, 0))
        known = (ids[k] == venue) if ids.size else np.zeros(venue.shape[0], bool)
        if known.all():  # always, for the service's answers: one gather per column
            refs, names = self._venues.label_arrays()
            return refs[k].tolist(), names[k].tolist()
        refs_l, names_l = self._venues.refs, self._venues.names
        return ([refs_l[i] if ok else str(v) for i, ok, v in zip(k.tolist(), known.tolist(), venue.tolist(), strict=True)],
                [names_l[i] if ok else "" for i, ok in zip(k.tolist(), known.tolist(), strict=True)])

    def _make(self, sl: slice) -> list[Pair]:
        persons, venues = self._person[sl].tolist(), self._venue[sl].tolist()
        ts, tc = self._ts[sl], self._tc[sl]
        sources = [SOURCES[x] for x in self._src[sl].tolist()]
        gaps = np.round((tc - ts) / 60.0, 2).tolist()
        refs, names = self._labels(self._venue[sl])
        stamp: dict[int, dt.datetime] = {}

        def at(sec: int) -> dt.datetime:
            value = stamp.get(sec)
            if value is None:
                value = stamp[sec] = dt.datetime.fromtimestamp(sec, dt.UTC)
            return value

        return [Pair(p, v, r, n, at(a), at(b), g, src)
                for p, v, r, n, a, b, g, src in zip(persons, venues, refs, names, ts.tolist(), tc.tolist(), gaps,
                                                    sources, strict=True)]

    def rows(self, start: int = 0, stop: int | None = None) -> list[list[object]]:
        """The CSV/API rows (`PAIR_COLUMNS`) of pairs start … stop−1, formatted column-wise: the same
        values as `Pair.row()`."""
        sl = slice(start, stop)
        ts, tc = self._ts[sl], self._tc[sl]
        refs, names = self._labels(self._venue[sl])
        return list(map(list, zip(self._person[sl].tolist(), refs, names, fastcsv.iso_local(ts).tolist(),
                                  fastcsv.iso_local(tc).tolist(), np.round((tc - ts) / 60.0, 2).tolist(),
                                  strict=True)))

    def csv_chunks(self, chunk: int = 200_000) -> Iterator[bytes]:
        """The pairs as CSV lines (UTF-8, CRLF, the csv module's quoting, text cells neutralised against
        formulas): byte for byte what `export.write` makes of `rows()`, built column-wise."""
        venue_cells = self._venues.cells()
        for start in range(0, len(self), chunk):
            sl = slice(start, start + chunk)
            venue = self._venue[sl]
            k = np.searchsorted(self._venues.ids, venue)
            if self._venues.ids.size == 0 or (k >= self._venues.ids.size).any() or \
                    (self._venues.ids[np.minimum(k, self._venues.ids.size - 1)] != venue).any():
                raise ValueError("a pair's venue has no label")
            yield fastcsv.pair_lines(self._person[sl], venue_cells[k], self._ts[sl], self._tc[sl])

    def __getitem__(self, index):  # type: ignore[no-untyped-def,override]
        if isinstance(index, slice):
            return self._make(index)
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(index)
        return self._make(slice(i, i + 1))[0]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and self.to_list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Pair]:
        for start in range(0, len(self), 10_000):
            yield from self._make(slice(start, start + 10_000))


def csv_lines(sets: Sequence[PairSet], chunk: int = 200_000) -> Iterator[bytes]:
    """The CSV lines of several cases' pairs in order (a batch export): the cases' columns joined, so
    that a batch of small cases costs a few vectorised passes, not a few per case."""
    if not sets:
        return
    venues = {id(p._venues) for p in sets}
    if len(venues) != 1:
        for p in sets:
            yield from p.csv_chunks(chunk)
        return
    joined = PairSet(*(np.concatenate([getattr(p, a) for p in sets]) for a in ("_person", "_venue", "_ts", "_tc")),
                     sets[0]._venues, np.concatenate([p._src for p in sets]))
    yield from joined.csv_chunks(chunk)


def _pair_sets(visits: Visits, sources: np.ndarray, hits: Hits, n_cases: int, venues: _Venues) -> list[PairSet]:
    # order by (case, subject time, venue, source, co-visitor time, co-visitor): the visits' rank in the
    # first four (few visits), the co-visitor's time and the co-visitor packed in one int64 and sorted
    # (one vectorised sort of values, no argsort); two sort keys when they do not fit in 63 bits
    rank = np.empty(len(visits), np.int64)
    by_rank = np.lexsort((sources, visits.venue, visits.t, visits.case))
    rank[by_rank] = np.arange(len(visits))
    t_lo = int(hits.t.min()) if len(hits) else 0
    span = int(hits.t.max()) - t_lo + 1 if len(hits) else 1
    people = int(hits.person.max()) + 1 if len(hits) else 1
    if len(hits) and int(hits.person.min()) >= 0 and len(visits) * span * people < 2**63:
        packed = (rank[hits.visit] * span + (hits.t - t_lo)) * people + hits.person
        packed.sort()
        rest, person = np.divmod(packed, people)
        r, t_cov = np.divmod(rest, span)
        t_cov += t_lo
        visit = by_rank[r]
    else:
        if len(visits) * span < 2**62:
            order = np.lexsort((hits.person, rank[hits.visit] * span + (hits.t - t_lo)))
        else:
            order = np.lexsort((hits.person, hits.t, rank[hits.visit]))
        visit, person, t_cov = hits.visit[order], hits.person[order], hits.t[order]
    case, venue, t_subject, source = visits.case[visit], visits.venue[visit], visits.t[visit], sources[visit]
    bounds = np.searchsorted(case, np.arange(n_cases + 1), side="left")
    return [PairSet(person[lo:hi], venue[lo:hi], t_subject[lo:hi], t_cov[lo:hi], venues, source[lo:hi])
            for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def colocated_batch(session: Session, actor: Actor, *, queries: Sequence[CaseQuery], window_min: int | None = None,
                    index_dir: Path | None = None) -> list[PairSet]:
    """Co-location for many cases at once (批量时空伴随): one `PairSet` (a sequence of `Pair`, made on
    access) per query, in order, each sorted by subject time, venue, co-visitor time. Overlapping stays
    by default, the symmetric ±window_min with it. Needs `colocation.query`; every subject must be in
    the actor's jurisdiction (NotFound otherwise); audited once with the counts."""
    actor.require("colocation.query")
    if len(queries) > MAX_CASES:
        raise ValidationFailed(TOO_MANY_CASES(), [FieldError("queries", AT_MOST_PER_CALL(max=MAX_CASES))])
    for q in queries:
        if q.since.tzinfo is None or q.until.tzinfo is None:
            raise ValueError("aware datetimes only")
        if q.until < q.since:
            raise ValidationFailed(INVALID_PERIOD(), [FieldError("until", BEFORE_SINCE())])
    _visible_subjects(session, actor, sorted({q.person_id for q in queries}))
    window = window_minutes(session, window_min)
    visits, sources, venues = visits_of(session, queries, window)
    hits = find_hits(session, visits, index_dir=index_dir)
    out = _pair_sets(visits, sources, hits, len(queries), venues)
    audit.record(session, actor, "colocation.query", object_type="person",
                 object_id=queries[0].person_id if len(queries) == 1 else None,
                 cases=len(queries), visits=len(visits), pairs=len(hits), window_min=window,
                 mode="overlap" if window is None else "window", stays=sum(len(q.stays) for q in queries),
                 since=clock.iso_local(min((q.since for q in queries), default=None)),
                 until=clock.iso_local(max((q.until for q in queries), default=None)))
    return out


def colocated(session: Session, actor: Actor, *, person_id: int, since: dt.datetime, until: dt.datetime,
              window_min: int | None = None, stays: Sequence[Stay] = (), index_dir: Path | None = None) -> PairSet:
    """Everyone who was at the venues the person visited between `since` and `until` at the same
    time (场所同时段人员): whose stay overlaps the person's (default), or who scanned within ±window_min
    minutes of each scan; the person's own scans excluded. `stays`: the places of an interview.

    The answer is a `PairSet`: columns, read as `Pair`s, as rows (`rows()`) or as CSV (`csv_chunks()`)."""
    return colocated_batch(session, actor, queries=[CaseQuery(person_id, since, until, tuple(stays))],
                           window_min=window_min, index_dir=index_dir)[0]
