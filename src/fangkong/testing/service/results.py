"""Lab results (检测结果): versioned per tube, never overwritten; what a result changes.

A tube's standing result is positive while any version is positive. When it changes:
- to negative: every person in the tube is compliant from the sampling time (each member's stored
  `last_negative_at` / `next_due_at` move forward; their open overdue tasks are closed);
- negative → positive (a correction): the members' last negatives are recomputed without it;
- to positive, pooled: the positive-pool actions (`pools.on_positive_pool`);
- any result of a single-person tube: the person's individual result (`pools.on_individual_result`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import bulk, clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.messages import FieldIssue, Term, _, message, reason_of
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.kernel.tasks import service as tasks_service
from fangkong.testing import kinds, rules
from fangkong.testing.headers import RESULT_COLUMNS
from fangkong.testing.models import GroupMember, Tube, TubeResult, TubeSample
from fangkong.testing.service import common, pools
from fangkong.testing.service.sampling import clean_barcode

UNKNOWN_TUBE = message("tube.unknown", _("unknown tube %(code)s"))
NOT_A_RESULT = message("result.not_a_word", _("not a result word: %(text)s (阴性/negative/-, 阳性/positive/+)"))
RECEIPT_TIME_USED = message("result.receipt_time_used", _("missing, time of receipt used"))
IN_THE_FUTURE = message("time.in_the_future", _("in the future"))
MISSING = message("field.missing", _("missing"))
CONTRADICTS = message("result.conflict", _("contradicts the stored %(stored)s result (version %(version)s); "
                                           "kept as version %(new)s for the lab to confirm"))

LAB_MAX = 100


@dataclass
class ResultItem:
    number: int
    values: dict[str, str]


@dataclass(slots=True)
class _TubeState:
    """What a batch reads and may change of a tube (columns, not an ORM object: 10,000 per batch)."""
    id: int
    result: str | None
    status: str
    closed_at: dt.datetime | None
    reported_at: dt.datetime | None
    lab: str | None
    changed: bool = False


def ingest_results(session: Session, actor: Actor, *, items: Sequence[ResultItem], via: str = "import",
                   filename: str | None = None, advance: Callable[[int], None] | None = None) -> list[ReportRow]:
    """Receive lab results per tube (接收检测结果), one report row per item: `accepted` (first result),
    `duplicate` (a stored version already says this), `conflict` (contradicts a stored result: kept as
    a new version for the lab to confirm) or `rejected` (unknown barcode, unknown result word …).

    One path for one result (the API, a page) and for a batch (a file's chunk, 10,000 results): the
    rules below run per row; the batch's tubes and their versions are read in one query each, the new
    versions inserted and the tubes updated in one bulk write each (`kernel.bulk`), and what the
    changed standing results mean (`apply_changes`) is carried out for the batch at once. Audit: one
    `testing.results_received` entry per batch naming its stored tubes and the members it moved."""
    actor.require("testing.result")
    now = clock.now()
    session.flush()
    reports = [ReportRow(it.number, "accepted") for it in items]
    barcodes = sorted({clean_barcode(it.values.get("tube_barcode")) for it in items} - {""})
    tt = Tube.__table__
    tubes: dict[str, _TubeState] = {}
    if barcodes:
        for r in session.execute(select(tt.c.id, tt.c.barcode, tt.c.result, tt.c.status, tt.c.closed_at,
                                        tt.c.reported_at, tt.c.lab)
                                 .where(bulk.in_list(session, tt.c.barcode, barcodes))):
            tubes[r.barcode] = _TubeState(r.id, r.result, r.status, r.closed_at, r.reported_at, r.lab)
    versions: dict[int, list[str]] = defaultdict(list)
    if tubes:
        rt = TubeResult.__table__
        for tid, res in session.execute(select(rt.c.tube_id, rt.c.result)
                                        .where(bulk.in_list(session, rt.c.tube_id, [t.id for t in tubes.values()]))
                                        .order_by(rt.c.tube_id, rt.c.version)):
            versions[tid].append(res)
    before: dict[int, str | None] = {}
    new_rows: list[tuple[Any, ...]] = []
    by_id: dict[int, _TubeState] = {}
    for it, rep in zip(items, reports, strict=True):
        v = it.values
        code = clean_barcode(v.get("tube_barcode"))
        rep.extra["tube_barcode"] = code
        word = rules.parse_result(v.get("result"))
        if not code:
            rep.issues.append(FieldIssue("tube_barcode", REQUIRED()))
        elif code not in tubes:
            rep.issues.append(FieldIssue("tube_barcode", UNKNOWN_TUBE(code=code)))
        if word is None:
            rep.issues.append(FieldIssue("result", NOT_A_RESULT(text=repr(v.get("result") or ""))))
        ct, ct_issue = rules.parse_ct(v.get("ct"))
        if ct_issue:
            rep.issues.append(FieldIssue("ct", ct_issue))
        try:
            reported_at = parse_time(v.get("reported_at") or "")
        except BadTime as exc:
            rep.issues.append(FieldIssue("reported_at", reason_of(exc)))
            reported_at = None
        lab = " ".join((v.get("lab") or "").split())[:LAB_MAX] or None
        if rep.issues:
            rep.status = "rejected"
            continue
        if reported_at is None:
            reported_at = now
            rep.issues.append(FieldIssue("reported_at", RECEIPT_TIME_USED()))
        elif reported_at > now + dt.timedelta(minutes=5):
            rep.issues.append(FieldIssue("reported_at", IN_THE_FUTURE()))
        if lab is None:
            rep.issues.append(FieldIssue("lab", MISSING()))
        tube = tubes[code]
        assert word is not None
        stored = versions[tube.id]
        status = rules.classify_result(stored, word)
        rep.extra.update({"tube_id": tube.id, "result": word})
        if status == "duplicate":
            rep.status = "duplicate"
            rep.extra["version"] = stored.index(word) + 1
            continue
        if status == "conflict":
            rep.status = "conflict"
            rep.issues.append(FieldIssue("result", CONTRADICTS(stored=Term(stored[-1], kind="result"),
                                                               version=len(stored), new=len(stored) + 1)))
        before.setdefault(tube.id, tube.result)
        stored.append(word)
        rep.extra["version"] = len(stored)
        new_rows.append((tube.id, len(stored), word, ct, lab, reported_at, now,
                         "accepted" if status == "accepted" else "conflict", via, actor.username))
        if tube.reported_at is None:
            tube.reported_at, tube.lab = reported_at, lab
        if tube.status != "closed":
            tube.status, tube.closed_at = "closed", now
        tube.result = rules.tube_result(stored)
        tube.changed = True
        by_id[tube.id] = tube
    if new_rows:
        bulk.insert_rows(session, TubeResult.__table__, RESULT_ROW, new_rows)
        bulk.update_rows(session, tt, "id", ["status", "closed_at", "result", "reported_at", "lab"],
                             [(t.id, t.status, t.closed_at, t.result, t.reported_at, t.lab) for t in by_id.values()])
        bulk.expire_changed(session, Tube, by_id)
    changed = {tid: old for tid, old in before.items() if by_id[tid].result != old}
    effects = apply_changes(session, actor, {tid: (old, by_id[tid].result) for tid, old in changed.items()})
    single_person = {tid for tid, n in effects.get("_sizes", {}).items() if n == 1}
    for rep in reports:
        tid = rep.extra.get("tube_id")
        if tid in single_person and tid in effects.get("_person_of", {}):
            rep.person_id = effects["_person_of"][tid]
    if advance is not None:
        advance(len(items))
    counts: dict[str, int] = defaultdict(int)
    for r in reports:
        counts[r.status] += 1
    moved = effects.get("_moved", [])
    audit.record(session, actor, "testing.results_received", object_type="tube", via=via, filename=filename,
                 rows=len(reports), positive_pools=effects.get("positive_pools", 0),
                 negatives=effects.get("negative_tubes", 0),
                 tube_ids=audit.compact_ids(r[0] for r in new_rows),  # the batch's items
                 members_moved=len(moved), member_ids=audit.compact_ids(moved), **counts)
    return reports


#: the columns of a stored result version, in the order `ingest_results` builds its rows
RESULT_ROW = ("tube_id", "version", "result", "ct_values", "lab", "reported_at", "received_at", "status", "via",
              "received_by")


def import_results(session: Session, actor: Actor, path: Path, *,
                   progress: Callable[[int], None] | None = None) -> Sequence[ReportRow]:
    """`fangkong import results FILE` (CSV or XLSX). Raises UnusableFile."""
    table = read_table(Path(path), RESULT_COLUMNS, required_any=["tube_barcode"])
    reports = ReportLog()  # memory flat in the row count
    for chunk in table.chunks():  # stored and committed a chunk at a time; a repeated result is a duplicate
        items = [ResultItem(row.number, row.values) for row in chunk]
        reports.extend(table.report(ingest_results(session, actor, items=items, filename=Path(path).name,
                                                   advance=progress)))
        checkpoint(session)
    if not reports:  # no data rows: still checks the permission
        ingest_results(session, actor, items=[], filename=Path(path).name, advance=progress)
    return table.report(reports)


# ------------------------------------------------------------------------------------------ effects

def apply_changes(session: Session, actor: Actor, changed: dict[int, tuple[str | None, str | None]]) -> dict[str, Any]:
    """Carry out what changed standing results mean (see the module docstring): tube id → (old, new)
    standing result. The members of the batch's negative tubes are moved in bulk; the rarer positive
    pools and single-tube results go through their own per-tube services (`pools`)."""
    if not changed:
        return {}
    ts = TubeSample.__table__
    samples: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    for tid, pid, at in session.execute(select(ts.c.tube_id, ts.c.person_id, ts.c.collected_at)
                                        .where(bulk.in_list(session, ts.c.tube_id, sorted(changed)))).all():
        samples[tid].append((pid, at))
    negatives: dict[int, dt.datetime] = {}
    withdrawn: set[int] = set()
    positive_pools = 0
    negative_tubes = 0
    for tid, (old, new) in changed.items():
        persons = samples.get(tid, [])
        if new == "negative":
            negative_tubes += 1
            for pid, at in persons:
                if pid not in negatives or at > negatives[pid]:
                    negatives[pid] = at
        elif new == "positive" and old == "negative":
            withdrawn.update(pid for pid, _ in persons)
    moved = advance_negatives(session, negatives, actor=actor) if negatives else []
    if withdrawn:
        recompute_members(session, sorted(withdrawn))
    singles = {tid: s[0][0] for tid, s in samples.items() if len(s) == 1}
    # a single negative tube matters only to a person awaiting a positive pool's retest
    awaiting = pools.awaiting_retest(session, sorted({pid for tid, pid in singles.items()
                                                      if changed[tid][1] == "negative"}))
    for tid, (_old, new) in changed.items():
        persons = samples.get(tid, [])
        if new == "positive" and len(persons) > 1:
            tube = session.get(Tube, tid)
            assert tube is not None
            if pools.on_positive_pool(session, actor, tube=tube, persons=persons):
                positive_pools += 1
        elif len(persons) == 1 and (new == "positive" or (new == "negative" and persons[0][0] in awaiting)):
            tube = session.get(Tube, tid)
            assert tube is not None
            pools.on_individual_result(session, actor, tube=tube, person_id=persons[0][0])
    return {"positive_pools": positive_pools, "negative_tubes": negative_tubes,
            "_sizes": {tid: len(samples.get(tid, [])) for tid in changed}, "_person_of": singles, "_moved": moved}


def advance_negatives(session: Session, negatives: dict[int, dt.datetime], *, actor: Actor) -> list[int]:
    """Move members' last negative forward to these sampling times (person id → time) and their next
    due with it (`common.due_from`, the rule every path uses, per member row); close their open
    overdue tasks as tested. One read, one bulk write. Returns the ids of the members moved."""
    freqs = common.group_frequencies(common.pack(session))
    gm = GroupMember.__table__
    moved: list[tuple[int, dt.datetime, int | None, dt.datetime | None]] = []
    # columns, not ORM rows: 100,000 members of a batch are read and written in bulk
    for m in session.execute(select(gm.c.id, gm.c.person_id, gm.c.group_code, gm.c.test_dates,
                                    gm.c.last_negative_at, gm.c.enrolled_at, gm.c.frequency_days)
                             .where(bulk.in_list(session, gm.c.person_id, sorted(negatives)),
                                    gm.c.active.is_(True))).all():  # fetchall: not a fetch per row
        at = negatives[m.person_id]
        if m.last_negative_at is None or at > m.last_negative_at:
            freq, due = common.due_from(group_code=m.group_code, test_dates=m.test_dates, last_negative_at=at,
                                        enrolled_at=m.enrolled_at, frequency_days=m.frequency_days,
                                        frequencies=freqs)
            moved.append((m.id, at, freq, due))
    moved.sort()
    if moved:
        bulk.update_rows(session, gm, "id", ["last_negative_at", "frequency_days", "next_due_at"], moved)
        bulk.expire_changed(session, GroupMember, (m[0] for m in moved))
    # the overdue tasks close as a consequence of the result, as the user who sent it
    _close_overdue_tasks(session, actor.acting_for("testing.result", "task.view", "task.work"), moved)
    return [m[0] for m in moved]


def recompute_members(session: Session, person_ids: Sequence[int]) -> None:
    """Recompute members' last negative from the tubes' standing results (after a withdrawn negative)."""
    freqs = common.group_frequencies(common.pack(session))
    lasts = common.last_negatives(session, person_ids)
    for chunk in common.chunks(sorted(set(person_ids))):
        for m in session.execute(select(GroupMember).where(GroupMember.person_id.in_(chunk))).scalars():
            m.last_negative_at = lasts.get(m.person_id)
            m.frequency_days, m.next_due_at = common.due_of(m, freqs)
    session.flush()


def _close_overdue_tasks(session: Session, actor: Actor,
                         moved: list[tuple[int, dt.datetime, int | None, dt.datetime | None]]) -> None:
    """Close the moved members' open overdue tasks as tested — those now due in the future — in one
    bulk close per batch (the tasks service's rules, a `done` event per task, one audit entry naming
    them all). `moved`: (member id, last negative, frequency, next due) as just stored."""
    now = clock.now()
    due_later = {m_id: lna for m_id, lna, _freq, due in moved if due is not None and due > now}
    if not due_later:
        return
    outcome_of: dict[dt.datetime, dict[str, Any]] = {}  # one outcome per sampling time, shared
    for lna in set(due_later.values()):
        outcome_of[lna] = {"last_negative_at": clock.iso_local(lna)}
    tasks_service.close_open_tasks_about(session, actor, kind=kinds.OVERDUE, subject_type="group_member",
                                         outcomes={m: outcome_of[lna] for m, lna in due_later.items()},
                                         outcome_code="tested")
