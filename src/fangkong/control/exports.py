"""Control's exports (管控名单导出): `fangkong export measures [--at T]`, the measures as of a moment.

The CSV keeps the issue's columns `person_id,measure_id,category,phase,status,anchor_on,planned_end_on,
stepdown_on,releasable_on,released_at,site,room,missed_tests,checkins_missed,fevers`; `missed_tests`
lists day numbers (`2;5`); `checkins_missed` counts the check-in slots (00–12, 12–24) lying wholly inside
the measure's check-in phases before T without a check-in, `fevers` the check-ins ≥ 37.3 °C (the pack's
threshold) by T. `room` is the room (`A-301`) the measure holds at T, empty for home measures and
those awaiting a room. The people's XLSX adds the person's name and the category's and status' names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure
from fangkong.control.sites.service.sites import room_label
from fangkong.control.sites.service.stays import stays_of
from fangkong.kernel import clock, scope
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.export import CODE, DATE, DATETIME, INT, Column, ExportKind
from fangkong.kernel.people.models import Person

STATUS_ZH = {"planned": "待转运", "active": "管控中", "releasable": "可解除", "released": "已解除", "converted": "已转病例",
             "transferred_out": "已转出", "cancelled": "已撤销", "ended": "已结束"}
PHASE_ZH = {"central": "集中隔离", "home_quarantine": "居家隔离", "home_monitoring": "居家健康监测",
            "self_monitoring": "自我健康监测", "temporary": "临时管控", "ended": "已结束"}

MEASURE_COLUMNS = [
    Column("person_id", "人员编号", INT),
    Column("name", "姓名", machine=False),
    Column("measure_id", "措施编号", INT),
    Column("category", "人员类别", CODE, width=20),
    Column("phase", "阶段", CODE, label=lambda v: PHASE_ZH.get(v, v or "")),
    Column("status", "状态", CODE, label=lambda v: STATUS_ZH.get(v, v or "")),
    Column("anchor_on", "起算日(第0天)", DATE),
    Column("planned_end_on", "计划解除日", DATE),
    Column("stepdown_on", "转居家日", DATE),
    Column("releasable_on", "可解除日", DATE),
    Column("released_at", "解除时间", DATETIME),
    Column("site", "隔离点", width=20),
    Column("room", "房间"),
    Column("missed_tests", "漏检日"),
    Column("checkins_missed", "漏报次数", INT),
    Column("fevers", "发热次数", INT),
]


def _filters(session: Session, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    text = (params.get("at") or "").strip()
    return {"at": clock.parse_time(text) if text else None}


def measure_rows(session: Session, actor: Actor, *, at: dt.datetime | None = None, after_id: int | None = None
                 ) -> Iterator[dict[str, Any]]:
    """One row per measure the actor sees that started by `at` (default now), as of `at`, by id (after
    `after_id`: a page of `GET /api/v1/measures`)."""
    from fangkong.control.service.checkins import counts
    from fangkong.control.service.status import status_as_of

    at = at or clock.now()
    stmt = (scope.visible(select(Measure, Person.name), actor, Measure).join(Person, Person.id == Measure.person_id)
            .where(Measure.started_at <= at).order_by(Measure.id))
    last = after_id or 0
    while True:
        batch = session.execute(stmt.where(Measure.id > last).limit(500)).all()
        if not batch:
            return
        last = batch[-1][0].id
        names = {m.id: name for m, name in batch}
        checkins = counts(session, [m for m, _n in batch], at=at)
        rooms = {mid: room_label(room) for mid, (_stay, room) in stays_of(session, list(names), at=at).items()}
        for s in status_as_of(session, at=at, measures=[m for m, _n in batch]):
            yield {"person_id": s.person_id, "name": names.get(s.measure_id), "measure_id": s.measure_id,
                   "category": s.category, "phase": s.phase, "status": s.status, "anchor_on": s.anchor_on,
                   "planned_end_on": s.planned_end_on, "stepdown_on": s.stepdown_on,
                   "releasable_on": s.releasable_on, "released_at": s.released_at,
                   "site": s.site_name if s.place_kind == "site" else None, "room": rooms.get(s.measure_id),
                   "missed_tests": ";".join(str(d) for d in s.missed_tests),
                   "checkins_missed": checkins[s.measure_id][0], "fevers": checkins[s.measure_id][1]}


#: not registered for the pages' download yet (a registered kind is a row of docs/permissions.md):
#: the command line writes it through the one writer, audited
MEASURES = ExportKind("measures", "管控措施", MEASURE_COLUMNS, measure_rows, ("person.view", "data.export"),
                      parse_filters=_filters, object_type="measure")
