"""Taking leads in (线索接收, 即知): read → dedupe → resolve to persons → decide → assign a task.

One batched pipeline for files and API batches alike. Every step works on the whole batch with a
few queries (IN-lists in chunks) and Core bulk inserts, so 100,000 leads against a 1,000,000-person
registry take seconds, not an hour of per-row ORM round trips (`fangkong bench intake`).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import json
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.intake import kinds, rules
from fangkong.intake.headers import BadTime, parse_category, parse_time
from fangkong.intake.models import CHANNELS, AssistRequest, Lead, LeadBatch
from fangkong.intake.service.resolution import resolve_rows
from fangkong.intake.service.risk_areas import area_spans_for
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import bulk_insert, in_list, reserve_ids
from fangkong.kernel.bulk import chunks as _chunks
from fangkong.kernel.errors import REQUIRED, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import FieldIssue, Term, _, issue, issue_stored, message, reason_of
from fangkong.kernel.people import crypto
from fangkong.kernel.people.findable import findability_issue
from fangkong.kernel.people.identity import (
    ID_CONVERTED,
    IdNumberCheck,
    PhoneCheck,
    check_id_numbers,
    check_phone,
    clean_name,
    name_keys,
)
from fangkong.kernel.people.matching import Candidate
from fangkong.kernel.people.models import Person
from fangkong.kernel.people.service import identity_columns
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.policy.labels import category_term
from fangkong.kernel.policy.schema import CATEGORIES, Pack
from fangkong.kernel.tabular import ReportRow
from fangkong.kernel.tasks import service as tasks_service

CUT = message("field.cut", _("longer than %(limit)s characters, cut"))
UNKNOWN_CATEGORY = message("lead.unknown_category", _("unknown category %(category)s"))
UNKNOWN_CATEGORY_OF = message("lead.unknown_category_of", _("unknown category %(category)s; one of %(categories)s"))
UNKNOWN_CHANNEL = message("lead.unknown_channel", _("unknown channel %(channel)s; one of %(channels)s"))
INVALID_BATCH = message("lead.invalid_batch", _("invalid lead batch"))
NO_NAME = message("lead.no_name", _("no name"))
NO_ADDRESS = message("lead.no_address", _("no address"))
NOTHING_TO_FIND = message("lead.nothing_to_find", _("nothing to find the person by (no ID number, no phone, %(missing)s)"))
CATEGORY_NOT_IN_PACK = message("lead.category_not_in_pack", _(
    "%(category)s is not a category of the active policy pack %(pack)s: decided by the other fields"))
#: internal channels whose leads carry a decision fixed by their category (`ingest_leads(fixed_decision=True)`)
FIXED_CHANNELS: tuple[str, ...] = ("control",)
#: every category code the platform knows (a file may name one the active pack lacks)
ALL_CATEGORIES = frozenset(CATEGORIES)

TEXT_LIMITS = {"origin": 100, "address": 255, "transport": 64, "reason": 255, "source_ref": 128}
LEAD_IDENTITY = ("id_number_enc", "id_number_bidx", "id_number_valid", "id_number_masked",
                 "phone_enc", "phone_bidx", "phone_masked")


@dataclass
class LeadItem:
    """One lead as received: canonical field → text, unknown columns, and the raw payload to keep."""

    number: int
    values: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] | None = None


@dataclass
class IngestResult:
    batch_id: int
    #: a list, or for a file a `ReportLog` (memory flat in the row count)
    rows: Sequence[ReportRow]
    #: seconds spent in each stage (for `fangkong bench intake`)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        from fangkong.kernel.tabular import summarise

        return summarise(self.rows)


@dataclass
class _Row:
    item: LeadItem
    report: ReportRow
    name: str | None = None
    name_key: str | None = None
    id_check: IdNumberCheck | None = None
    phone_check: PhoneCheck | None = None
    text: dict[str, str | None] = field(default_factory=dict)
    arrival_at: dt.datetime | None = None
    category: str | None = None
    content_hash: str | None = None
    unit: Unit | None = None
    address_id: int | None = None
    candidate: Candidate | None = None
    rule: str | None = None
    #: the earlier row of the same batch this one repeats
    dup_of: _Row | None = None


class _Lap:
    def __init__(self, out: dict[str, float]) -> None:
        self.out, self.t = out, time.perf_counter()

    def __call__(self, name: str) -> None:
        t = time.perf_counter()
        self.out[name] = round(t - self.t, 3)
        self.t = t


def _text(value: Any) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(value or "")).split())


def _normalise(rows: list[_Row], *, channel: str, default_category: str | None, known: frozenset[str],
               pack: Pack | None = None) -> None:
    """Fill each row's checked fields and issues; reject rows with nothing to find a person by."""
    id_checks = check_id_numbers([r.item.values.get("id_number") or None for r in rows])
    keys = name_keys([r.item.values.get("name") or None for r in rows])
    # the same arrival time, origin or transport on many rows of a file: worked out once per chunk
    # (and one datetime object for them all, converted once when the rows are stored)
    times: dict[str, dt.datetime | BadTime | None] = {}
    texts: dict[Any, str] = {}
    for r, id_check, nk in zip(rows, id_checks, keys, strict=True):
        v, issues = r.item.values, r.report.issues
        r.name = clean_name(v.get("name") or None)
        r.name_key = nk
        if r.name and len(r.name) > 64:
            issues.append(FieldIssue("name", CUT(limit=64)))
            r.name, r.name_key = r.name[:64], (nk or "")[:64] or None
        r.id_check = id_check
        if id_check is not None and not id_check.valid:
            issues.extend(FieldIssue("id_number", m) for m in id_check.issues)
        elif id_check is not None and id_check.converted:
            issues.append(FieldIssue("id_number", ID_CONVERTED()))
        r.phone_check = check_phone(v.get("phone") or None)
        if r.phone_check is not None and r.phone_check.issues:
            issues.extend(FieldIssue("phone", m) for m in r.phone_check.issues)
        for f, limit in TEXT_LIMITS.items():
            raw = v.get(f)
            if f in ("origin", "transport"):
                t = texts.get(raw)
                if t is None:
                    t = texts[raw] = _text(raw)
            else:
                t = _text(raw)
            if len(t) > limit:
                issues.append(FieldIssue(f, CUT(limit=limit)))
                t = t[:limit]
            r.text[f] = t or None
        when = v.get("arrival_at") or ""
        if when not in times:
            try:
                times[when] = parse_time(when)
            except BadTime as exc:
                times[when] = exc
        parsed = times[when]
        if isinstance(parsed, BadTime):
            issues.append(FieldIssue("arrival_at", reason_of(parsed)))
        else:
            r.arrival_at = parsed
        given = _text(v.get("category"))
        r.category = default_category
        if given:
            code = parse_category(given, known)
            if code is not None:
                r.category = code
            elif parse_category(given, ALL_CATEGORIES) is not None and pack is not None:
                # a category of another pack (次密接 under the 二十条): said plainly, decided without it
                issues.append(issue("category", CATEGORY_NOT_IN_PACK(category=given, pack=pack.title())))
            else:
                issues.append(FieldIssue("category", UNKNOWN_CATEGORY(category=repr(given))))
        if r.id_check is None and r.phone_check is None and not (r.name_key and r.text["address"]):
            r.report.status = "rejected"
            missing = NO_NAME() if not r.name_key and r.text["address"] else NO_ADDRESS()
            issues.append(FieldIssue("id_number", NOTHING_TO_FIND(missing=missing)))
            continue
        junk = findability_issue(name=r.name, id_check=r.id_check, phone_check=r.phone_check)
        if junk is not None:  # junk does not become people (the rule every channel applies)
            r.report.status = "rejected"
            issues.append(junk)
            continue
        if r.text["source_ref"] is None:
            content = [channel, r.name_key, r.id_check.value if r.id_check else None,
                       r.phone_check.value if r.phone_check else None, r.text["origin"],
                       r.arrival_at.isoformat() if r.arrival_at else None, r.text["address"],
                       r.text["transport"], r.text["reason"], r.category]
            # keyed (HMAC), so the hash of a row cannot be brute-forced back to an ID number
            # under the signing key, stable across key rotations (a re-sent file stays a duplicate)
            r.content_hash = crypto.stable_digest(json.dumps(content, ensure_ascii=False), "lead_content")


def _dedupe(session: Session, rows: list[_Row], channel: str) -> None:
    """Mark rows already stored, or repeated earlier in the batch, as duplicates (nothing changes)."""
    live = [r for r in rows if r.report.status == "accepted"]
    refs = sorted({r.text["source_ref"] for r in live if r.text["source_ref"]})
    hashes = sorted({r.content_hash for r in live if r.content_hash})
    by_ref: dict[str, tuple[int, int | None]] = {}
    by_hash: dict[str, tuple[int, int | None]] = {}
    for chunk in _chunks(refs):
        stmt = select(Lead.source_ref, Lead.id, Lead.person_id).where(in_list(session, Lead.source_ref, chunk),
                                                                    Lead.channel == channel)
        by_ref.update({ref: (lid, pid) for ref, lid, pid in session.execute(stmt)})
    for chunk in _chunks(hashes):
        stmt = select(Lead.content_hash, Lead.id, Lead.person_id).where(in_list(session, Lead.content_hash, chunk))
        by_hash.update({h: (lid, pid) for h, lid, pid in session.execute(stmt)})
    first_of: dict[tuple[str, str], _Row] = {}
    for r in live:
        key = ("ref", r.text["source_ref"]) if r.text["source_ref"] else ("hash", r.content_hash or "")
        stored = by_ref.get(key[1]) if key[0] == "ref" else by_hash.get(key[1])
        if stored is not None:
            r.report.status = "duplicate"
            r.report.extra["lead_id"], r.report.person_id = stored
            continue
        if key in first_of:
            r.report.status = "duplicate"
            r.report.extra["duplicate_of_row"] = first_of[key].item.number
            r.dup_of = first_of[key]
            continue
        first_of[key] = r


def in_force_of(session: Session, person_ids: Sequence[int], at: dt.datetime) -> dict[int, list[rules.InForce]]:
    found = control_service.measures_in_force(session, person_ids, at=at)
    return {pid: [rules.InForce(m.id, m.category, m.kind, m.planned_end_at) for m in ms] for pid, ms in found.items()}


def encrypt_payload(payload: dict[str, Any]) -> bytes:
    """The raw row, untouched, encrypted at rest: it carries ID and phone numbers in clear text."""
    return crypto.encrypt(json.dumps(payload, ensure_ascii=False, default=str))


def lead_payload(lead: Any) -> dict[str, Any]:
    """The lead's raw payload as received (decrypted; show it masked, as `intake.pages` does)."""
    return json.loads(crypto.decrypt(lead.payload_enc)) if lead.payload_enc else {}


def _gc_paused(fn: Callable[..., IngestResult]) -> Callable[..., IngestResult]:
    """Run `fn` with the cyclic garbage collector paused. A chunk allocates hundreds of thousands of
    short-lived, acyclic objects (rows, parameters, report lines); the collector's passes over them
    (and over everything else the process holds) cost an import a tenth to a quarter of its time and
    free nothing that reference counting does not. Collection resumes when the chunk is stored."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> IngestResult:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return run


@_gc_paused
def ingest_leads(
    session: Session,
    actor: Actor,
    *,
    channel: str,
    items: Sequence[LeadItem],
    category: str | None = None,
    via: str = "file",
    filename: str | None = None,
    advance: Callable[[int], None] | None = None,
    batch: LeadBatch | None = None,
    fixed_decision: bool = False,
    batch_id: int | None = None,
) -> IngestResult:
    """Store a batch of leads with one report line per item (线索批量接收).

    Each item is `accepted` (stored, person resolved, decision made, task assigned), `duplicate`
    (already stored: same channel and source_ref, or the same content without one; nothing changes)
    or `rejected` (nothing to find a person by). Invalid ID or phone numbers are issues, not
    rejections. One bad item never stops the others. A file comes in chunks: each chunk after the
    first passes the file's `batch`, whose counts add up.

    `fixed_decision` (the internal channel `control`: measures already running elsewhere, taken over):
    each row's decision is its category's (no risk-area or origin rule), no verification task is given
    (the caller starts the measure at once and calls `leads_controlled`), and the lead is `managed` —
    or `controlled` when a measure is already in force (decision `measures.in_force`). `batch_id`
    names the batch of the file's earlier chunks, like `batch`.
    """
    actor.require("lead.import")
    pack = policy_service.active_pack(session)
    errors = []
    if channel not in CHANNELS:
        errors.append(FieldError("channel", UNKNOWN_CHANNEL(channel=repr(channel), channels=[
            Term(c, kind="channel") for c in CHANNELS])))
    if fixed_decision and channel not in FIXED_CHANNELS:
        errors.append(FieldError("channel", UNKNOWN_CHANNEL(channel=repr(channel), channels=[
            Term(c, kind="channel") for c in FIXED_CHANNELS])))
    if category is not None and category not in pack.categories:
        errors.append(FieldError("category", UNKNOWN_CATEGORY_OF(category=repr(category), categories=[
            category_term(pack, c) for c in pack.categories])))
    if errors:
        raise ValidationFailed(INVALID_BATCH(), errors)
    now = clock.now()
    advance = advance or (lambda n: None)
    root = jurisdictions_service.root_unit(session)
    if batch is None and batch_id is not None:  # a later chunk of another capability's file
        batch = session.get(LeadBatch, batch_id)
    if batch is None:
        batch = LeadBatch(channel=channel, via=via, filename=filename, actor_id=actor.user_id,
                          actor_name=actor.username, started_at=now, rows=0, accepted=0, duplicate=0,
                          rejected=0, new_persons=0)
        session.add(batch)
        session.flush()

    timings: dict[str, float] = {}
    lap = _Lap(timings)
    rows = [_Row(item, ReportRow(item.number, "accepted")) for item in items]
    _normalise(rows, channel=channel, default_category=category, known=frozenset(pack.categories), pack=pack)
    if fixed_decision:  # the decision is the category's: a row without one has nothing to decide by
        for r in rows:
            if r.report.status == "accepted" and r.category is None:
                r.report.status = "rejected"
                if not any(getattr(i, "field", "") == "category" for i in r.report.issues):
                    r.report.issues.append(FieldIssue("category", REQUIRED()))
    lap("normalise")
    _dedupe(session, rows, channel)
    lap("dedupe")
    live = [r for r in rows if r.report.status == "accepted"]
    advance(len(rows) - len(live))

    # place each address on a grid (the gazetteer); unplaced addresses are an issue
    with_address = [r for r in live if r.text["address"]]
    matches = jurisdictions_service.match_addresses(session, [r.text["address"] or "" for r in with_address])
    for r, m in zip(with_address, matches, strict=True):
        r.unit, r.address_id = m.unit, (m.address.id if m.address is not None else None)
        if m.unit is None and m.reason:
            r.report.issues.append(FieldIssue("address", m.reason))

    lap("addresses")
    created = resolve_rows(session, actor, rows, now, root)
    lap("resolve")

    # decide, then store leads (Core bulk insert)
    areas = area_spans_for(session, (r.text["origin"] for r in live))  # the origins' areas only
    in_force = in_force_of(session, sorted({r.report.person_id for r in live if r.report.person_id}), now)
    person_units = _person_units(session, [r.report.person_id for r in live if r.unit is None])
    unit_paths = {root.id: root.path, **{u.id: u.path for u in (r.unit for r in live) if u is not None}}
    unit_levels = {root.id: root.level, **{u.id: u.level for u in (r.unit for r in live) if u is not None}}
    for uid, (path, level) in person_units.values_by_unit.items():
        unit_paths[uid], unit_levels[uid] = path, level
    verify_due = now + pack.sla("lead_verify")
    params = []
    decisions = []
    cache: dict[tuple[Any, ...], rules.Decision] = {}
    as_dicts: dict[int, dict[str, Any]] = {}
    for r in live:
        pid = r.report.person_id
        assert pid is not None
        running = in_force.get(pid, ())
        key = (r.category, r.text["origin"], r.arrival_at)
        decision = cache.get(key) if not running else None
        if decision is None and fixed_decision:  # the category's, whatever the origin
            decision = rules.decide(pack, category=r.category, origin=None, arrival_at=None, decided_at=now,
                                    in_force=running)
            if not running:
                cache[key] = decision
        elif decision is None:
            decision = rules.decide(pack, category=r.category, origin=r.text["origin"], arrival_at=r.arrival_at,
                                    decided_at=now, areas=areas, in_force=running)
            if not running:
                cache[key] = decision
        if decision.origin_issue is not None:
            r.report.issues.append(decision.origin_issue)
        decisions.append(decision)
        owner = r.unit.id if r.unit is not None else person_units.unit_of.get(pid, root.id)
        payload = r.item.payload if r.item.payload is not None else {**r.item.values, **r.item.extra}
        ident = identity_columns(id_check=r.id_check, phone_check=r.phone_check)
        params.append({
            "channel": channel, "source_ref": r.text["source_ref"], "content_hash": r.content_hash,
            "payload_enc": encrypt_payload(payload), "received_at": now, "category": r.category, "name": r.name,
            "name_key": r.name_key, **{k: ident[k] for k in LEAD_IDENTITY},
            "phone_valid": bool(r.phone_check and r.phone_check.valid),
            "origin": r.text["origin"], "arrival_at": r.arrival_at, "address_text": r.text["address"],
            "address_id": r.address_id, "transport": r.text["transport"], "reason": r.text["reason"],
            "issues": [issue_stored(i) for i in r.report.issues], "person_id": pid, "match_rule": r.rule,
            "status": "known" if not fixed_decision else (
                "controlled" if decision.rule == "measures.in_force" else "managed"),
            "known_at": now, "managed_at": now if fixed_decision else None,
            "controlled_at": now if fixed_decision and decision.rule == "measures.in_force" else None,
            "closed_at": None,
            "pack_version": decision.pack_version, "rule": decision.rule,
            "decision_category": decision.category, "measure_code": decision.measure,
            "decision": as_dicts.get(id(decision)) or as_dicts.setdefault(id(decision), decision.as_dict()),
            "verification_task_id": None, "outcome_code": None,
            "measure_id": None, "batch_id": batch.id, "unit_id": owner, "unit_path": unit_paths[owner],
        })
    lap("decide")
    # lead ids first, so the tasks can name their leads and the leads their tasks in plain inserts
    lead_ids = reserve_ids(session, Lead.__table__, len(params))
    for r, lid in zip(live, lead_ids, strict=True):
        r.report.extra["lead_id"] = lid

    # the verification task (四个查清) at the owning grid; a locate task where no grid is known; written
    # by the tasks' one write path, as the actor who handed the leads in
    new_tasks = []
    for r, p, lid in zip(live, params, lead_ids, strict=True):
        if fixed_decision:  # the measure starts at once (the caller's): nothing to verify
            continue
        is_grid = unit_levels.get(p["unit_id"]) == "grid"
        kind = kinds.VERIFY if is_grid else kinds.LOCATE
        who = r.name or p["phone_masked"] or p["id_number_masked"] or f"#{p['person_id']}"
        title = (f"核查重点人员 {who}(四个查清)" if is_grid else f"查找重点人员 {who}")
        new_tasks.append(tasks_service.NewTask(
            kind=kind, title=title, unit_id=p["unit_id"], subject_type="lead", subject_id=lid, due_at=verify_due,
            policy_version=pack.version_tag, rule="sla_hours.lead_verify",
            detail={"person_id": p["person_id"], "channel": channel, "measure": p["measure_code"],
                    "decision_rule": p["rule"]}))
    task_ids: Sequence[int | None] = (tasks_service.create_tasks(session, actor, new_tasks) if new_tasks
                                      else [None] * len(params))
    for p, lid, tid in zip(params, lead_ids, task_ids, strict=True):
        p["id"], p["verification_task_id"] = lid, tid
    lap("tasks")
    bulk_insert(session, Lead.__table__, params)
    lap("store_leads")
    if channel == "assist" and params:
        session.execute(insert(AssistRequest.__table__), [
            {"direction": "in", "person_id": p["person_id"], "lead_id": lid, "region": p["origin"],
             "status": "open", "created_at": now, "answered_at": None, "note": None,
             "unit_id": p["unit_id"], "unit_path": p["unit_path"]} for p, lid in zip(params, lead_ids, strict=True)])
    advance(len(live))

    for r in rows:
        if r.dup_of is not None:  # the answer of the row it repeats
            r.report.person_id = r.dup_of.report.person_id
            r.report.extra["lead_id"] = r.dup_of.report.extra.get("lead_id")
    report = [r.report for r in rows]
    counts = {s: sum(1 for x in report if x.status == s) for s in ("accepted", "duplicate", "rejected")}
    batch.rows = (batch.rows or 0) + len(report)
    batch.accepted = (batch.accepted or 0) + counts["accepted"]
    batch.duplicate = (batch.duplicate or 0) + counts["duplicate"]
    batch.rejected = (batch.rejected or 0) + counts["rejected"]
    batch.new_persons, batch.finished_at = (batch.new_persons or 0) + created, clock.now()
    session.flush()
    audit.record(session, actor, "intake.leads_received", object_type="lead_batch", object_id=batch.id,
                 channel=channel, via=via, filename=filename, rows=len(report), new_persons=created, **counts,
                 lead_ids=audit.compact_ids(lead_ids))
    lap("finish")
    return IngestResult(batch.id, report, timings)


@dataclass
class _PersonUnits:
    unit_of: dict[int, int]
    values_by_unit: dict[int, tuple[str, str]]


def _person_units(session: Session, person_ids: list[int | None]) -> _PersonUnits:
    ids = sorted({p for p in person_ids if p is not None})
    unit_of: dict[int, int] = {}
    by_unit: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        stmt = select(Person.id, Unit.id, Unit.path, Unit.level).join(Unit, Unit.id == Person.unit_id).where(
            in_list(session, Person.id, chunk))
        for pid, uid, path, level in session.execute(stmt):
            unit_of[pid] = uid
            by_unit[uid] = (path, level)
    return _PersonUnits(unit_of, by_unit)


def import_leads_file(session: Session, actor: Actor, path: Any, *, channel: str, category: str | None = None,
                      progress: Callable[[int], None] | None = None) -> IngestResult:
    """`fangkong import leads FILE`: read a CSV/XLSX (Chinese or English headers) and ingest it.
    Raises UnusableFile when the file cannot be used at all (nothing is stored)."""
    from pathlib import Path

    from fangkong.intake.headers import LEAD_COLUMNS
    from fangkong.kernel.tabular import ReportLog, checkpoint, read_table

    table = read_table(Path(path), LEAD_COLUMNS,
                       required_any=["name", "id_number", "phone", "source_ref"])
    columns = {canon: table.headers[col] for canon, col in table.fields.items()}
    result: IngestResult | None = None
    batch: LeadBatch | None = None
    rows = ReportLog()  # memory flat in the row count
    timings: dict[str, float] = {}
    for chunk in table.chunks():  # stored and committed a chunk at a time (see `tabular.checkpoint`)
        items = []
        for row in chunk:
            payload = {columns[c]: row.values[c] for c in columns}
            payload.update(row.extra)
            items.append(LeadItem(row.number, row.values, row.extra, payload))
        result = ingest_leads(session, actor, channel=channel, items=items, category=category, via="file",
                              filename=Path(path).name, advance=progress, batch=batch)
        batch = session.get(LeadBatch, result.batch_id)
        rows.extend(table.report(result.rows))
        for stage, seconds in result.timings.items():
            timings[stage] = round(timings.get(stage, 0.0) + seconds, 3)
        checkpoint(session)
    if result is None:  # no data rows: an empty batch still says the file came in
        result = ingest_leads(session, actor, channel=channel, items=[], category=category, via="file",
                              filename=Path(path).name, advance=progress)
    return IngestResult(result.batch_id, table.report(rows), timings)


def leads_controlled(session: Session, actor: Actor, *, measures: dict[int, int]) -> None:
    """Leads of the internal `control` channel whose measures the caller has just started (lead id →
    measure id): controlled now, naming their measure (即控). One statement for the batch, one audit
    entry."""
    actor.require("lead.import")
    if not measures:
        return
    now = clock.now()
    table = Lead.__table__
    session.execute(update(table).where(table.c.id == bindparam("_lid"), table.c.channel == "control")
                    .values(measure_id=bindparam("_mid"), status="controlled", controlled_at=now),
                    [{"_lid": lid, "_mid": mid} for lid, mid in measures.items()])
    audit.record(session, actor, "intake.leads_controlled", object_type="lead", count=len(measures),
                 lead_ids=audit.compact_ids(sorted(measures)), measure_ids=audit.compact_ids(sorted(measures.values())))
