"""Co-location queries (时空伴随查询): who scanned the same venue within ±window of a subject's visits.

    pairs = colocated(session, actor, person_id=42, since=t0, until=t1)          # one case
    per_case = colocated_batch(session, actor, queries=[CaseQuery(42, t0, t1), …])  # many cases

The subject's visits are their own scans with since ≤ scanned_at ≤ until (the `(person_id,
scanned_at)` index); the co-visitors come from the columnar index plus its tail (`store.py`); the
subject's own scans are never co-visits. One `Pair` per (subject scan, co-visitor scan) with
|Δt| ≤ window, window inclusive (decisions.md, "Venues and co-location").
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
MAX_CASES = 5000


class Pair(NamedTuple):
    """One co-visit: `person_id` scanned `venue` at `covisitor_scanned_at`, `gap_min` minutes after
    (negative: before) the subject's scan at `subject_scanned_at`."""

    person_id: int
    venue_id: int
    venue_ref: str
    venue_name: str
    subject_scanned_at: dt.datetime
    covisitor_scanned_at: dt.datetime
    gap_min: float

    def row(self) -> list[object]:
        """The CSV/API row: times as local ISO 8601 with offset."""
        return [self.person_id, self.venue_ref, self.venue_name, clock.iso_local(self.subject_scanned_at),
                clock.iso_local(self.covisitor_scanned_at), self.gap_min]


@dataclass(frozen=True)
class CaseQuery:
    """One subject and the period of their scans to search around."""

    person_id: int
    since: dt.datetime
    until: dt.datetime


def window_minutes(session: Session, window_min: int | None) -> int:
    """The window to use: the given one, else the policy's `venues.colocation_window_min`."""
    if window_min is None:
        return policy_service.active_pack(session).venues.colocation_window_min
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
        if person is None or not actor.sees_path(person.unit_path):
            raise NotFound(NO_PERSON_ID())
        return person.id
    persons = [p for p in people_service.find_by_phone(session, phone) if actor.sees_path(p.unit_path)]
    if not persons:
        raise NotFound(NO_PERSON_PHONE())
    if len(persons) > 1:
        raise ValidationFailed(SHARED_PHONE(), [FieldError(
            "phone", SHARED_BY(persons=[str(p.id) for p in persons]))])
    return persons[0].id


def visits_of(session: Session, queries: Sequence[CaseQuery]) -> Visits:
    """The subjects' own scans in their periods, as parallel arrays (case index, subject, venue, t)."""
    if not queries:
        return Visits(*(np.empty(0, np.int64) for _ in range(4)))
    ids = sorted({q.person_id for q in queries})
    lo, hi = min(q.since for q in queries), max(q.until for q in queries)
    by_person: dict[int, list[tuple[int, float]]] = {}
    for i in range(0, len(ids), 500):
        for pid, place_id, at in session.execute(
                select(Scan.person_id, Scan.place_id, Scan.scanned_at)
                .where(Scan.person_id.in_(ids[i:i + 500]), Scan.scanned_at >= lo, Scan.scanned_at <= hi)):
            by_person.setdefault(pid, []).append((place_id, at))
    case, subject, venue, t = [], [], [], []
    for k, q in enumerate(queries):
        for place_id, at in by_person.get(q.person_id, ()):
            if q.since <= at <= q.until:
                case.append(k)
                subject.append(q.person_id)
                venue.append(place_id)
                t.append(int(at.timestamp()))
    return Visits(np.array(case, np.int64), np.array(subject, np.int64), np.array(venue, np.int64),
                  np.array(t, np.int64))


def find_hits(session: Session, visits: Visits, window_s: int, *, index_dir: Path | None = None) -> Hits:
    """Co-visits of `visits` in the columnar index plus its tail (the engine, no permission check)."""
    index = get_index(index_dir)
    segments, watermark = index.snapshot(session)
    tail = index.tail(session, watermark)
    return search([*segments, tail], visits, window_s, min_t=kept_from(session))


class PairSet(Sequence[Pair]):
    """The pairs of one case, held as columns; `Pair` objects are made when read (a batch of 500
    cases at city scale holds millions of pairs: building them all up front would cost seconds).
    Sorted by subject scan time, venue, co-visitor time, co-visitor."""

    def __init__(self, person: np.ndarray, venue: np.ndarray, t_subject: np.ndarray, t_cov: np.ndarray,
                 names: dict[int, tuple[str, str]]) -> None:
        self._person, self._venue, self._ts, self._tc = person, venue, t_subject, t_cov
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
        gaps = np.round((tc - ts) / 60.0, 2).tolist()
        stamp: dict[int, dt.datetime] = {}

        def at(sec: int) -> dt.datetime:
            value = stamp.get(sec)
            if value is None:
                value = stamp[sec] = dt.datetime.fromtimestamp(sec, dt.UTC)
            return value

        names = self._names
        return [Pair(p, v, *names.get(v, (str(v), "")), at(a), at(b), g)
                for p, v, a, b, g in zip(persons, venues, ts.tolist(), tc.tolist(), gaps, strict=True)]

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


def _pair_sets(session: Session, visits: Visits, hits: Hits, n_cases: int) -> list[PairSet]:
    case = visits.case[hits.visit]
    venue = visits.venue[hits.visit]
    t_subject = visits.t[hits.visit]
    order = np.lexsort((hits.person, hits.t, venue, t_subject, case))
    case, venue, t_subject = case[order], venue[order], t_subject[order]
    person, t_cov = hits.person[order], hits.t[order]
    names: dict[int, tuple[str, str]] = {}
    ids = np.unique(venue).tolist()
    for i in range(0, len(ids), 500):
        for pid, ref, code, name in session.execute(
                select(Place.id, Place.ref, Place.code, Place.name).where(Place.id.in_(ids[i:i + 500]))):
            names[pid] = (ref or code, name)
    bounds = np.searchsorted(case, np.arange(n_cases + 1), side="left")
    return [PairSet(person[lo:hi], venue[lo:hi], t_subject[lo:hi], t_cov[lo:hi], names)
            for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def colocated_batch(session: Session, actor: Actor, *, queries: Sequence[CaseQuery], window_min: int | None = None,
                    index_dir: Path | None = None) -> list[PairSet]:
    """Co-location for many cases at once (批量时空伴随): one `PairSet` (a sequence of `Pair`, made on
    access) per query, in order, each sorted by subject scan time, venue, co-visitor time. Needs `colocation.query`; every subject must be
    in the actor's jurisdiction (NotFound otherwise); audited once with the counts."""
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
               if actor.sees_path(path)} if ids else set()
    missing = [pid for pid in ids if pid not in visible]
    if missing:
        raise NotFound(record_not_found("person", missing[0]))
    window = window_minutes(session, window_min)
    visits = visits_of(session, queries)
    hits = find_hits(session, visits, window * 60, index_dir=index_dir)
    out = _pair_sets(session, visits, hits, len(queries))
    audit.record(session, actor, "colocation.query", object_type="person",
                 object_id=queries[0].person_id if len(queries) == 1 else None,
                 cases=len(queries), visits=len(visits), pairs=len(hits), window_min=window,
                 since=clock.iso_local(min((q.since for q in queries), default=None)),
                 until=clock.iso_local(max((q.until for q in queries), default=None)))
    return out


def colocated(session: Session, actor: Actor, *, person_id: int, since: dt.datetime, until: dt.datetime,
              window_min: int | None = None, index_dir: Path | None = None) -> list[Pair]:
    """Everyone who scanned the venues the person scanned between `since` and `until`, within ±window
    minutes of each visit (时空伴随), the person's own scans excluded. Window: the policy's default."""
    return colocated_batch(session, actor, queries=[CaseQuery(person_id, since, until)], window_min=window_min,
                           index_dir=index_dir)[0].to_list()
