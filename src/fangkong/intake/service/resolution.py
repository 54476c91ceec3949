"""Resolution of a batch of leads into persons (线索落人, 即知): load the stored persons that share a key
with the batch (a few IN-list queries), match each row in order (`matching.Registry`), create the
persons nobody matched with one bulk insert, and teach stored persons the keys a lead brought."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import chunks, in_list
from fangkong.kernel.db import is_postgres
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import crypto
from fangkong.kernel.people.matching import Candidate, Probe, Registry
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.service import NewPerson, create_persons, identity_columns

if TYPE_CHECKING:
    from fangkong.intake.service.ingest import _Row


def _candidate(p: Any) -> Candidate:
    return Candidate(p.id, p.name_key, p.id_number_bidx, p.phone_bidx, p.unit_id, p.address_id, p.address_text,
                     p.birth_date)


_CAND_COLS = (Person.id, Person.name_key, Person.id_number_bidx, Person.phone_bidx, Person.unit_id,
              Person.address_id, Person.address_text, Person.birth_date)


def _probe(r: _Row, aliases: crypto.IndexAliases) -> Probe:
    return Probe(
        name_key=r.name_key,
        id_bidx=aliases.index(r.id_check.value, "id_number") if r.id_check and r.id_check.valid else None,
        phone_bidx=aliases.index(r.phone_check.value, "phone") if r.phone_check and r.phone_check.valid
        else None,
        unit_id=r.unit.id if r.unit is not None else None, address_id=r.address_id,
        address_text=r.text.get("address"),
        birth_date=r.id_check.birth_date if r.id_check else None)


def _load_candidates(session: Session, registry: Registry, probes: list[Probe], root: Unit,
                     aliases: crypto.IndexAliases) -> None:
    """Stored persons sharing a key with the batch: by ID and phone (under the retiring key too, during a
    key rotation), then (for probes those keys do not settle) by address row and (name, unit)."""
    ids = aliases.searched({p.id_bidx for p in probes if p.id_bidx})
    phones = aliases.searched({p.phone_bidx for p in probes if p.phone_bidx})
    for p in _persons_by_keys(session, [(Person.id_number_bidx, ids), (Person.phone_bidx, phones)]):
        registry.add(aliases.fold(_candidate(p)))
    # "name and address on the same grid": only addresses the gazetteer placed on a grid take part
    unsettled = [p for p in probes if p.name_key and p.address_key and p.unit_id is not None
                 and _needs_place(registry, p)]
    addr_ids = sorted({p.address_id for p in unsettled if p.address_id is not None})
    for chunk in chunks(addr_ids):
        for p in session.execute(select(*_CAND_COLS).where(in_list(session, Person.address_id, chunk))):
            registry.add(aliases.fold(_candidate(p)))
    paths = {u.id: u.path for u in [root]}
    unit_ids = sorted({p.unit_id for p in unsettled if p.unit_id is not None} - set(paths))
    for chunk in chunks(unit_ids):
        paths.update(dict(session.execute(select(Unit.id, Unit.path).where(in_list(session, Unit.id, chunk))).all()))
    names_by_path: dict[str, set[str]] = defaultdict(set)
    for p in unsettled:
        names_by_path[paths.get(p.unit_id or root.id, root.path)].add(p.name_key or "")
    for path, names in sorted(names_by_path.items()):
        for chunk in chunks(sorted(names)):
            # only persons with an address can match by name and address (ix_person_name_key_unit)
            stmt = select(*_CAND_COLS).where(in_list(session, Person.name_key, chunk), Person.unit_path == path,
                                             Person.address_text.is_not(None))
            for p in session.execute(stmt):
                registry.add(aliases.fold(_candidate(p)))


def _persons_by_keys(session: Session, lookups: list[tuple[Any, list[str]]]) -> Iterator[Any]:
    """The stored persons whose blind-index `column` is one of its `keys`, for each (column, keys), as
    candidate rows.

    On PostgreSQL one statement per 5,000 keys, each key looked up on its own (`unnest` joined
    LATERAL to a subquery that cannot be flattened, `OFFSET 0`: a nested loop over the index whatever
    the statistics say). The plain `= ANY(keys)` is planned from statistics a freshly loaded registry
    does not have yet (autovacuum has not analysed it, or is off): PostgreSQL then reads all of a
    1,000,000-person table for every 500 phone numbers (0.75 s each; 108 s for 100,000 leads). The same
    missing statistics make the nested loop look costly enough to be JIT-compiled (0.3-1 s per statement,
    for lookups that take 0.1 s), so JIT is off for these statements only. On SQLite an IN-list per
    chunk, searched by the index.
    """
    if not is_postgres(session):
        for column, keys in lookups:
            for chunk in chunks(keys):
                yield from session.execute(select(*_CAND_COLS).where(in_list(session, column, chunk)))
        return
    if not any(keys for _, keys in lookups):
        return
    cols = ", ".join(f"p.{c.name}" for c in _CAND_COLS)
    # transaction-local (`set_config(..., true)`), restored after the lookups; not in a `finally`: after a
    # failed statement (a lost connection) the restore could only fail too and hide the first error (a
    # 503 to retry) behind a PendingRollbackError (a 500), and the transaction's end resets it anyway
    jit = session.execute(text("SELECT current_setting('jit'), set_config('jit', 'off', true)")).scalar_one()
    for column, keys in lookups:
        stmt = text(f"SELECT {cols} FROM unnest(:keys) AS k(v) CROSS JOIN LATERAL "
                    f"(SELECT * FROM person WHERE {column.name} = k.v OFFSET 0) AS p").bindparams(
            bindparam("keys", type_=ARRAY(String)))
        for chunk in chunks(keys, 5000):
            yield from session.execute(stmt, {"keys": list(chunk)}).all()
    session.execute(text("SELECT set_config('jit', :jit, true)"), {"jit": jit})


def _needs_place(registry: Registry, probe: Probe) -> bool:
    m = registry.match(probe)
    return m is None or m.rule not in ("id_number", "phone_name", "phone")


def resolve_rows(session: Session, actor: Actor, rows: list[_Row], now: dt.datetime, root: Unit) -> int:
    """Attach every accepted row to one person, creating persons (bulk) where nothing matches.
    Returns the number of persons created."""
    live = [r for r in rows if r.report.status == "accepted"]
    aliases = crypto.IndexAliases()  # during a key rotation: persons under the old key are found too
    probes = [_probe(r, aliases) for r in live]
    registry = Registry()
    _load_candidates(session, registry, probes, root, aliases)
    new: list[tuple[_Row, Candidate]] = []
    creator: dict[int, _Row] = {}
    fill: dict[int, dict[str, Any]] = {}
    for i, (r, probe) in enumerate(zip(live, probes, strict=True)):
        match = registry.match(probe)
        if match is None:
            unit = r.unit or root
            cand = Candidate(None, probe.name_key, probe.id_bidx, probe.phone_bidx, unit.id, probe.address_id,
                             probe.address_text, probe.birth_date, created_by_row=i)
            registry.add(cand)
            new.append((r, cand))
            creator[id(cand)] = r
            r.candidate, r.rule = cand, "new_person"
            continue
        cand = match.candidate
        r.candidate, r.rule = cand, match.rule
        # keys the person lacked and the lead brings (so the registry learns from every channel)
        gained: dict[str, Any] = {}
        if probe.id_bidx and not cand.id_bidx:
            gained.update({k: v for k, v in identity_columns(id_check=r.id_check, phone_check=None).items()
                           if k.startswith("id_number") or k in ("sex", "birth_date")})
        if probe.phone_bidx and not cand.phone_bidx:
            gained.update({k: v for k, v in identity_columns(id_check=None, phone_check=r.phone_check).items()
                           if k.startswith("phone")})
        if probe.name_key and not cand.name_key:
            gained.update({"name": r.name, "name_key": probe.name_key})
        if r.address_id is not None and cand.address_id is None:
            gained.update({"address_id": r.address_id, "address_text": r.text["address"]})
        registry.reindex(cand, id_bidx=probe.id_bidx, phone_bidx=probe.phone_bidx, name_key=probe.name_key,
                         address_id=r.address_id)
        if gained:
            if cand.person_id is None:  # a person of this batch: fold into its insert row
                creator[id(cand)].report.extra.setdefault("_gained", {}).update(gained)
            else:
                fill.setdefault(cand.person_id, {}).update(gained)
    if new:
        # the registry's one write path, as the actor who handed the leads in (audited there)
        ids = create_persons(session, actor, [
            NewPerson(unit_id=cand.unit_id or root.id, name=r.name, id_check=r.id_check, phone_check=r.phone_check,
                      address_id=r.address_id, address_text=r.text["address"],
                      gained=r.report.extra.pop("_gained", {})) for r, cand in new], source="lead")
        for (_r, cand), pid in zip(new, ids, strict=True):
            cand.person_id = pid
    # keys gained by stored persons: one executemany per set of columns
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for pid, cols in fill.items():
        groups[tuple(sorted(cols))].append({"_pid": pid, **{f"_{k}": v for k, v in cols.items()}})
    table = Person.__table__
    for names, group in groups.items():
        stmt = (update(table).where(table.c.id == bindparam("_pid"))
                .values({**{k: bindparam(f"_{k}") for k in names}, "updated_at": now}))
        session.execute(stmt, group)
    for r in live:
        assert r.candidate is not None and r.candidate.person_id is not None
        r.report.person_id = r.candidate.person_id
        r.report.extra["match_rule"] = r.rule
    return len(new)
