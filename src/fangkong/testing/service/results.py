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
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.clock import BadTime, parse_time
from fangkong.kernel.errors import REQUIRED
from fangkong.kernel.messages import FieldIssue, Term, _, message, reason_of
from fangkong.kernel.tabular import ReportLog, ReportRow, checkpoint, read_table
from fangkong.kernel.tasks import service as tasks_service
from fangkong.kernel.tasks.models import Task
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


def ingest_results(session: Session, actor: Actor, *, items: Sequence[ResultItem], via: str = "import",
                   filename: str | None = None, advance: Callable[[int], None] | None = None) -> list[ReportRow]:
    """Receive lab results per tube (接收检测结果), one report row per item: `accepted` (first result),
    `duplicate` (a stored version already says this), `conflict` (contradicts a stored result: kept as
    a new version for the lab to confirm) or `rejected` (unknown barcode, unknown result word …)."""
    actor.require("testing.result")
    now = clock.now()
    reports = [ReportRow(it.number, "accepted") for it in items]
    barcodes = sorted({clean_barcode(it.values.get("tube_barcode")) for it in items} - {""})
    tubes: dict[str, Tube] = {}
    for chunk in common.chunks(barcodes):
        for t in session.execute(select(Tube).where(Tube.barcode.in_(chunk))).scalars():
            tubes[t.barcode] = t
    versions: dict[int, list[str]] = defaultdict(list)
    ids = sorted(t.id for t in tubes.values())
    for chunk in common.chunks(ids):
        for tid, res in session.execute(select(TubeResult.tube_id, TubeResult.result)
                                        .where(TubeResult.tube_id.in_(chunk)).order_by(TubeResult.version)):
            versions[tid].append(res)
    before: dict[int, str | None] = {}
    new_rows: list[dict[str, Any]] = []
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
        new_rows.append({"tube_id": tube.id, "version": len(stored), "result": word, "ct_values": ct, "lab": lab,
                         "reported_at": reported_at, "received_at": now,
                         "status": "accepted" if status == "accepted" else "conflict", "via": via,
                         "received_by": actor.username})
        if tube.reported_at is None:
            tube.reported_at, tube.lab = reported_at, lab
        if tube.status != "closed":
            tube.status, tube.closed_at = "closed", now
        tube.result = rules.tube_result(stored)
    if new_rows:
        session.add_all([TubeResult(**r) for r in new_rows])
        session.flush()
    by_id = {t.id: t for t in tubes.values()}
    changed = {tid: old for tid, old in before.items() if by_id[tid].result != old}
    effects = apply_changes(session, actor, {tid: (old, by_id[tid]) for tid, old in changed.items()})
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
    audit.record(session, actor, "testing.results_received", object_type="tube", via=via, filename=filename,
                 rows=len(reports), positive_pools=effects.get("positive_pools", 0),
                 negatives=effects.get("negative_tubes", 0),
                 tube_ids=audit.compact_ids(r["tube_id"] for r in new_rows), **counts)  # the batch's items
    return reports


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

def apply_changes(session: Session, actor: Actor, changed: dict[int, tuple[str | None, Tube]]) -> dict[str, Any]:
    """Carry out what changed standing results mean (see the module docstring)."""
    if not changed:
        return {}
    samples: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    for chunk in common.chunks(sorted(changed)):
        for tid, pid, at in session.execute(select(TubeSample.tube_id, TubeSample.person_id, TubeSample.collected_at)
                                            .where(TubeSample.tube_id.in_(chunk))):
            samples[tid].append((pid, at))
    negatives: dict[int, dt.datetime] = {}
    withdrawn: set[int] = set()
    positive_pools = 0
    negative_tubes = 0
    for tid, (old, tube) in changed.items():
        persons = samples.get(tid, [])
        if tube.result == "negative":
            negative_tubes += 1
            for pid, at in persons:
                if pid not in negatives or at > negatives[pid]:
                    negatives[pid] = at
        elif tube.result == "positive" and old == "negative":
            withdrawn.update(pid for pid, _ in persons)
    if negatives:
        advance_negatives(session, negatives, actor=actor)
    if withdrawn:
        recompute_members(session, sorted(withdrawn))
    for tid, (_old, tube) in changed.items():
        persons = samples.get(tid, [])
        if tube.result == "positive" and len(persons) > 1:
            if pools.on_positive_pool(session, actor, tube=tube, persons=persons):
                positive_pools += 1
        elif len(persons) == 1 and tube.result in ("negative", "positive"):
            pools.on_individual_result(session, actor, tube=tube, person_id=persons[0][0])
    return {"positive_pools": positive_pools, "negative_tubes": negative_tubes,
            "_sizes": {tid: len(samples.get(tid, [])) for tid in changed},
            "_person_of": {tid: s[0][0] for tid, s in samples.items() if len(s) == 1}}


def advance_negatives(session: Session, negatives: dict[int, dt.datetime], *, actor: Actor) -> int:
    """Move members' last negative forward to these sampling times (person id → time) and their next
    due with it; close their open overdue tasks as tested. Returns the members moved."""
    freqs = common.group_frequencies(common.pack(session))
    session.flush()
    gm = GroupMember.__table__
    moved: list[int] = []
    params: list[dict[str, Any]] = []
    ids = sorted(negatives)
    for chunk in common.chunks(ids):
        # columns, not ORM rows: 100,000 members of a batch are read and written in bulk
        for m in session.execute(select(gm.c.id, gm.c.person_id, gm.c.group_code, gm.c.test_dates,
                                        gm.c.last_negative_at, gm.c.enrolled_at, gm.c.frequency_days)
                                 .where(in_list(session, gm.c.person_id, chunk), gm.c.active.is_(True))):
            at = negatives[m.person_id]
            if m.last_negative_at is None or at > m.last_negative_at:
                basis = SimpleNamespace(**m._asdict())
                basis.last_negative_at = at
                freq, due = common.due_of(basis, freqs)
                params.append({"m_id": m.id, "lna": at, "freq": freq, "due": due})
                moved.append(m.id)
    if params:
        session.execute(update(gm).where(gm.c.id == bindparam("m_id")).values(
            last_negative_at=bindparam("lna"), frequency_days=bindparam("freq"), next_due_at=bindparam("due")),
            params)
        done = set(moved)  # rows changed behind the identity map's back
        for obj in list(session.identity_map.values()):
            if isinstance(obj, GroupMember) and obj.id in done:
                session.expire(obj)
    # the overdue tasks close as a consequence of the result, as the user who sent it
    _close_overdue_tasks(session, actor.acting_for("testing.result", "task.view", "task.work"), moved)
    return len(moved)


def recompute_members(session: Session, person_ids: Sequence[int]) -> None:
    """Recompute members' last negative from the tubes' standing results (after a withdrawn negative)."""
    freqs = common.group_frequencies(common.pack(session))
    lasts = common.last_negatives(session, person_ids)
    for chunk in common.chunks(sorted(set(person_ids))):
        for m in session.execute(select(GroupMember).where(GroupMember.person_id.in_(chunk))).scalars():
            m.last_negative_at = lasts.get(m.person_id)
            m.frequency_days, m.next_due_at = common.due_of(m, freqs)
    session.flush()


def _close_overdue_tasks(session: Session, actor: Actor, member_ids: list[int]) -> None:
    """Close the moved members' open overdue tasks as tested, in one bulk close per batch (the
    tasks service's rules, a `done` event per task, one audit entry naming them all)."""
    now = clock.now()
    closes: dict[int, dict[str, Any] | None] = {}
    for chunk in common.chunks(sorted(member_ids)):
        # one query per chunk for the tasks and their members' moved figures (flushed just before)
        for task_id, next_due_at, last_negative_at in session.execute(
                select(Task.id, GroupMember.next_due_at, GroupMember.last_negative_at)
                .join(GroupMember, GroupMember.id == Task.subject_id).where(
                    Task.kind == kinds.OVERDUE, Task.subject_type == "group_member", Task.status == "open",
                    in_list(session, Task.subject_id, chunk))):
            if next_due_at is not None and next_due_at > now:
                closes[task_id] = {"last_negative_at": clock.iso_local(last_negative_at)}
    tasks_service.close_tasks(session, actor, closes, outcome_code="tested")
