"""The data closed loop (数据闭环) for a day: pushed leads, checkpoint records and community work set
against each other, one list per gap. Supersedes intake's first reconciliation (its two person lists
fold into `pushed_not_community` and `seen_not_community`).

For day D: *pushed* = bigdata/telecom leads arriving on D (arrival time, else received time); *seen* =
inbound checkpoint persons on D, not returned (劝返), not crew of an e-pass truck (followed by the
trip); *community* = community leads, or any lead of the person verified as found (found_home,
found_site). Two records of one person match within ±`checkpoints.match_hours` (24 h).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints import exports, kinds, rules
from fangkong.checkpoints.models import CheckpointRecord
from fangkong.checkpoints.service import records as records_service
from fangkong.checkpoints.service import trips as trips_service
from fangkong.intake import service as intake_service
from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.tasks import service as tasks_service

GAPS = ("pushed_not_seen", "pushed_not_community", "seen_not_pushed", "seen_not_community", "community_not_seen",
        "arrival_not_seen", "trip_open")
GAP_ZH = exports.GAP_ZH
COLUMNS = ["gap", "person_id", "plate", "at"]
FOUND = ("found_home", "found_site")


@dataclass(frozen=True)
class Gap:
    gap: str
    person_id: int | None
    plate: str | None
    at: dt.datetime
    #: what to open: a lead, a record or a trip
    subject_type: str
    subject_id: int
    #: the unit that owns what the row names (where a task goes)
    unit_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"gap": self.gap, "person_id": self.person_id, "plate": self.plate, "at": self.at}


def _when(lead: Any) -> dt.datetime:
    return lead.arrival_at or lead.received_at


def _leads(session: Session, actor: Actor, channel: str, lo: dt.datetime, hi: dt.datetime) -> list[Any]:
    """The channel's visible leads received in [lo, hi), all pages."""
    out: list[Any] = []
    after = None
    while True:
        page = intake_service.list_leads(session, actor, channel=channel, received_from=lo, received_to=hi,
                                         limit=500, after_id=after)
        out += [x for x in page if x.person_id is not None]
        if len(page) < 500:
            return out
        after = page[-1].id


def reconciliation(session: Session, actor: Actor, *, day: dt.date, unit_id: int | None = None) -> list[Gap]:
    """Every gap of day D in the actor's jurisdiction (or `unit_id`'s subtree), gap by gap, by time.
    Needs `lead.view` and `checkpoint.view`."""
    actor.require("lead.view")
    actor.require("checkpoint.view")
    unit = scope.base_unit(session, actor, unit_id)
    start, end = clock.local_day_bounds(day)
    match = dt.timedelta(hours=policy_service.active_pack(session).checkpoints.match_hours)
    lo, hi = start - match - dt.timedelta(days=2), end + match + dt.timedelta(days=2)

    def ours(lead: Any) -> bool:
        return scope.inside(lead.unit_path, unit)

    pushed = [x for ch in ("bigdata", "telecom") for x in _leads(session, actor, ch, lo, hi)
              if start <= _when(x) < end and ours(x)]
    community_leads = [x for x in _leads(session, actor, "community", lo, hi)]
    # inbound checkpoint records near the day (for matching) and on the day (seen)
    recs = list(session.execute(scope.within(scope.visible(select(CheckpointRecord).where(
        CheckpointRecord.direction == "in", CheckpointRecord.person_id.is_not(None),
        CheckpointRecord.inspected_at >= start - match, CheckpointRecord.inspected_at <= end + match),
        actor, CheckpointRecord), unit, CheckpointRecord).order_by(CheckpointRecord.inspected_at,
                                                                   CheckpointRecord.id)).scalars())
    epass_passages = records_service.passages_on_epass(recs)
    inbound: dict[int, list[CheckpointRecord]] = defaultdict(list)
    for r in recs:
        inbound[r.person_id].append(r)  # type: ignore[index]

    def excepted(r: CheckpointRecord) -> bool:
        return r.decision == "return" or (r.role in ("driver", "crew") and r.passage_key in epass_passages)

    seen = [r for r in recs if start <= r.inspected_at < end and not excepted(r)]

    def near(a: dt.datetime, b: dt.datetime) -> bool:
        return abs(a - b) <= match

    # community work of every person concerned: community leads, and verifications that found the person
    persons = sorted({x.person_id for x in pushed} | {r.person_id for r in seen if r.person_id})
    found_at: dict[int, list[dt.datetime]] = defaultdict(list)
    for x in community_leads:
        found_at[x.person_id].append(_when(x))
    for pid in persons:
        for x in intake_service.leads_of_person(session, actor, pid):
            if x.outcome_code in FOUND and x.managed_at is not None:
                found_at[pid].append(x.managed_at)
    pushed_at: dict[int, list[dt.datetime]] = defaultdict(list)
    for x in _leads(session, actor, "bigdata", lo, hi) + _leads(session, actor, "telecom", lo, hi):
        pushed_at[x.person_id].append(_when(x))

    gaps: list[Gap] = []
    for x in sorted(pushed, key=lambda x: (_when(x), x.id)):
        t = _when(x)
        near_recs = [r for r in inbound.get(x.person_id, []) if near(r.inspected_at, t)]
        if not near_recs:
            gaps.append(Gap("pushed_not_seen", x.person_id, None, t, "lead", x.id, x.unit_id))
        if any(excepted(r) for r in near_recs):
            continue
        if not any(near(c, t) for c in found_at.get(x.person_id, [])):
            gaps.append(Gap("pushed_not_community", x.person_id, None, t, "lead", x.id, x.unit_id))
    for r in seen:
        pid = r.person_id
        assert pid is not None
        if not any(near(p, r.inspected_at) for p in pushed_at.get(pid, [])):
            gaps.append(Gap("seen_not_pushed", pid, r.plate, r.inspected_at, "checkpoint_record", r.id, r.unit_id))
        if not any(near(c, r.inspected_at) for c in found_at.get(pid, [])):
            gaps.append(Gap("seen_not_community", pid, r.plate, r.inspected_at, "checkpoint_record", r.id, r.unit_id))
    for x in sorted(community_leads, key=lambda x: (_when(x), x.id)):
        t = _when(x)
        if start <= t < end and ours(x) and not any(near(r.inspected_at, t) for r in inbound.get(x.person_id, [])):
            gaps.append(Gap("community_not_seen", x.person_id, None, t, "lead", x.id, x.unit_id))
    for a in trips_service.arrivals_not_seen(session, actor, start=start, end=end):
        if scope.inside(a.unit_path, unit):
            gaps.append(Gap("arrival_not_seen", None, a.plate, a.arrived_at, "checkpoint_trip_arrival", a.id, a.unit_id))
    last = end - dt.timedelta(microseconds=1)
    for row in trips_service.trip_states(session, actor, at=last, states=rules.OVERDUE):
        if scope.inside(row.trip.unit_path, unit):
            gaps.append(Gap("trip_open", None, row.trip.plate, row.trip.entered_at, "checkpoint_trip", row.trip.id,
                            row.trip.unit_id))
    order = {g: i for i, g in enumerate(GAPS)}
    return sorted(gaps, key=lambda g: (order[g.gap], g.at, g.subject_id))


def make_gap_tasks(session: Session, actor: Actor, *, day: dt.date, gap: str, unit_id: int | None = None) -> list[int]:
    """One task per row of a gap list ("make tasks"), at the unit of what the row names (the lead's, the
    record's checkpoint's, the trip's), none twice while one is open. Needs `trip.manage`."""
    actor.require("trip.manage")
    rows = [g for g in reconciliation(session, actor, day=day, unit_id=unit_id) if g.gap == gap]
    new = []
    root = scope.base_unit(session, actor)
    for g in rows:
        if tasks_service.open_task_for(session, kind=kinds.GAP, subject_type=g.subject_type,
                                       subject_id=g.subject_id) is not None:
            continue
        unit_id_of = g.unit_id or root.id
        who = f"人员 {g.person_id}" if g.person_id else f"车辆 {g.plate}"
        new.append(tasks_service.NewTask(kind=kinds.GAP, title=f"数据闭环:{GAP_ZH[g.gap]}({who})",
                                         unit_id=unit_id_of, subject_type=g.subject_type, subject_id=g.subject_id,
                                         detail={"gap": g.gap, "day": day.isoformat(), "person_id": g.person_id,
                                                 "plate": g.plate}))
    ids = tasks_service.create_tasks(session, actor, new)
    if ids:
        audit.record(session, actor, "checkpoints.gap_tasks", object_type="task", gap=gap, day=day.isoformat(),
                     count=len(ids))
    return ids



def names_of(session: Session, ids: list[int]) -> dict[int, str | None]:
    """Names beside person ids (the registry's own table, read for display)."""
    from fangkong.kernel.bulk import chunks
    from fangkong.kernel.people.models import Person

    out: dict[int, str | None] = {}
    for chunk in chunks(sorted(set(ids))):
        out.update(session.execute(select(Person.id, Person.name).where(Person.id.in_(chunk))).all())
    return out
