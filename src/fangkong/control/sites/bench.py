"""`fangkong bench capacity`: the capacity dashboard's server time (issue #12 goal: ≤ 300 ms with 200
sites, 20,000 rooms and 50,000 measures), against a plain GROUP BY over the same rooms and stays in the
same run (the rooms by site and state); the two answers must agree. Registered when the command line
loads control's commands (control/sites/cli.py)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, compare, scratch_database


@benchmark("capacity", quick={"sites": 5, "rooms": 200, "measures": 300})
def bench_capacity(*, sites: int = 200, rooms: int = 20_000, measures: int = 50_000, database: str | None = None,
                   repeat: int = 3) -> BenchResult:
    """Dashboard data (`capacity.dashboard`) over `sites` sites, `rooms` rooms and `measures` measures
    (75 % of rooms occupied, 5 % being cleaned, 2 % out of service)."""
    from sqlalchemy import and_, case, func, insert, or_, select
    from sqlalchemy.orm import Session

    from fangkong.control.models import Measure
    from fangkong.control.sites.models import QuarantineSite, Room, RoomStay
    from fangkong.control.sites.service import capacity
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.people.models import Person
    from fangkong.kernel.places.models import Place

    if sites < 1 or rooms < sites or measures < 1:
        raise ValueError("sites ≥ 1, rooms ≥ sites, measures ≥ 1")
    figures: dict[str, Any] = {"sites": sites, "rooms": rooms, "measures": measures}
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-capacity-"))
    engine = scratch_database(database, tmp)
    figures["backend"] = engine.dialect.name
    now = dt.datetime(2022, 4, 18, 1, 0, tzinfo=dt.UTC)
    t0 = time.perf_counter()
    with clock.frozen(now), Session(engine) as session:
        root = jurisdictions_service.root_unit(session)
        root.population = 10_000_000
        districts = []
        for d in range(10):
            u = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=f"CB{d:02d}", name=f"区{d}",
                                                  level="district", parent_code=root.code)
            u.population = 1_000_000
            districts.append(u)
        session.flush()
        place_rows = [{"id": 1_000_000 + i, "kind": "quarantine_site", "code": f"QB{i}", "name": f"隔离点{i}",
                       "ref": f"QB{i}", "unit_id": districts[i % 10].id, "unit_path": districts[i % 10].path}
                      for i in range(sites)]
        session.execute(insert(Place), place_rows)
        session.execute(insert(QuarantineSite), [
            {"place_id": p["id"], "status": "active", "created_at": now, "updated_at": now, "unit_id": p["unit_id"],
             "unit_path": p["unit_path"]} for p in place_rows])
        room_rows = []
        for i in range(rooms):
            p = place_rows[i % sites]
            room_rows.append({"id": i + 1, "site_id": p["id"], "building": str(i % 3 + 1), "floor": (i // 30) % 20 + 1,
                              "number": str(i), "beds": 1, "status": "out_of_service" if i % 50 == 49 else "usable",
                              "lock_version": 0, "created_at": now, "unit_id": p["unit_id"], "unit_path": p["unit_path"]})
        session.execute(insert(Room), room_rows)
        person_rows = [{"id": i + 1, "name": f"P{i}", "name_key": f"P{i}", "id_number_valid": False,
                        "unit_id": districts[i % 10].id, "unit_path": districts[i % 10].path, "created_at": now,
                        "updated_at": now, "source": "bench"} for i in range(measures)]
        session.execute(insert(Person), person_rows)
        occupied = int(rooms * 0.75)
        cleaning = int(rooms * 0.05)
        measure_rows = []
        stay_rows = []
        for i in range(measures):
            start = now - dt.timedelta(days=i % 10, hours=i % 24)
            in_room = i < occupied + cleaning
            room = room_rows[i] if in_room else None
            measure_rows.append({
                "id": i + 1, "person_id": i + 1, "category": "close_contact", "measure_code": "centralised_quarantine",
                "kind": "centralised", "phases": [], "test_dates": [], "started_at": start, "status": "active",
                "pack_version": "bench", "rule": "bench", "place_kind": "site" if room else "home",
                "place_id": room["site_id"] if room else None, "created_at": start, "phase": "central",
                "anchor_on": start.date(), "planned_end_on": start.date() + dt.timedelta(days=10),
                "unit_id": districts[i % 10].id, "unit_path": districts[i % 10].path})
            if room is not None and room["status"] == "usable":
                left = i >= occupied
                stay_rows.append({"room_id": room["id"], "site_id": room["site_id"], "measure_id": i + 1,
                                  "person_id": i + 1, "bed": 1, "from_at": start, "arrived_at": start,
                                  "until_at": now - dt.timedelta(hours=1) if left else None,
                                  "end_reason": "released" if left else None, "needs_cleaning": left,
                                  "unit_id": room["unit_id"], "unit_path": room["unit_path"]})
        session.execute(insert(Measure), measure_rows)
        session.execute(insert(RoomStay), stay_rows)
        session.commit()
        figures["load_s"] = round(time.perf_counter() - t0, 2)

        def product() -> list[tuple[Any, ...]]:
            data = capacity.dashboard(session, SYSTEM_ACTOR, at=now)
            return [(s["id"], s["rooms"], s["out_of_service"], s["occupied"], s["cleaning"]) for s in data["sites"]]

        def group_by() -> list[tuple[Any, ...]]:
            occ = select(RoomStay.room_id).where(RoomStay.from_at <= now, or_(RoomStay.until_at.is_(None),
                                                                             RoomStay.until_at > now)).distinct().subquery()
            cln = select(RoomStay.room_id).where(RoomStay.needs_cleaning.is_(True), RoomStay.until_at <= now, or_(
                RoomStay.cleaned_at.is_(None), RoomStay.cleaned_at > now)).distinct().subquery()
            oos = Room.status == "out_of_service"
            stmt = (select(Room.site_id, func.count(),
                           func.sum(case((oos, 1), else_=0)),
                           func.sum(case((and_(~oos, occ.c.room_id.is_not(None)), 1), else_=0)),
                           func.sum(case((and_(~oos, occ.c.room_id.is_(None), cln.c.room_id.is_not(None)), 1),
                                         else_=0)))
                    .outerjoin(occ, occ.c.room_id == Room.id).outerjoin(cln, cln.c.room_id == Room.id)
                    .group_by(Room.site_id))
            return [tuple(int(v) for v in row) for row in session.execute(stmt)]

        job = compare(figures, "capacity_dashboard", product, {engine.dialect.name + "_group_by": group_by},
                      repeat=repeat)
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)  # no scratch data left behind
    figures["dashboard_ms"] = round(job["product_s"] * 1000, 1)
    notes = ["dashboard = capacity per site and unit, occupancy over 14 days, flows and the 7-day forecast; "
             "the baseline counts only rooms by site and state (one GROUP BY)", "goal: ≤ 300 ms server time"]
    return BenchResult("capacity", figures, notes)
