"""A person's own venue visits (本人扫码记录), read by other capabilities: tracing shows a case's scans
in its investigation through here, never through the scan table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import bulk, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import PermissionDenied
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.venues.models import Scan

MAX_ROWS = 5000


@dataclass(frozen=True)
class ScanVisit:
    """One scan of a venue code by the person: when, and which venue."""

    scanned_at: dt.datetime
    venue_id: int
    venue_ref: str
    venue_name: str
    venue_category: str | None


def scans_of_person(session: Session, actor: Actor, *, person_id: int, since: dt.datetime, until: dt.datetime
                    ) -> list[ScanVisit]:
    """The person's own scans with since ≤ scanned_at ≤ until, oldest first. The person must be in the
    actor's jurisdiction (NotFound otherwise); a person's whereabouts need `case.view` or
    `colocation.query`."""
    if not (actor.can("case.view") or actor.can("colocation.query")):
        raise PermissionDenied("case.view")
    scope.get_visible(session, actor, Person, person_id)
    rows = session.execute(
        select(Scan.scanned_at, Place.id, Place.ref, Place.code, Place.name, Place.category)
        .join(Place, Place.id == Scan.place_id)
        .where(Scan.person_id == person_id, Scan.scanned_at >= since, Scan.scanned_at <= until)
        .order_by(Scan.scanned_at, Scan.id).limit(MAX_ROWS))
    return [ScanVisit(at, vid, ref or code, name, category) for at, vid, ref, code, name, category in rows]


def scans_of_persons(session: Session, actor: Actor, *, person_ids: Sequence[int], since: dt.datetime,
                     until: dt.datetime) -> dict[int, list[ScanVisit]]:
    """`scans_of_person` for many persons in one pass (a zone's residents): person id → their scans,
    oldest first, at most `MAX_ROWS` each. Persons outside the actor's jurisdiction are left out, as the
    single read refuses them; the same permission is needed."""
    if not (actor.can("case.view") or actor.can("colocation.query")):
        raise PermissionDenied("case.view")
    out: dict[int, list[ScanVisit]] = {}
    for part in bulk.chunks(sorted(set(person_ids))):
        seen = session.execute(scope.visible(select(Person.id).where(bulk.in_list(session, Person.id, part)),
                                             actor, Person)).scalars().all()
        if not seen:
            continue
        rows = session.execute(
            select(Scan.person_id, Scan.scanned_at, Place.id, Place.ref, Place.code, Place.name, Place.category)
            .join(Place, Place.id == Scan.place_id)
            .where(bulk.in_list(session, Scan.person_id, list(seen)), Scan.scanned_at >= since,
                   Scan.scanned_at <= until)
            .order_by(Scan.person_id, Scan.scanned_at, Scan.id))
        for pid, at, vid, ref, code, name, category in rows:
            visits = out.setdefault(pid, [])
            if len(visits) < MAX_ROWS:
                visits.append(ScanVisit(at, vid, ref or code, name, category))
    return out


def persons_seen_at(session: Session, place_ids: list[int], since: dt.datetime, until: dt.datetime
                    ) -> dict[int, int]:
    """Who scanned the venues' codes with since ≤ scanned_at < until: person id → the venue of their
    latest scan there (what area-wide testing rounds read for 'present but registered elsewhere';
    a system read, the caller scopes what it shows)."""
    out: dict[int, int] = {}
    for start in range(0, len(place_ids), 5000):
        rows = session.execute(
            select(Scan.person_id, Scan.place_id)
            .where(Scan.place_id.in_(place_ids[start:start + 5000]), Scan.scanned_at >= since,
                   Scan.scanned_at < until)
            .order_by(Scan.scanned_at, Scan.id))
        out.update({pid: place for pid, place in rows})
    return out
