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
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, func, or_, select, update
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
    # each tube's size and single person in one grouped read: a batch's 100,000 samples stay in SQL
    sizes: dict[int, int] = {}
    singles: dict[int, int] = {}
    for tid, n, pid in session.execute(select(ts.c.tube_id, func.count(), func.min(ts.c.person_id))
                                       .where(bulk.in_list(session, ts.c.tube_id, sorted(changed)))
                                       .group_by(ts.c.tube_id)).all():
        sizes[tid] = n
        if n == 1:
            singles[tid] = pid
    negative = sorted(tid for tid, (_old, new) in changed.items() if new == "negative")
    withdrawing = {tid for tid, (old, new) in changed.items() if new == "positive" and old == "negative"}
    pooled_positive = {tid for tid, (_old, new) in changed.items() if new == "positive" and sizes.get(tid, 0) > 1}
    # the persons and sampling times of the (rare) tubes whose actions need them
    samples: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    if withdrawing | pooled_positive:
        for tid, pid, at in session.execute(select(ts.c.tube_id, ts.c.person_id, ts.c.collected_at).where(
                bulk.in_list(session, ts.c.tube_id, sorted(withdrawing | pooled_positive)))).all():
            samples[tid].append((pid, at))
    moved = advance_negatives(session, negative, actor=actor) if negative else []
    withdrawn = {pid for tid in withdrawing for pid, _at in samples[tid]}
    if withdrawn:
        recompute_members(session, sorted(withdrawn))
    # a single negative tube matters only to a person awaiting a positive pool's retest
    awaiting = pools.awaiting_retest(session, sorted({pid for tid, pid in singles.items()
                                                      if changed[tid][1] == "negative"}))
    positive_pools = 0
    for tid, (_old, new) in changed.items():
        if tid in pooled_positive:
            tube = session.get(Tube, tid)
            assert tube is not None
            if pools.on_positive_pool(session, actor, tube=tube, persons=samples[tid]):
                positive_pools += 1
        elif tid in singles and (new == "positive" or (new == "negative" and singles[tid] in awaiting)):
            tube = session.get(Tube, tid)
            assert tube is not None
            pools.on_individual_result(session, actor, tube=tube, person_id=singles[tid])
    return {"positive_pools": positive_pools, "negative_tubes": len(negative),
            "_sizes": {tid: sizes.get(tid, 0) for tid in changed}, "_person_of": singles, "_moved": moved}


def advance_negatives(session: Session, tube_ids: Sequence[int], *, actor: Actor) -> list[int]:
    """Move the active members sampled in these (now negative) tubes: each member's last negative
    forward to its latest sampling time among them, and its next due with it (`common.due_from`,
    the rule every path uses); close their open overdue tasks as tested. Returns the moved members'
    ids, sorted.

    Set-based (issue #18: 100,000 members per batch): the rule is computed in Python once per
    distinct basis (group, frequency, test days, sampling time — a handful per batch, not per
    member), read with one grouped query; the members are moved by ONE `UPDATE … FROM` joining
    them to their basis's new due, `RETURNING` their ids; no member row travels to Python."""
    freqs = common.group_frequencies(common.pack(session))
    ts, gm = TubeSample.__table__, GroupMember.__table__
    sampled = (select(ts.c.person_id, func.max(ts.c.collected_at).label("at"))
               .where(bulk.in_list(session, ts.c.tube_id, list(tube_ids))).group_by(ts.c.person_id)
               .subquery("sampled"))
    dates = cast(gm.c.test_dates, String)  # JSON has no equality on PostgreSQL: compared as its text
    later = (gm.c.person_id == sampled.c.person_id, gm.c.active.is_(True),
             or_(gm.c.last_negative_at.is_(None), gm.c.last_negative_at < sampled.c.at))
    bases = session.execute(select(gm.c.group_code, gm.c.frequency_days, dates, sampled.c.at)
                            .where(*later).distinct()).all()
    if not bases:
        return []
    dues = []
    for code, freq_days, dates_text, at in bases:
        test_dates = json.loads(dates_text) if dates_text is not None else None
        # a last negative is given, so the rule never falls back on the enrolment time
        freq, due = common.due_from(group_code=code, test_dates=test_dates, last_negative_at=at, enrolled_at=at,
                                    frequency_days=freq_days, frequencies=freqs)
        dues.append((at, code, freq_days, dates_text, freq, due))
    basis = bulk.staged(session, [("at", gm.c.last_negative_at), ("group_code", gm.c.group_code),
                                  ("basis_frequency", gm.c.frequency_days), ("dates", gm.c.group_code),
                                  ("frequency_days", gm.c.frequency_days), ("next_due_at", gm.c.next_due_at)],
                        dues, name="basis")
    moved = session.execute(
        # the IN makes the members' person index drive the join (SQLite could scan a whole group otherwise)
        update(gm).where(*later, gm.c.person_id.in_(select(sampled.c.person_id)), basis.c.at == sampled.c.at, gm.c.group_code == basis.c.group_code,
                         gm.c.frequency_days.is_not_distinct_from(basis.c.basis_frequency),
                         dates.is_not_distinct_from(basis.c.dates))
        .values(last_negative_at=sampled.c.at, frequency_days=basis.c.frequency_days,
                next_due_at=basis.c.next_due_at)
        .returning(gm.c.id, gm.c.last_negative_at, gm.c.next_due_at)).all()
    bulk.expire_changed(session, GroupMember, (m[0] for m in moved))
    # the overdue tasks close as a consequence of the result, as the user who sent it
    _close_overdue_tasks(session, actor.acting_for("testing.result", "task.view", "task.work"),
                         [(m_id, lna, due) for m_id, lna, due in moved])
    return sorted(m[0] for m in moved)


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
                         moved: list[tuple[int, dt.datetime, dt.datetime | None]]) -> None:
    """Close the moved members' open overdue tasks as tested — those now due in the future — in one
    bulk close per batch (the tasks service's rules, a `done` event per task, one audit entry naming
    them all). `moved`: (member id, last negative, next due) as just stored."""
    now = clock.now()
    due_later = {m_id: lna for m_id, lna, due in moved if due is not None and due > now}
    if not due_later:
        return
    outcome_of: dict[dt.datetime, dict[str, Any]] = {}  # one outcome per sampling time, shared
    for lna in set(due_later.values()):
        outcome_of[lna] = {"last_negative_at": clock.iso_local(lna)}
    tasks_service.close_open_tasks_about(session, actor, kind=kinds.OVERDUE, subject_type="group_member",
                                         outcomes={m: outcome_of[lna] for m, lna in due_later.items()},
                                         outcome_code="tested")
