"""Ending many measures at once (批量解除管控): a lifted zone's residents. The same rules as
`end_measure` — the `measure.start` permission, each measure inside the actor's jurisdiction, only an
active measure ends, its `ended` event with who and why, its due tests not done whose window has not
closed cancelled, a central-quarantine room left — applied in one pass: the events are inserted from
the measure rows, the measures and due tests updated in bulk, and one audit entry names every id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import JSON, Boolean, Integer, String, func, insert, literal, null, select, update
from sqlalchemy.orm import Session

from fangkong.control.models import DueTest, Measure, MeasureEvent
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.errors import NotFound, record_not_found

#: measures per statement
CHUNK = 5000


def end_many(session: Session, actor: Actor, measure_ids: Sequence[int], *, reason: str,
             at: dt.datetime | None = None) -> list[int]:
    """End every active measure of `measure_ids` at `at` with `reason` (`end_measure`'s rules, in bulk);
    returns the ids ended. A measure no longer active (ended, released, converted meanwhile) is left as
    it is and not returned; one outside the actor's jurisdiction (or unknown) refuses the whole batch
    (404) before anything is written. One audit entry `measure.ended` names the ids ended."""
    actor.require("measure.start")
    ids = sorted(set(measure_ids))
    if not ids:
        return []
    at = at or clock.now()
    reason = (reason or "")[:200]
    session.flush()
    active: list[int] = []
    sites: list[int] = []
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        rows = session.execute(scope.visible(select(Measure.id, Measure.status, Measure.place_kind).where(
            in_list(session, Measure.id, chunk)), actor, Measure)).all()
        seen = {mid for mid, _s, _p in rows}
        missing = next((mid for mid in chunk if mid not in seen), None)
        if missing is not None:
            raise NotFound(record_not_found("measure", missing))
        active += [mid for mid, status, _p in rows if status == "active"]
        sites += [mid for mid, status, place in rows if status == "active" and place == "site"]
    active.sort()
    today = at.astimezone(clock.tz()).date()
    m = Measure.__table__
    cols = ("measure_id", "person_id", "at", "action", "from_status", "to_status", "from_phase", "to_phase",
            "user_id", "username", "reason", "rule", "pack_version", "override", "detail", "unit_id", "unit_path")
    cancelled = 0
    for i in range(0, len(active), CHUNK):
        chunk = active[i:i + CHUNK]
        # the `ended` event of each, read from the measure row before it changes (as `record_change`)
        session.execute(insert(MeasureEvent.__table__).from_select(cols, select(
            m.c.id, m.c.person_id, literal(at, m.c.started_at.type), literal("ended", String), m.c.status,
            literal("ended", String), m.c.phase, literal("ended", String), literal(actor.user_id, Integer),
            literal(actor.username[:64], String), literal(reason, String), null(), m.c.pack_version,
            literal(False, Boolean), literal({}, JSON), m.c.unit_id, m.c.unit_path,
        ).where(in_list(session, m.c.id, chunk)).order_by(m.c.id)))
        session.execute(update(Measure).where(in_list(session, Measure.id, chunk)).values(
            status="ended", phase="ended", ended_at=at, end_reason=reason)
            .execution_options(synchronize_session=False))
        # the status inside a function: the planner walks the measure ids' index, never the whole
        # (status, window) index of every measure's due tests
        cancelled += session.execute(update(DueTest).where(
            in_list(session, DueTest.measure_id, chunk), func.coalesce(DueTest.status, "") == "due",
            DueTest.window_end_on >= today)
            .values(status="cancelled", cancelled_at=at).execution_options(synchronize_session=False)).rowcount or 0
    ended = set(active)
    for obj in list(session.identity_map.values()):  # rows changed behind the session's objects
        if (isinstance(obj, Measure) and obj.id in ended) or (isinstance(obj, DueTest) and obj.measure_id in ended):
            session.expire(obj)
    if sites:  # out of central quarantine: the room is left (few: a zone's measures are at home)
        from fangkong.control.sites.service import stays

        for measure in session.execute(select(Measure).where(in_list(session, Measure.id, sites))).scalars():
            stays.leave_room(session, measure, at=at, reason="ended")
    if active:
        audit.record(session, actor, "measure.ended", object_type="measure",
                     object_id=active[0] if len(active) == 1 else None, count=len(active),
                     ids=audit.compact_ids(active), reason=reason, due_tests_cancelled=cancelled)
    session.flush()
    return active
