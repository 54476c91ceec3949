"""The investigation of a case (流调): the tracing window, the case's own scans, household and
workplace from the registry, venue co-visitors (场所同时段人员: stays overlapping the case's scans and
the places named in the interview), and those places."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, PermissionDenied, ValidationFailed
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service
from fangkong.tracing import rules
from fangkong.tracing.models import Case, CasePlace, Contact
from fangkong.tracing.service.cases import get_case
from fangkong.venues import service as venues_service
from fangkong.venues.colocation import Stay, colocated

HOUSEHOLD_MAX = 50
WORKPLACE_MAX = 300


@dataclass
class ScanRow:
    scanned_at: dt.datetime
    venue_id: int
    venue_ref: str
    venue_name: str


@dataclass
class PersonRow:
    """A person the registry links to the case (household or colleague), masked."""

    person_id: int
    name: str | None
    phone_masked: str | None
    id_number_masked: str | None
    address_text: str | None


@dataclass
class HitRow:
    """A venue co-visitor (场所同时段人员): the visit with the smallest gap, and how many pairs there were;
    `subject_source` says whether the case's time is a scan or the start of an interview stay."""

    person_id: int
    name: str | None
    phone_masked: str | None
    venue_id: int
    venue_ref: str
    venue_name: str
    subject_scanned_at: dt.datetime
    covisitor_scanned_at: dt.datetime
    gap_min: float
    pairs: int
    subject_source: str = "scan"


@dataclass
class Investigation:
    case: Case
    person: Person
    window: tuple[dt.datetime, dt.datetime] | None
    lookback_days: int
    lookback_rule: str
    scans: list[ScanRow] = field(default_factory=list)
    household: list[PersonRow] = field(default_factory=list)
    workplace: list[PersonRow] = field(default_factory=list)
    #: None when the actor may not query co-location (or the case has no window)
    hits: list[HitRow] | None = None
    places: list[CasePlace] = field(default_factory=list)
    #: person id → contact id, for persons already confirmed as contacts of this case
    confirmed: dict[int, int] = field(default_factory=dict)


def case_window(session: Session, case: Case) -> tuple[tuple[dt.datetime, dt.datetime] | None, int, str]:
    """The case's tracing window, with the look-back days and the rule they came from."""
    days, rule = rules.lookback_days(policy_service.active_pack(session))
    window = rules.tracing_window(classification=case.classification, onset_at=case.onset_at,
                                  sampled_at=case.sampled_at, isolated_at=case.isolated_at, now=clock.now(), days=days)
    return window, days, rule


def own_scans(session: Session, actor: Actor, person_id: int, window: tuple[dt.datetime, dt.datetime]
              ) -> list[ScanRow]:
    """The person's own scans in the window, oldest first (through the venues' service)."""
    return [ScanRow(v.scanned_at, v.venue_id, v.venue_ref, v.venue_name) for v in
            venues_service.scans_of_person(session, actor, person_id=person_id, since=window[0], until=window[1])]


def interview_stays(session: Session, case_id: int) -> list[Stay]:
    """The registered places of the case's interview with a known arrival, as stays for co-location."""
    rows = session.execute(select(CasePlace.place_id, CasePlace.visited_from, CasePlace.visited_until).where(
        CasePlace.case_id == case_id, CasePlace.place_id.is_not(None), CasePlace.visited_from.is_not(None)))
    return [Stay(pid, start, end) for pid, start, end in rows]


def _rows(persons: list[Person]) -> list[PersonRow]:
    return [PersonRow(p.id, p.name, p.phone_masked, p.id_number_masked, p.address_text) for p in persons]


def household_of(session: Session, person: Person) -> list[Person]:
    """Persons registered at the same address (同住人员): the same gazetteer address, else the same text."""
    if person.address_id is not None:
        cond = Person.address_id == person.address_id
    elif person.address_text:
        cond = Person.address_text == person.address_text
    else:
        return []
    return list(session.execute(select(Person).where(cond, Person.id != person.id).order_by(Person.id)
                                .limit(HOUSEHOLD_MAX)).scalars())


def colleagues_of(session: Session, person: Person) -> list[Person]:
    """Persons with the same employer (同事)."""
    if person.employer_id is None:
        return []
    return list(session.execute(select(Person).where(Person.employer_id == person.employer_id, Person.id != person.id)
                                .order_by(Person.id).limit(WORKPLACE_MAX)).scalars())


def colocation_hits(session: Session, actor: Actor, case: Case,
                    window: tuple[dt.datetime, dt.datetime] | None) -> list[HitRow] | None:
    """Venue co-visitors of the case in the window (场所同时段人员): everyone whose stay at a venue
    overlapped the case's — the case's scans plus the venue's dwell time, or the interview's
    visited_from/until, places named only in the interview included. One row per person (closest
    visit first); None without the `colocation.query` permission."""
    if window is None or not actor.can("colocation.query"):
        return None
    try:
        pairs = colocated(session, actor, person_id=case.person_id, since=window[0], until=window[1],
                          stays=interview_stays(session, case.id))
    except PermissionDenied:
        return None
    best: dict[int, tuple[float, int, object]] = {}
    for p in pairs:
        seen = best.get(p.person_id)
        if seen is None or abs(p.gap_min) < seen[0]:
            best[p.person_id] = (abs(p.gap_min), (seen[1] if seen else 0) + 1, p)
        else:
            best[p.person_id] = (seen[0], seen[1] + 1, seen[2])
    persons = {p.id: p for p in session.execute(select(Person).where(Person.id.in_(list(best)))).scalars()} \
        if best else {}
    out = []
    for pid, (_gap, n, pair) in best.items():
        person = persons.get(pid)
        out.append(HitRow(pid, person.name if person else None, person.phone_masked if person else None,
                          pair.venue_id, pair.venue_ref, pair.venue_name, pair.subject_scanned_at,  # type: ignore[attr-defined]
                          pair.covisitor_scanned_at, pair.gap_min, n,  # type: ignore[attr-defined]
                          pair.subject_source))  # type: ignore[attr-defined]
    out.sort(key=lambda h: (abs(h.gap_min), h.person_id))
    return out


def investigation_of(session: Session, actor: Actor, case_id: int, *, with_colocation: bool = True) -> Investigation:
    """Everything the investigation page shows (流调信息汇总)."""
    case = get_case(session, actor, case_id)
    person = session.get(Person, case.person_id)
    assert person is not None
    window, days, rule = case_window(session, case)
    inv = Investigation(case, person, window, days, rule)
    if window is not None:
        inv.scans = own_scans(session, actor, person.id, window)
    inv.household = _rows(household_of(session, person))
    inv.workplace = _rows(colleagues_of(session, person))
    if with_colocation:
        inv.hits = colocation_hits(session, actor, case, window)
    inv.places = list(session.execute(select(CasePlace).where(CasePlace.case_id == case.id)
                                      .order_by(CasePlace.visited_from, CasePlace.id)).scalars())
    inv.confirmed = {pid: cid for pid, cid in session.execute(
        select(Contact.person_id, Contact.id).where(Contact.case_id == case.id, Contact.person_id.is_not(None)))}
    return inv


def add_place(session: Session, actor: Actor, *, case_id: int, name: str | None = None, place_id: int | None = None,
              address: str | None = None, visited_from: dt.datetime | None = None,
              visited_until: dt.datetime | None = None, note: str | None = None) -> CasePlace:
    """Record a place named in the interview (流调地点)."""
    actor.require("case.manage")
    case = get_case(session, actor, case_id)
    errors: list[FieldError] = []
    place = None
    if place_id is not None:
        place = session.get(Place, place_id)
        if place is None:
            errors.append(FieldError("place_id", "no such place"))
    name = (name or "").strip() or (place.name if place is not None else "")
    if not name:
        errors.append(FieldError("name", "required"))
    for f, v in (("visited_from", visited_from), ("visited_until", visited_until)):
        if v is not None and v.tzinfo is None:
            errors.append(FieldError(f, "a time zone is required"))
    if not errors and visited_from and visited_until and visited_until < visited_from:
        errors.append(FieldError("visited_until", "before visited_from"))
    if errors:
        raise ValidationFailed("invalid place", errors)
    row = CasePlace(case_id=case.id, place_id=place.id if place is not None else None, name=name[:120],
                    address=(address or "").strip()[:255] or (place.address_text if place is not None else None),
                    visited_from=visited_from, visited_until=visited_until, note=(note or "").strip()[:255] or None,
                    created_at=clock.now(), created_by=actor.username)
    session.add(row)
    session.flush()
    audit.record(session, actor, "tracing.place_added", object_type="case", object_id=case.id, place_row=row.id,
                 place_id=row.place_id)
    return row
