"""Tasks (任务): create, assign, complete, list, and escalate the overdue ones (逾期上报).

A task belongs to a unit and is visible in that unit's subtree; once escalated it is also visible
in the subtree of the unit it was escalated to. Escalation never moves ownership.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from fangkong.kernel import bulk, clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.models import User
from fangkong.kernel.bulk import bulk_insert, chunks, expire_changed, in_list, insert_rows, update_rows
from fangkong.kernel.db import UTCDateTime, is_postgres
from fangkong.kernel.errors import (
    REQUIRED,
    TIME_ZONE_REQUIRED,
    UNKNOWN_STATUS,
    UNKNOWN_UNIT,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import Term, _, labels, message
from fangkong.kernel.tasks import kinds
from fangkong.kernel.tasks.models import STATUSES, Task, TaskEvent

UNKNOWN_KIND = message("task.unknown_kind", _("unknown task kind"))
UNKNOWN_KIND_CODE = message("task.unknown_kind_code", _("unknown task kind %(code)s"))
NAIVE_TIME = message("time.naive", _("naive datetime"))
UNKNOWN_ASSIGNEE = message("task.unknown_assignee", _("unknown assignee"))
NO_ACTIVE_USER = message("task.no_active_user", _("no active user %(id)s"))
ASSIGNEE_OUTSIDE = message("task.assignee_outside", _("assignee outside the task's unit"))
ASSIGNEE_UNIT = message("task.assignee_unit", _("the assignee's unit is not within the task's unit"))
TITLE_REQUIRED = message("task.title_required", _("title required"))
INVALID_TASK = message("task.invalid", _("invalid task"))
labels("audit_action", {"task.created": _("Tasks created")})
ALREADY = message("task.already_closed", _("task %(id)s is already %(status)s"))
OWN_PAGE = message("task.own_page", _("this task is closed on its own page"))
CLOSE_AT = message("task.close_at", _("close it at %(url)s"))
UNKNOWN_OUTCOME = message("task.unknown_outcome", _("unknown outcome"))
NOT_AN_OUTCOME = message("task.not_an_outcome",
                         _("%(outcome)s is not an outcome of %(kind)s (expected one of: %(outcomes)s)"))
EXPECTED_ONE_OF = message("field.expected_one_of", _("expected one of %(choices)s"))
UNKNOWN_CURSOR = message("cursor.unknown", _("unknown cursor"))
NO_SUCH_TASK = message("task.no_such_task", _("no such task"))

MAX_LIMIT = 500

#: an outcome typed in by hand that needs its source (a retest result not received from the lab)
NOTE_REQUIRED = message("task.note_required", _(
    "a result entered by hand needs a note: say where it comes from (the lab's report, its number and date)"))


def _event(session: Session, task: Task, actor: Actor, event: str, **detail: Any) -> None:
    session.add(TaskEvent(task_id=task.id, at=clock.now(), actor_id=actor.user_id, event=event,
                          detail=detail or None))


def _kind(code: str, field: str = "kind") -> kinds.TaskKind:
    try:
        return kinds.kind(code)
    except KeyError:
        raise ValidationFailed(UNKNOWN_KIND(), [FieldError(field, UNKNOWN_KIND_CODE(code=repr(code)))]) from None


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(NAIVE_TIME(), [FieldError(field, TIME_ZONE_REQUIRED())])
    return value


def _check_assignee(session: Session, assignee_id: int, unit_path: str) -> None:
    row = session.execute(
        select(User.id, User.is_active, Unit.path).join(Unit, Unit.id == User.unit_id).where(User.id == assignee_id)
    ).first()
    if row is None or not row.is_active:
        raise ValidationFailed(UNKNOWN_ASSIGNEE(), [FieldError("assignee_id", NO_ACTIVE_USER(id=assignee_id))])
    if not scope.inside(row.path, unit_path):
        raise ValidationFailed(ASSIGNEE_OUTSIDE(), [FieldError("assignee_id", ASSIGNEE_UNIT())])


@dataclass
class NewTask:
    """One task to create (`create_tasks`): what `create_task` takes, as a value."""

    kind: str
    title: str
    unit_id: int
    subject_type: str | None = None
    subject_id: int | None = None
    assignee_id: int | None = None
    due_at: dt.datetime | None = None
    policy_version: str | None = None
    rule: str | None = None
    detail: dict[str, Any] | None = None


def create_tasks(session: Session, actor: Actor, items: Sequence[NewTask]) -> list[int]:
    """The one write path of tasks (派发任务), for one task or a 100,000-lead import: every item is checked
    by the same rules (a known kind, a title, an existing unit, an aware due time, an active assignee
    within the unit); a kind with an `sla` and no `due_at` is due that many hours from now by the active
    policy pack and records the pack version and rule (`sla_hours.<name>`); rows and their `created`
    events are inserted in bulk; one audit entry `task.created` names them all. Returns the new ids in
    item order. A bad item refuses the whole call (items come from code or from one form).

    Who may create a task is the use case's question, checked before calling this: `create_task` (work
    assigned by hand) needs `task.assign` and a unit in the actor's jurisdiction; a capability creating
    the task that follows from its own action (a lead's four checks, a positive pool's retest, a case's
    investigation) has checked its own permission and places the task where it belongs. The acting
    user is recorded on the events and the audit entry.
    """
    if not items:
        return []
    errors: list[FieldError] = []
    task_kinds = {}
    for it in items:
        if it.kind not in task_kinds:
            task_kinds[it.kind] = _kind(it.kind)
        if not (it.title or "").strip():
            errors.append(FieldError("title", REQUIRED()))
        _aware(it.due_at, "due_at")
    unit_ids = sorted({it.unit_id for it in items})
    units: dict[int, tuple[str, str]] = {}
    for chunk in chunks(unit_ids):
        units.update({uid: (path, code) for uid, path, code in session.execute(
            select(Unit.id, Unit.path, Unit.code).where(in_list(session, Unit.id, chunk)))})
    errors += [FieldError("unit_id", UNKNOWN_UNIT(code=uid)) for uid in unit_ids if uid not in units]
    if errors:
        raise ValidationFailed(INVALID_TASK(), errors[:20])
    for it in items:
        if it.assignee_id is not None:
            _check_assignee(session, it.assignee_id, units[it.unit_id][0])
    now = clock.now()
    pack = None
    params: list[dict[str, Any]] = []
    for it in items:
        task_kind = task_kinds[it.kind]
        due_at, policy_version, rule = it.due_at, it.policy_version, it.rule
        if due_at is None and task_kind.sla is not None:
            if pack is None:
                from fangkong.kernel.policy import service as policy_service

                pack = policy_service.active_pack(session)
            due_at = now + pack.sla(task_kind.sla)
            policy_version = policy_version or pack.version_tag
            rule = rule or f"sla_hours.{task_kind.sla}"
        params.append({
            "kind": it.kind, "title": it.title.strip()[:200], "unit_id": it.unit_id,
            "unit_path": units[it.unit_id][0], "subject_type": it.subject_type, "subject_id": it.subject_id,
            "assignee_id": it.assignee_id, "status": "open", "created_at": now, "due_at": due_at, "done_at": None,
            "outcome_code": None, "outcome": None, "escalated_unit_id": None, "escalated_unit_path": None,
            "escalated_at": None, "escalation_level": 0, "policy_version": policy_version, "rule": rule,
            "detail": it.detail,
        })
    ids = bulk_insert(session, Task.__table__, params)
    bulk_insert(session, TaskEvent.__table__, [
        {"task_id": tid, "at": now, "actor_id": actor.user_id, "event": "created",
         "detail": {"assignee_id": it.assignee_id} if it.assignee_id else None}
        for tid, it in zip(ids, items, strict=True)])
    audit.record(session, actor, "task.created", object_type="task", object_id=ids[0] if len(ids) == 1 else None,
                 count=len(ids), ids=audit.compact_ids(ids), kinds=sorted(task_kinds),
                 units=sorted({units[it.unit_id][1] for it in items})[:50])
    return ids


def create_task(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    title: str,
    unit_id: int,
    subject_type: str | None = None,
    subject_id: int | None = None,
    assignee_id: int | None = None,
    due_at: dt.datetime | None = None,
    policy_version: str | None = None,
    rule: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Task:
    """Assign a piece of work by hand (派发任务): an open task owned by `unit_id`, a unit in the actor's
    jurisdiction; needs `task.assign`. Written by `create_tasks` (the one write path), so a kind with
    an `sla` and no `due_at` is due by the active policy pack, with its version and rule recorded.
    """
    actor.require("task.assign")
    _kind(kind)
    if not (title or "").strip():
        raise ValidationFailed(TITLE_REQUIRED(), [FieldError("title", REQUIRED())])
    scope.visible_unit(session, actor, unit_id)
    [task_id] = create_tasks(session, actor, [NewTask(
        kind=kind, title=title, unit_id=unit_id, subject_type=subject_type, subject_id=subject_id,
        assignee_id=assignee_id, due_at=due_at, policy_version=policy_version, rule=rule, detail=detail)])
    task = session.get(Task, task_id)
    assert task is not None
    return task


def _sees(actor: Actor, task: Any) -> bool:
    return scope.sees(actor, task.unit_path) or scope.sees(actor, task.escalated_unit_path)


def get_task(session: Session, actor: Actor, task_id: int) -> Task:
    """A task in the actor's subtree, or escalated into it; NotFound otherwise."""
    actor.require("task.view")
    task = session.get(Task, task_id)
    if task is None or not _sees(actor, task):
        raise NotFound(record_not_found("task", task_id))
    return task


def _open(task: Any) -> None:
    if task.status != "open":
        raise Conflict(ALREADY(id=task.id, status=Term(task.status, kind="task_status")))


def assign_task(session: Session, actor: Actor, task_id: int, *, assignee_id: int | None) -> Task:
    """Give a task to a user of the task's unit or below (None: back to the unit)."""
    actor.require("task.assign")
    task = get_task(session, actor, task_id)
    _open(task)
    if assignee_id is not None:
        _check_assignee(session, assignee_id, task.unit_path)
    previous = task.assignee_id
    task.assignee_id = assignee_id
    _event(session, task, actor, "assigned", assignee_id=assignee_id, previous=previous)
    audit.record(session, actor, "task.assigned", object_type="task", object_id=task.id,
                 assignee_id=assignee_id, previous=previous)
    session.flush()
    return task


def complete_task(
    session: Session,
    actor: Actor,
    task_id: int,
    *,
    outcome_code: str,
    outcome: dict[str, Any] | None = None,
    note: str | None = None,
    by_owner: bool = False,
) -> Task:
    """Close a task with one of its kind's outcomes (办结).

    A kind with a `work_url` is closed only by its capability's own flow (`by_owner=True`), so the
    generic form cannot skip, say, the four checks of a lead and leave the lead unverified."""
    actor.require("task.work")
    task = get_task(session, actor, task_id)
    _open(task)
    explicit = _check_close(task, outcome_code=outcome_code, note=note, by_owner=by_owner)
    result = dict(outcome or {})
    if note:
        result["note"] = note
    task.status = "done"
    task.done_at = clock.now()
    task.outcome_code = outcome_code
    task.outcome = result or None
    _event(session, task, actor, "done", outcome_code=outcome_code, note=note)
    audit.record(session, actor, "task.completed", object_type="task", object_id=task.id,
                 kind=task.kind, outcome_code=outcome_code,
                 **({"entered_by_hand": True, "note": (note or "")[:500]} if explicit else {}))
    session.flush()
    return task


def _check_close(task: Any, *, outcome_code: str, note: str | None, by_owner: bool) -> bool:
    """The rules for closing an open task (`complete_task`, `close_tasks`): a kind with its own page
    is closed only by its owner's flow, the outcome is one of the kind's, and an outcome that needs
    its source typed in has a note. Returns whether the outcome was entered by hand (audited so)."""
    task_kind = _kind(task.kind)
    if task_kind.work_url and not by_owner:
        raise ValidationFailed(OWN_PAGE(), [FieldError("outcome_code", CLOSE_AT(url=task_kind.url_for(task)))])
    if outcome_code not in task_kind.outcomes:
        raise ValidationFailed(UNKNOWN_OUTCOME(), [FieldError("outcome_code", NOT_AN_OUTCOME(
            outcome=repr(outcome_code), kind=Term(task.kind, kind="task_kind"),
            outcomes=[Term(o, kind=f"outcome.{task.kind}") for o in task_kind.outcomes]))])
    explicit = outcome_code in task_kind.note_required and not by_owner
    if explicit and not (note or "").strip():
        raise ValidationFailed(NOTE_REQUIRED(), [FieldError("note", NOTE_REQUIRED())])
    return explicit


_CLOSE_COLUMNS = ("id", "kind", "status", "unit_path", "escalated_unit_path", "subject_type", "subject_id")


def close_tasks(
    session: Session,
    actor: Actor,
    outcomes: dict[int, dict[str, Any] | None],
    *,
    outcome_code: str,
    by_owner: bool = False,
) -> list[int]:
    """Close many open tasks with one outcome code (批量办结): task id → its outcome detail.

    The rules are `complete_task`'s, checked for every task before anything is written (the actor
    needs `task.work` and sees each task, each is open, the outcome is one of its kind's, a kind
    with its own page only by its owner's flow; outcomes needing a typed-in note are refused, as a
    bulk close has none); a bad task refuses the whole call. Written in bulk (`kernel.bulk`):
    one read, one bulk UPDATE (COPY and UPDATE … FROM on PostgreSQL), a `done` event per task, and
    one `task.completed` audit entry naming every id — what the result arrival of 10,000 tubes
    needs instead of 10,000 audited single closes. The caller's outcome objects are stored as given
    (share one dict per distinct outcome: it is converted once). Returns the closed ids, sorted.
    """
    actor.require("task.work")
    ids = sorted(outcomes)
    if not ids:
        return []
    t = Task.__table__
    session.flush()
    rows = {r.id: r for r in session.execute(
        select(*(t.c[c] for c in _CLOSE_COLUMNS)).where(in_list(session, t.c.id, ids))).all()}
    for task_id in ids:
        if task_id not in rows:
            raise NotFound(record_not_found("task", task_id))
    return _close_rows(session, actor, [rows[i] for i in ids], outcomes, outcome_code=outcome_code,
                       by_owner=by_owner)


def close_open_tasks_about(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    subject_type: str,
    outcomes: dict[int, dict[str, Any] | None],
    outcome_code: str,
) -> list[int]:
    """`close_tasks` for the open tasks of `kind` about these subjects (subject id → outcome): what
    a consequence closes (a result arriving closes the members' overdue tasks). Subjects without an
    open task are skipped. Returns the closed ids, sorted.

    Set-based (issue #18: 100,000 tasks of one batch of results): the rules are `close_tasks`'s,
    checked per distinct pair of units and per kind from one grouped read (not per task row); the
    close is ONE `UPDATE … FROM` the staged (subject, outcome) pairs `RETURNING` the ids, the `done`
    events ONE `INSERT … SELECT`, and one `task.completed` audit entry names every id. The caller's
    outcome objects are stored as given (share one dict per distinct outcome: converted once)."""
    actor.require("task.work")
    if not outcomes:
        return []
    t = Task.__table__
    session.flush()
    subjects = sorted(outcomes)
    about = (t.c.kind == kind, t.c.subject_type == subject_type, t.c.status == "open")
    # the visibility rule per distinct (unit, escalated unit): a handful per batch, whatever its size
    places = session.execute(select(t.c.unit_path, t.c.escalated_unit_path, func.min(t.c.id)).where(
        *about, in_list(session, t.c.subject_id, subjects)).group_by(t.c.unit_path, t.c.escalated_unit_path)).all()
    if not places:
        return []
    unseen = [first for unit_path, escalated, first in places
              if not _sees(actor, _Where(unit_path, escalated))]
    if unseen:
        raise NotFound(record_not_found("task", min(unseen)))
    first = session.execute(select(*(t.c[c] for c in _CLOSE_COLUMNS)).where(
        t.c.id == min(first for _u, _e, first in places))).one()
    _check_close(first, outcome_code=outcome_code, note=None, by_owner=False)  # the rules depend on the kind only
    now = clock.now()
    pairs = bulk.staged(session, [("subject_id", t.c.subject_id), ("outcome", t.c.outcome)],
                        ((sid, outcomes[sid] or None) for sid in subjects), name="closing")
    ids = sorted(session.execute(
        # the IN makes the task's subject index drive the join (SQLite would scan every open task otherwise)
        update(t).where(*about, t.c.subject_id.in_(select(pairs.c.subject_id)), t.c.subject_id == pairs.c.subject_id)
        .values(status="done", done_at=now, outcome_code=outcome_code, outcome=pairs.c.outcome)
        .returning(t.c.id)).scalars())
    if not ids:
        return []
    te = TaskEvent.__table__
    closed = bulk.staged(session, [("task_id", te.c.task_id)], ((i,) for i in ids), name="closed")
    session.execute(insert(te).from_select(
        ["task_id", "at", "actor_id", "event", "detail"],
        select(closed.c.task_id, literal(now, UTCDateTime), literal(actor.user_id, te.c.actor_id.type),
               literal("done", te.c.event.type), literal({"outcome_code": outcome_code, "note": None}, te.c.detail.type))))
    audit.record(session, actor, "task.completed", object_type="task", object_id=ids[0] if len(ids) == 1 else None,
                 count=len(ids), ids=audit.compact_ids(ids), kinds=[kind], outcome_code=outcome_code)
    expire_changed(session, Task, ids)  # rows changed behind the identity map's back
    return ids


@dataclass(frozen=True, slots=True)
class _Where:
    """The two units a task is visible from (`_sees` reads these only)."""
    unit_path: str
    escalated_unit_path: str | None


def _close_rows(session: Session, actor: Actor, rows: Sequence[Any], outcomes: dict[int, dict[str, Any] | None],
                *, outcome_code: str, by_owner: bool) -> list[int]:
    """The bulk close of `close_tasks` for tasks read (`_CLOSE_COLUMNS`, sorted by id)."""
    if not rows:
        return []
    kinds_seen: set[str] = set()
    sees: dict[tuple[str, str | None], bool] = {}  # the rule per distinct pair of units (few per batch)
    for row in rows:
        where = (row.unit_path, row.escalated_unit_path)
        if where not in sees:
            sees[where] = _sees(actor, row)
        if not sees[where]:
            raise NotFound(record_not_found("task", row.id))
        _open(row)
        if row.kind not in kinds_seen:  # the rules depend on the kind only: checked once per kind
            _check_close(row, outcome_code=outcome_code, note=None, by_owner=by_owner)
            kinds_seen.add(row.kind)
    ids = [r.id for r in rows]
    now = clock.now()
    t = Task.__table__
    update_rows(session, t, "id", ["status", "done_at", "outcome_code", "outcome"],
                ((i, "done", now, outcome_code, outcomes[i] or None) for i in ids), guard={"status": "open"})
    detail = {"outcome_code": outcome_code, "note": None}
    insert_rows(session, TaskEvent.__table__, ["task_id", "at", "actor_id", "event", "detail"],
                ((i, now, actor.user_id, "done", detail) for i in ids))
    audit.record(session, actor, "task.completed", object_type="task", object_id=ids[0] if len(ids) == 1 else None,
                 count=len(ids), ids=audit.compact_ids(ids), kinds=sorted(kinds_seen), outcome_code=outcome_code)
    expire_changed(session, Task, ids)  # rows changed behind the identity map's back
    return ids


def cancel_task(session: Session, actor: Actor, task_id: int, *, reason: str | None = None) -> Task:
    """Withdraw an open task (撤销), e.g. when its subject turned out to be a duplicate."""
    actor.require("task.assign")
    task = get_task(session, actor, task_id)
    _open(task)
    task.status = "cancelled"
    task.done_at = clock.now()
    _event(session, task, actor, "cancelled", reason=reason)
    audit.record(session, actor, "task.cancelled", object_type="task", object_id=task.id, kind=task.kind)
    session.flush()
    return task


def open_task_for(session: Session, *, kind: str, subject_type: str, subject_id: int) -> Task | None:
    """The open task of this kind about this subject, if any (so callers never create a duplicate)."""
    return session.execute(
        select(Task).where(Task.kind == kind, Task.subject_type == subject_type, Task.subject_id == subject_id,
                           Task.status == "open").order_by(Task.id).limit(1)
    ).scalar_one_or_none()


def events(session: Session, actor: Actor, task_id: int) -> list[TaskEvent]:
    """A task's history, oldest first."""
    task = get_task(session, actor, task_id)
    return list(session.execute(
        select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.id)).scalars())


# -- lists -----------------------------------------------------------------------------------------
def _visible_clause(path: str) -> ColumnElement[bool]:
    return or_(scope.under(Task.unit_path, path), scope.under(Task.escalated_unit_path, path))


def _scoped(stmt: Any, actor: Actor) -> Any:
    if actor.unit_path == "/":
        return stmt
    return stmt.where(_visible_clause(actor.unit_path))


def inbox(
    session: Session,
    actor: Actor,
    *,
    status: str | None = "open",
    mine_only: bool = False,
    kind: str | None = None,
    overdue_only: bool = False,
    unit_id: int | None = None,
    escalated_only: bool = False,
    limit: int = 50,
    after_id: int | None = None,
) -> list[Task]:
    """Visible tasks, soonest due first (no due time last), then by id; keyset pagination by `after_id`.

    `status` None means any status. `unit_id` narrows to that unit's subtree (ownership or escalation).
    """
    actor.require("task.view")
    if status is not None and status not in STATUSES:
        raise ValidationFailed(UNKNOWN_STATUS(), [FieldError("status", EXPECTED_ONE_OF(choices=list(STATUSES)))])
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = _scoped(select(Task), actor)
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if mine_only:
        stmt = stmt.where(Task.assignee_id == actor.user_id) if actor.user_id is not None else stmt.where(
            Task.assignee_id.is_(None))
    if kind is not None:
        stmt = stmt.where(Task.kind == kind)
    if overdue_only:
        stmt = stmt.where(Task.status == "open", Task.due_at < clock.now())
    if escalated_only:
        stmt = stmt.where(Task.escalation_level > 0)
    if unit_id is not None:
        unit = scope.visible_unit(session, actor, unit_id)
        stmt = stmt.where(_visible_clause(unit.path))
    if after_id is not None:
        anchor = session.execute(_scoped(select(Task.id, Task.due_at), actor).where(Task.id == after_id)).first()
        if anchor is None:
            raise ValidationFailed(UNKNOWN_CURSOR(), [FieldError("after_id", NO_SUCH_TASK())])
        if anchor.due_at is None:
            stmt = stmt.where(Task.due_at.is_(None), Task.id > anchor.id)
        else:
            stmt = stmt.where(or_(
                Task.due_at > anchor.due_at,
                and_(Task.due_at == anchor.due_at, Task.id > anchor.id),
                Task.due_at.is_(None),
            ))
    stmt = stmt.order_by(Task.due_at.asc().nulls_last(), Task.id).limit(limit)
    return list(session.execute(stmt).scalars())


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """Visible tasks: open, overdue (open past due), due today and done today (local day)."""
    actor.require("task.view")
    now = clock.now()
    start, end = clock.local_day_bounds(clock.today())
    open_ = Task.status == "open"

    def n(cond: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    stmt = _scoped(select(
        n(open_),
        n(and_(open_, Task.due_at < now)),
        n(and_(open_, Task.due_at >= start, Task.due_at < end)),
        n(and_(Task.status == "done", Task.done_at >= start, Task.done_at < end)),
    ).select_from(Task), actor)
    row = session.execute(stmt).one()
    return {"open": int(row[0]), "overdue": int(row[1]), "due_today": int(row[2]), "done_today": int(row[3])}


# -- escalation ----------------------------------------------------------------------------------
def _json_detail(session: Session, **pairs: Any) -> Any:
    args: list[Any] = []
    for key, value in pairs.items():
        args += [literal(key, String), value]
    return func.json_build_object(*args) if is_postgres(session) else func.json_object(*args)


def escalate_overdue(session: Session, *, now: dt.datetime | None = None) -> int:
    """Escalate every open task past due (逾期上报); returns how many tasks moved up a level.

    Never escalated → the parent of its owning unit (level 1). Already escalated and the active pack's
    `task_escalation_repeat` has passed since → the next parent up. The root goes no further. Running
    it again within the period changes nothing. Set-based: one INSERT … SELECT and one UPDATE per step.
    """
    from fangkong.kernel.policy import service as policy_service

    now = _aware(now, "now") or clock.now()
    repeat = policy_service.active_pack(session).sla("task_escalation_repeat")
    session.flush()
    owner, target = aliased(Unit), aliased(Unit)
    at = literal(now, UTCDateTime())
    moved = 0

    # A task escalated before goes from its escalated unit to that unit's parent.
    steps = [
        (Task.escalation_level == 0, Task.unit_id, owner),
        (and_(Task.escalation_level > 0, Task.escalated_at <= now - repeat), Task.escalated_unit_id, owner),
    ]
    for due_cond, from_unit_col, src in steps:
        base = and_(Task.status == "open", Task.due_at < now, due_cond)
        parent_id = select(src.parent_id).where(src.id == from_unit_col).scalar_subquery()
        parent_path = (select(target.path).join(src, src.parent_id == target.id)
                       .where(src.id == from_unit_col).scalar_subquery())
        history = (
            select(Task.id, at, null(), literal("escalated", String),
                   _json_detail(session, unit_id=src.parent_id, level=Task.escalation_level + 1))
            .join(src, src.id == from_unit_col)
            .where(base, src.parent_id.is_not(None))
        )
        session.execute(insert(TaskEvent).from_select(
            ["task_id", "at", "actor_id", "event", "detail"], history))
        result = session.execute(
            update(Task).where(base, parent_id.is_not(None))
            .values(escalated_unit_id=parent_id, escalated_unit_path=parent_path,
                    escalation_level=Task.escalation_level + 1, escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount or 0
    # rows changed behind the identity map's back
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Task | TaskEvent):
            session.expire(obj)
    return moved
