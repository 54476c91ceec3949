"""Finding the person behind a roster row, a sample or a citizen's check (人员匹配).

Every channel resolves through the same matcher (decisions.md): the rules are intake's
(`fangkong.kernel.people.matching.Registry`: valid ID → phone + name → …), applied here to the keys testing
rows carry (name, ID number, phone; no address). A row whose person is unknown creates one from what
it gives, so the registry is the union of everyone any channel has seen.

Intake keeps its batch loader private (`ingest._resolve`); until it exposes one, `resolve_persons` is
the one place testing loads candidates and creates persons (see the report to the lead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import CHUNK, chunks, in_list
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, Joined
from fangkong.kernel.people import crypto
from fangkong.kernel.people.findable import findability_issue
from fangkong.kernel.people.identity import (
    ID_CONVERTED,
    NO_KEY,
    NO_VALID_KEY,
    check_id_numbers,
    check_phone,
    clean_name,
    name_keys,
)
from fangkong.kernel.people.matching import Candidate, Probe, Registry
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.service import NewPerson, create_persons, identity_columns


@dataclass
class PersonKeys:
    """What a row says about a person."""

    name: str | None = None
    id_number: object = None
    phone: object = None


@dataclass
class Resolved:
    person_id: int | None
    #: matcher rule (`id_number`, `phone_name`, `phone` …) or `new_person`; None when rejected
    rule: str | None
    issues: list[str] = field(default_factory=list)
    rejected: bool = False


_COLS = (Person.id, Person.name_key, Person.id_number_bidx, Person.phone_bidx, Person.unit_id,
         Person.address_id, Person.address_text, Person.birth_date)


def resolve_persons(session: Session, actor: Actor, rows: Sequence[PersonKeys], *, source: str,
                    unit: Unit | None = None, require_valid_key: bool = False) -> list[Resolved]:
    """One person per row, in order; persons are created where nothing matches (in `unit`, else the
    actor's unit, else the root). A row with neither an ID number nor a phone is rejected, and so is a
    row with nothing to find the person by again (no valid number and no real name: `findable`);
    invalid numbers are otherwise issues (kept on a new person, never used as keys) — unless
    `require_valid_key`, for rows that carry nothing else to know the person by (a scan): then a row
    without a valid ID number or phone is rejected. Rows of one call resolve against each other as against stored persons."""
    aliases = crypto.IndexAliases()  # during a key rotation: rows under the old key are found too
    id_checks = check_id_numbers([r.id_number if r.id_number not in ("", None) else None for r in rows])
    keys = name_keys([r.name or None for r in rows])
    phone_checks = [check_phone(r.phone if r.phone not in ("", None) else None) for r in rows]
    probes: list[Probe | None] = []
    out: list[Resolved] = []
    for row, id_check, phone_check, nk in zip(rows, id_checks, phone_checks, keys, strict=True):
        res = Resolved(None, None)
        if id_check is not None and not id_check.valid:
            res.issues.extend(FieldIssue("id_number", m) for m in id_check.issues)
        elif id_check is not None and id_check.converted:
            res.issues.append(FieldIssue("id_number", ID_CONVERTED()))
        if phone_check is not None and phone_check.issues:
            res.issues.extend(FieldIssue("phone", m) for m in phone_check.issues)
        if id_check is None and phone_check is None:
            res.rejected = True
            res.issues.append(FieldIssue("id_number", NO_KEY()))
            probes.append(None)
        elif require_valid_key and not ((id_check and id_check.valid) or (phone_check and phone_check.valid)):
            res.rejected = True
            if not res.issues:
                res.issues.append(FieldIssue("phone", NO_VALID_KEY()))
            probes.append(None)
        elif (junk := findability_issue(name=row.name, id_check=id_check, phone_check=phone_check)) is not None:
            # junk does not become people: nothing here could find this person again
            res.rejected = True
            res.issues.append(junk)
            probes.append(None)
        else:
            probes.append(Probe(
                name_key=nk,
                id_bidx=aliases.index(id_check.value, "id_number") if id_check and id_check.valid else None,
                phone_bidx=aliases.index(phone_check.value, "phone") if phone_check and phone_check.valid
                else None,
                birth_date=id_check.birth_date if id_check else None))
        out.append(res)

    registry = Registry()
    ids = aliases.searched({p.id_bidx for p in probes if p is not None and p.id_bidx})
    phones = aliases.searched({p.phone_bidx for p in probes if p is not None and p.phone_bidx})
    if ids and phones and len(ids) <= CHUNK and len(phones) <= CHUNK:
        # the usual small call (a scan, a lead): both keys in one statement; ID-number hits are
        # registered first, as the two separate lookups below would
        both = list(session.execute(select(*_COLS).where(or_(in_list(session, Person.id_number_bidx, ids),
                                                              in_list(session, Person.phone_bidx, phones)))))
        idset = set(ids)
        for p in sorted(both, key=lambda p: p.id_number_bidx not in idset):
            registry.add(aliases.fold(Candidate(*p)))
    else:
        for chunk in chunks(ids):
            for p in session.execute(select(*_COLS).where(in_list(session, Person.id_number_bidx, chunk))):
                registry.add(aliases.fold(Candidate(*p)))
        for chunk in chunks(phones):
            for p in session.execute(select(*_COLS).where(in_list(session, Person.phone_bidx, chunk))):
                registry.add(aliases.fold(Candidate(*p)))

    home_unit: Unit | None = unit

    def home() -> Unit:
        """Where new persons go, looked up only when a row creates one (a known visitor costs nothing)."""
        nonlocal home_unit
        if home_unit is None and actor.unit_id is not None:
            home_unit = session.get(Unit, actor.unit_id)
        if home_unit is None:
            home_unit = jurisdictions_service.root_unit(session)
        return home_unit
    now = clock.now()
    new_person_of: dict[int, NewPerson] = {}  # id(candidate) → the person this call creates
    learned: set[int] = set()  # stored persons who gained an ID number, phone or name from a row
    pending: list[tuple[Resolved, Candidate]] = []  # rows whose person is new in this call
    for i, (row, probe, res) in enumerate(zip(rows, probes, out, strict=True)):
        if probe is None:
            continue
        match = registry.match(probe)
        if match is None:
            person = NewPerson(unit_id=home().id, name=row.name, id_check=id_checks[i], phone_check=phone_checks[i],
                               gained={})
            cand = Candidate(None, probe.name_key, probe.id_bidx, probe.phone_bidx, home().id, None, None,
                             probe.birth_date, created_by_row=i)
            registry.add(cand)
            new_person_of[id(cand)] = person
            pending.append((res, cand))
            res.rule = "new_person"
            continue
        cand = match.candidate
        res.rule = match.rule
        # keys the person lacked and the row brings (the registry learns from every channel)
        gained: dict[str, object] = {}
        if probe.id_bidx and not cand.id_bidx:
            gained.update({k: v for k, v in identity_columns(id_check=id_checks[i], phone_check=None).items()
                           if k.startswith("id_number") or k in ("sex", "birth_date")})
        if probe.phone_bidx and not cand.phone_bidx:
            gained.update({k: v for k, v in identity_columns(id_check=None, phone_check=phone_checks[i]).items()
                           if k.startswith("phone")})
        if probe.name_key and not cand.name_key:
            gained.update({"name": clean_name(row.name), "name_key": probe.name_key})
        registry.reindex(cand, id_bidx=probe.id_bidx, phone_bidx=probe.phone_bidx, name_key=probe.name_key)
        if cand.person_id is None:  # a person of this call: folded into its row
            new_person_of[id(cand)].gained.update(gained)  # type: ignore[union-attr]
            pending.append((res, cand))
            continue
        res.person_id = cand.person_id
        target = session.get(Person, cand.person_id) if gained else None
        if target is not None:
            for k, v in gained.items():
                setattr(target, k, v)
            target.updated_at = now
            learned.add(cand.person_id)
    # the persons nobody matched, through the registry's one write path (audited there, as the actor)
    created = dict(zip(new_person_of, create_persons(session, actor, list(new_person_of.values()), source=source),
                       strict=True))
    for res, cand in pending:
        res.person_id = created[id(cand)]
    # what the registry learned, audited per call (counts and ids; never the numbers)
    if learned:
        audit.record(session, actor, "people.keys_learned", object_type="person", count=len(learned),
                     person_ids=sorted(learned), source=source)
    return out


def resolve_person(session: Session, actor: Actor, keys: PersonKeys, *, source: str,
                   unit: Unit | None = None) -> Resolved:
    """`resolve_persons` for one row."""
    return resolve_persons(session, actor, [keys], source=source, unit=unit)[0]


def find_known(session: Session, *, id_number: object = None, phone: object = None,
               name: str | None = None) -> tuple[list[int], str | None]:
    """Persons already known by a valid ID number, or by a valid phone (narrowed by name when given),
    without creating anyone: (person ids, issue). Unscoped: for matching."""
    from fangkong.kernel.people.identity import check_id_number, name_key

    id_check = check_id_number(id_number) if id_number not in (None, "") else None
    if id_check is not None:
        if not id_check.valid:
            return [], FieldIssue("id_number", Joined(id_check.issues))
        bidx = crypto.blind_indexes(id_check.value, "id_number")
        pid = session.execute(select(Person.id).where(Person.id_number_bidx.in_(bidx))
                              .order_by(Person.id)).scalars().first()
        return ([pid] if pid is not None else []), None
    phone_check = check_phone(phone) if phone not in (None, "") else None
    if phone_check is None:
        return [], None
    if not phone_check.valid:
        return [], FieldIssue("phone", Joined(phone_check.issues))
    bidx = crypto.blind_indexes(phone_check.value, "phone")
    found = session.execute(select(Person.id, Person.name_key).where(Person.phone_bidx.in_(bidx))
                            .order_by(Person.id)).all()
    nk = name_key(name) if name else None
    if nk:
        found = [f for f in found if f.name_key == nk]
    return [f.id for f in found], None
