"""Who scanned (扫码人员落人): scans resolved to persons in batches.

A scan gives a phone, an ID number, or both (and a name on the first scan page visit). The matching
order is the registry's (decisions.md): a valid ID number by blind index; then the phone — with a
name, the person of that phone and name (a family shares one phone: another name is another person);
without a name, the phone's first registered holder. Anyone unknown is registered from what the scan
gives (a scan may give only a phone), so the registry is the union of every channel.

Batched because uploads are: two blind-index `IN` queries per 500 rows and one multi-row insert of
the new persons, instead of a round trip per row. (Intake's resolver also does name+address and fuzzy
rules for rows that carry addresses; scans never do, so this narrower matcher gives the same answer.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.db import is_postgres
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.people import crypto
from fangkong.kernel.people import service as people_service
from fangkong.kernel.people.identity import IdNumberCheck, PhoneCheck, check_id_number, check_phone
from fangkong.kernel.people.models import Person

CHUNK = 500
#: persons registered from a scan carry this source; a phone-only one may later receive its ID number
SOURCE = "scan"


@dataclass
class IdentityIn:
    """What one scan says about who scanned."""

    phone: object = None
    id_number: object = None
    name: object = None


@dataclass
class Resolved:
    person_id: int | None = None
    #: how: "id_number" | "phone+name" | "phone" | "new"; None when rejected
    rule: str | None = None
    issues: list[str] = field(default_factory=list)


@dataclass
class _Probe:
    index: int
    id_check: IdNumberCheck | None
    phone_check: PhoneCheck | None
    names: dict[str, Any]
    id_bidx: str | None = None
    phone_bidx: str | None = None


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def check_identity(item: IdentityIn) -> tuple[IdNumberCheck | None, PhoneCheck | None, list[str]]:
    """The checked ID and phone of a scan and its issues; an item with neither a valid ID nor a valid
    phone gets an issue naming what is missing (the caller rejects it)."""
    id_check = check_id_number(item.id_number)
    phone_check = check_phone(item.phone)
    issues: list[str] = []
    if id_check is not None and not id_check.valid:
        issues.append("id_number: " + "; ".join(id_check.issues))
    if phone_check is not None and (not phone_check.valid or phone_check.issues):
        issues.append("phone: " + "; ".join(phone_check.issues or ("not a mobile number",)))
    if id_check is None and phone_check is None:
        issues.append("phone: required (or an ID number)")
    return id_check, phone_check, issues


def _reserve_ids(session: Session, n: int) -> list[int]:
    """Ids for `n` new persons, so one multi-row insert suffices (SQLite would otherwise insert row by
    row to learn each id): a block from the sequence on PostgreSQL, max(id)+1… on SQLite, where this
    transaction already holds the write lock."""
    if is_postgres(session):
        seq = session.execute(text("SELECT pg_get_serial_sequence('person', 'id')")).scalar_one()
        return list(session.execute(text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                    {"s": seq, "n": n}).scalars())
    start = (session.execute(select(func.max(Person.id))).scalar() or 0) + 1
    return list(range(start, start + n))


def resolve_identities(session: Session, actor: Actor, items: Sequence[IdentityIn]) -> list[Resolved]:
    """One `Resolved` per item, in order; unknown people are registered (source "scan", root unit).

    Items with neither a valid ID number nor a valid phone come back without a person and with issues.
    The creation of persons is audited once per batch (`venues.persons_registered`, a count)."""
    out = [Resolved() for _ in items]
    probes: list[_Probe] = []
    for i, item in enumerate(items):
        id_check, phone_check, issues = check_identity(item)
        out[i].issues = issues
        if not (id_check and id_check.valid) and not (phone_check and phone_check.valid):
            continue
        probe = _Probe(i, id_check, phone_check, people_service.name_columns(item.name))
        if id_check is not None and id_check.valid:
            probe.id_bidx = crypto.blind_index(id_check.value, "id_number")
        if phone_check is not None and phone_check.valid:
            probe.phone_bidx = crypto.blind_index(phone_check.value, "phone")
        probes.append(probe)

    by_id: dict[str, int] = {}
    for chunk in _chunks(sorted({p.id_bidx for p in probes if p.id_bidx})):
        by_id.update(session.execute(select(Person.id_number_bidx, Person.id)
                                     .where(Person.id_number_bidx.in_(chunk))).all())
    #: phone blind index → [(person id, name key, has a valid ID, source)] by id
    by_phone: dict[str, list[tuple[int, str | None, bool, str]]] = {}
    for chunk in _chunks(sorted({p.phone_bidx for p in probes if p.phone_bidx})):
        rows = session.execute(select(Person.phone_bidx, Person.id, Person.name_key, Person.id_number_bidx,
                                      Person.source).where(Person.phone_bidx.in_(chunk)).order_by(Person.id))
        for bidx, pid, nkey, idb, source in rows:
            by_phone.setdefault(bidx, []).append((pid, nkey, idb is not None, source))

    new_rows: list[dict[str, Any]] = []
    waiting: list[tuple[int, int]] = []  # (item index, new_rows index)
    attach: dict[int, _Probe] = {}  # existing phone-only scan person → probe whose ID it receives

    def _assign(res: Resolved, index: int, pid: int, rule: str) -> None:
        # persons to be created in this batch carry -(slot + 1) until their ids are reserved
        res.rule = rule
        if pid < 0:
            waiting.append((index, -pid - 1))
        else:
            res.person_id = pid

    for p in probes:
        res = out[p.index]
        name_key = p.names["name_key"]
        if p.id_bidx and p.id_bidx in by_id:
            _assign(res, p.index, by_id[p.id_bidx], "id_number")
            continue
        cands = by_phone.get(p.phone_bidx or "", [])
        if p.id_bidx:
            # a valid, unknown ID: the phone's placeholder registered by an earlier phone-only scan
            # (no ID, same or no name) is this person; anyone else with the phone is somebody else
            hit = next((c for c in cands if c[0] > 0 and not c[2] and c[3] == SOURCE and c[1] in (None, name_key)
                        and c[0] not in attach), None)
            if hit is not None:
                attach[hit[0]] = p
                by_id[p.id_bidx] = hit[0]
                _assign(res, p.index, hit[0], "phone")
                continue
        elif cands:
            hit = next((c for c in cands if c[1] == name_key), None) if name_key else cands[0]
            if hit is not None:
                _assign(res, p.index, hit[0], "phone+name" if name_key else "phone")
                continue
        slot = len(new_rows)
        new_rows.append({**p.names, **people_service.identity_columns(id_check=p.id_check,
                                                                      phone_check=p.phone_check)})
        if p.id_bidx:
            by_id[p.id_bidx] = -slot - 1
        if p.phone_bidx:
            by_phone.setdefault(p.phone_bidx, []).append((-slot - 1, name_key, p.id_bidx is not None, SOURCE))
        _assign(res, p.index, -slot - 1, "new")

    for pid, p in attach.items():
        cols = people_service.identity_columns(id_check=p.id_check, phone_check=None)
        session.execute(update(Person).where(Person.id == pid).values(
            id_number_enc=cols["id_number_enc"], id_number_bidx=cols["id_number_bidx"],
            id_number_valid=True, id_number_masked=cols["id_number_masked"], sex=cols["sex"],
            birth_date=cols["birth_date"], updated_at=clock.now(),
            **({"name": p.names["name"], "name_key": p.names["name_key"]} if p.names["name"] else {})))

    if new_rows:
        root = jurisdictions_service.root_unit(session)
        now = clock.now()
        ids = _reserve_ids(session, len(new_rows))
        for row, pid in zip(new_rows, ids, strict=True):
            row.update(id=pid, unit_id=root.id, unit_path=root.path, created_at=now, updated_at=now,
                       source=SOURCE, address_id=None, address_text=None, employer_id=None)
        for chunk in _chunks(new_rows, 2000):
            session.execute(insert(Person.__table__), chunk)
        for index, slot in waiting:
            out[index].person_id = ids[slot]
        audit.record(session, actor, "venues.persons_registered", object_type="person", count=len(new_rows),
                     source=SOURCE)
    if attach:
        audit.record(session, actor, "venues.persons_identified", object_type="person", count=len(attach),
                     person_ids=sorted(attach))
    return out
