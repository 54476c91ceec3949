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
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, NotFound, ValidationFailed, record_not_found
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.venues.colocation.core import Hits, Visits, search
from fangkong.venues.colocation.store import get_index, kept_from
from fangkong.venues.models import Scan

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


def dwell_minutes(session: Session, venue_ids: Sequence[int]) -> dict[int, int]:
    """Each venue's dwell time in minutes: its category's entry in the active pack's
    `venues.dwell_minutes`, else `venues.colocation_window_min`."""
    venues = policy_service.active_pack(session).venues
    ids = sorted(set(venue_ids))
    out: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        for pid, category in session.execute(select(Place.id, Place.category).where(Place.id.in_(ids[i:i + 500]))):
            out[pid] = venues.dwell(category)
    return {v: out.get(v, venues.colocation_window_min) for v in ids}


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


def visits_of(session: Session, queries: Sequence[CaseQuery], window_min: int | None = None
              ) -> tuple[Visits, np.ndarray]:
    """The subjects' visits as parallel arrays (case index, subject, venue, t, lo, hi) and each visit's
    source (0 scan, 1 interview stay).

    A scan in the query's period is a stay [t, t + dwell]; an interview stay at a venue replaces the
    scans inside it (the interview's times are known); a stay is kept when it meets the period.
    With `window_min`, the bounds are ±window around t (a stay: from its start − window to its end + window).
    """
    if not queries:
        empty = np.empty(0, np.int64)
        return Visits(empty, empty, empty, empty, empty, empty), empty
    ids = sorted({q.person_id for q in queries})
    lo, hi = min(q.since for q in queries), max(q.until for q in queries)
    by_person: dict[int, list[tuple[int, dt.datetime]]] = {}
    for i in range(0, len(ids), 500):
        for pid, place_id, at in session.execute(
                select(Scan.person_id, Scan.place_id, Scan.scanned_at)
                .where(Scan.person_id.in_(ids[i:i + 500]), Scan.scanned_at >= lo, Scan.scanned_at <= hi)):
            by_person.setdefault(pid, []).append((place_id, at))
    venue_ids = {v for rows in by_person.values() for v, _at in rows} | {s.venue_id for q in queries for s in q.stays}
    dwell = {v: m * 60 for v, m in dwell_minutes(session, sorted(venue_ids)).items()}
    w = None if window_min is None else window_min * 60
    cols: list[list[int]] = [[] for _ in range(7)]  # case, subject, venue, t, lo, hi, source

    def add(k: int, subject: int, venue: int, start: int, end: int, source: int) -> None:
        if w is not None:
            b_lo, b_hi = start - w, end + w
        else:
            b_lo, b_hi = start - dwell[venue], end
        for col, value in zip(cols, (k, subject, venue, start, b_lo, b_hi, source), strict=True):
            col.append(value)

    for k, q in enumerate(queries):
        stays = []
        for s in q.stays:
            if s.start.tzinfo is None or (s.end is not None and s.end.tzinfo is None):
                raise ValueError("aware datetimes only")
            start = _epoch(s.start)
            end = _epoch(s.end) if s.end is not None and s.end >= s.start else start + dwell[s.venue_id]
            if start <= _epoch(q.until) and end >= _epoch(q.since):
                stays.append((s.venue_id, start, end))
        for venue, start, end in stays:
            add(k, q.person_id, venue, start, end, 1)
        for place_id, at in by_person.get(q.person_id, ()):
            if not q.since <= at <= q.until:
                continue
            t = _epoch(at)
            if any(v == place_id and start <= t <= end for v, start, end in stays):
                continue  # the interview says how long this visit lasted
            add(k, q.person_id, place_id, t, t if w is not None else t + dwell[place_id], 0)
    arrays = [np.array(c, np.int64) for c in cols]
    return Visits(*arrays[:6]), arrays[6]


def find_hits(session: Session, visits: Visits, window_s: int | None = None, *,
              index_dir: Path | None = None) -> Hits:
    """Co-visits of `visits` in the columnar index plus its tail (the engine, no permission check):
    within ±window_s of each visit when given, else within each visit's own bounds."""
    index = get_index(index_dir)
    segments, watermark = index.snapshot(session)
    tail = index.tail(session, watermark)
    return search([*segments, tail], visits, window_s, min_t=kept_from(session))


class PairSet(Sequence[Pair]):
    """The pairs of one case, held as columns; `Pair` objects are made when read (a batch of 500
    cases at city scale holds millions of pairs: building them all up front would cost seconds).
    Sorted by subject scan time, venue, co-visitor time, co-visitor."""

    def __init__(self, person: np.ndarray, venue: np.ndarray, t_subject: np.ndarray, t_cov: np.ndarray,
                 names: dict[int, tuple[str, str]], source: np.ndarray | None = None) -> None:
        self._person, self._venue, self._ts, self._tc = person, venue, t_subject, t_cov
        self._src = source if source is not None else np.zeros(person.shape[0], np.int64)
        self._names = names

    def __len__(self) -> int:
        return int(self._person.shape[0])

    def person_ids(self) -> list[int]:
        """The distinct co-visitors, ascending."""
        return np.unique(self._person).tolist()

    def to_list(self) -> list[Pair]:
        return self._make(slice(None))

    def _make(self, sl: slice) -> list[Pair]:
        persons, venues = self._person[sl].tolist(), self._venue[sl].tolist()
        ts, tc = self._ts[sl], self._tc[sl]
        sources = [SOURCES[x] for x in self._src[sl].tolist()]
        gaps = np.round((tc - ts) / 60.0, 2).tolist()
        stamp: dict[int, dt.datetime] = {}

        def at(sec: int) -> dt.datetime:
            value = stamp.get(sec)
            if value is None:
                value = stamp[sec] = dt.datetime.fromtimestamp(sec, dt.UTC)
            return value

        names = self._names
        return [Pair(p, v, *names.get(v, (str(v), "")), at(a), at(b), g, src)
                for p, v, a, b, g, src in zip(persons, venues, ts.tolist(), tc.tolist(), gaps, sources, strict=True)]

    def __getitem__(self, index):  # type: ignore[no-untyped-def,override]
        if isinstance(index, slice):
            return self._make(index)
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(index)
        return self._make(slice(i, i + 1))[0]

    def __iter__(self) -> Iterator[Pair]:
        for start in range(0, len(self), 10_000):
            yield from self._make(slice(start, start + 10_000))


def _pair_sets(session: Session, visits: Visits, sources: np.ndarray, hits: Hits, n_cases: int) -> list[PairSet]:
    case = visits.case[hits.visit]
    venue = visits.venue[hits.visit]
    t_subject = visits.t[hits.visit]
    source = sources[hits.visit]
    order = np.lexsort((hits.person, hits.t, source, venue, t_subject, case))
    case, venue, t_subject, source = case[order], venue[order], t_subject[order], source[order]
    person, t_cov = hits.person[order], hits.t[order]
    names: dict[int, tuple[str, str]] = {}
    ids = np.unique(venue).tolist()
    for i in range(0, len(ids), 500):
        for pid, ref, code, name in session.execute(
                select(Place.id, Place.ref, Place.code, Place.name).where(Place.id.in_(ids[i:i + 500]))):
            names[pid] = (ref or code, name)
    bounds = np.searchsorted(case, np.arange(n_cases + 1), side="left")
    return [PairSet(person[lo:hi], venue[lo:hi], t_subject[lo:hi], t_cov[lo:hi], names, source[lo:hi])
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
    ids = sorted({q.person_id for q in queries})
    visible = {pid for pid, path in session.execute(select(Person.id, Person.unit_path).where(Person.id.in_(ids)))
               if scope.sees(actor, path)} if ids else set()
    missing = [pid for pid in ids if pid not in visible]
    if missing:
        raise NotFound(record_not_found("person", missing[0]))
    window = window_minutes(session, window_min)
    visits, sources = visits_of(session, queries, window)
    hits = find_hits(session, visits, index_dir=index_dir)
    out = _pair_sets(session, visits, sources, hits, len(queries))
    audit.record(session, actor, "colocation.query", object_type="person",
                 object_id=queries[0].person_id if len(queries) == 1 else None,
                 cases=len(queries), visits=len(visits), pairs=len(hits), window_min=window,
                 mode="overlap" if window is None else "window", stays=sum(len(q.stays) for q in queries),
                 since=clock.iso_local(min((q.since for q in queries), default=None)),
                 until=clock.iso_local(max((q.until for q in queries), default=None)))
    return out


def colocated(session: Session, actor: Actor, *, person_id: int, since: dt.datetime, until: dt.datetime,
              window_min: int | None = None, stays: Sequence[Stay] = (), index_dir: Path | None = None) -> list[Pair]:
    """Everyone who was at the venues the person visited between `since` and `until` at the same
    time (场所同时段人员): whose stay overlaps the person's (default), or who scanned within ±window_min
    minutes of each scan; the person's own scans excluded. `stays`: the places of an interview."""
    return colocated_batch(session, actor, queries=[CaseQuery(person_id, since, until, tuple(stays))],
                           window_min=window_min, index_dir=index_dir)[0].to_list()
