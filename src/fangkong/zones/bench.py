"""`fangkong bench rounds`: a round's coverage per grid over 1,000,000 targets (issue #13 goal: ≤ 1 s)
against a plain GROUP BY in the same run, and the time to draw a zone of 50,000 residents with their
measures (issue #13 goal: ≤ 10 s; job `draw`, read back in plain SQL)."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, compare, scratch_database


@benchmark("rounds", quick={"targets": 2000, "grids": 20, "zone_residents": 40})
def bench_rounds(*, targets: int = 1_000_000, grids: int = 400, zone_residents: int = 50_000, seed: int = 1,
                 database: str | None = None) -> BenchResult:
    """Coverage of a round of `targets` persons on `grids` grids; a zone of `zone_residents` drawn."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bulk import bulk_insert, insert_rows
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.jurisdictions.models import Address
    from fangkong.kernel.people.models import Person
    from fangkong.zones.models import RoundTarget, TestingRound, target_state
    from fangkong.zones.service import rounds as rounds_service
    from fangkong.zones.service import zones as zones_service

    if targets < grids or grids < 1:
        raise ValueError("targets ≥ grids ≥ 1")
    figures: dict[str, Any] = {"targets": targets, "grids": grids, "zone_residents": zone_residents}
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-rounds-"))
    engine = scratch_database(database, tmp)
    figures["backend"] = engine.dialect.name
    now = dt.datetime(2022, 4, 18, 1, 0, tzinfo=dt.UTC)
    try:
        with clock.frozen(now), Session(engine) as session:
            root = jurisdictions_service.root_unit(session)
            dist = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="320412", name="武进区",
                                                     level="district", parent_code=root.code)
            units = [jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=f"R{g:05d}", name=f"网格{g}",
                                                       level="grid", parent_code=dist.code) for g in range(grids)]
            session.commit()
            t0 = time.perf_counter()
            # persons: one row each (the targets must name real persons)
            batch: list[dict[str, Any]] = []
            person_ids: list[int] = []
            for n in range(targets):
                u = units[n % grids]
                batch.append({"name": f"居民{n}", "name_key": f"居民{n}", "id_number_valid": False,
                              "address_id": None, "address_text": None, "employer_id": None, "unit_id": u.id,
                              "unit_path": u.path, "created_at": now, "updated_at": now, "source": "bench"})
                if len(batch) == 50_000:
                    person_ids += bulk_insert(session, Person.__table__, batch)
                    batch = []
            if batch:
                person_ids += bulk_insert(session, Person.__table__, batch)
            rnd = TestingRound(zone_id=None, level=None, sampling="open_points", started_at=now,
                               deadline_at=now + dt.timedelta(hours=24), targets=targets, started_by="bench",
                               created_at=now, unit_id=dist.id, unit_path=dist.path)
            session.add(rnd)
            session.flush()
            cols = ("round_id", "person_id", "source", "excluded", "sampled_at", "result", "resulted_at", "state",
                    "unit_id", "unit_path")
            later = now + dt.timedelta(hours=2)

            def rows() -> Any:
                for n, pid in enumerate(person_ids):
                    u = units[n % grids]
                    r = rng.random()
                    excluded = "infant" if r < 0.01 else None
                    sampled = later if r < 0.9 else None
                    result = ("positive" if r < 0.0005 else "negative") if r < 0.7 else None
                    state = target_state(sampled=sampled is not None, result=result, excluded=excluded is not None,
                                         pool_positive=False)  # as rounds.py keeps it
                    yield (rnd.id, pid, "registry", excluded, sampled, result, later if result else None, state,
                           u.id, u.path)

            insert_rows(session, RoundTarget.__table__, cols, rows())
            session.commit()
            if engine.dialect.name == "postgresql":
                session.execute(text("ANALYZE round_target"))
            figures["build_s"] = round(time.perf_counter() - t0, 1)

            def product() -> list[tuple[Any, ...]]:
                return [(r.unit_code, r.targets, r.sampled, r.resulted, r.positive, r.excluded)
                        for r in rounds_service.coverage_query(session, SYSTEM_ACTOR, round_id=rnd.id)]

            plain = text(
                "SELECT u.code, count(*), count(t.sampled_at), count(t.result), "
                "sum(CASE WHEN t.result = 'positive' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN t.excluded IS NOT NULL THEN 1 ELSE 0 END) "
                "FROM round_target t JOIN unit u ON u.id = t.unit_id WHERE t.round_id = :r GROUP BY u.code")

            def baseline() -> list[tuple[Any, ...]]:
                return [tuple(r) for r in session.execute(plain, {"r": rnd.id})]

            job = compare(figures, "coverage", product, {"plain_group_by": baseline}, repeat=3)
            figures["coverage_s"] = job["product_s"]
            figures["ratio_coverage_to_plain"] = round(job["product_s"] / max(job["baselines"]["plain_group_by"],
                                                                               1e-4), 2)

            # a zone: its residents registered on its addresses, drawn with their measures
            grid = units[0]
            aids = []
            for i in range(max(1, zone_residents // 2)):
                a = Address(text=f"花园路{i}号1栋101室", key=f"花园路{i}号1栋101室", building_key=f"花园路{i}号1栋",
                            road="花园路", house_no=f"{i}号", building="1栋", room="101室", unit_id=grid.id,
                            unit_path=grid.path)
                session.add(a)
                aids.append(a)
            session.flush()
            bulk_insert(session, Person.__table__, [
                {"name": f"住户{n}", "name_key": f"住户{n}", "id_number_valid": False,
                 "address_id": aids[n % len(aids)].id, "address_text": aids[n % len(aids)].text, "employer_id": None,
                 "unit_id": grid.id, "unit_path": grid.path, "created_at": now, "updated_at": now, "source": "bench"}
                for n in range(zone_residents)])
            session.commit()
            drawn_box: list[Any] = []

            def draw() -> list[tuple[Any, ...]]:
                drawn_box.append(zones_service.draw_zone(session, SYSTEM_ACTOR, level="high", reason="bench",
                                                         units=[grid.code]))
                session.commit()
                d = drawn_box[0]
                return [(d.zone.residents, d.measures, d.already_under_measure)]

            def written() -> list[tuple[Any, ...]]:
                # what the draw wrote, read back in plain SQL: residents, measures started, none kept
                zid = drawn_box[0].zone.id
                return [tuple(session.execute(text(
                    "SELECT (SELECT count(*) FROM zone_resident WHERE zone_id = :z), "
                    "(SELECT count(*) FROM measure WHERE rule = :r), "
                    "(SELECT count(*) FROM zone_resident WHERE zone_id = :z AND measure_id IS NULL)"),
                    {"z": zid, "r": f"zone:{zid}"}).one())]

            job = compare(figures, "draw", draw, {"sql_read_back": written})
            seconds = job["product_s"]
            drawn = drawn_box[0]
            figures["draw_zone_s"] = round(seconds, 2)
            figures["draw_zone_measures"] = drawn.measures
            figures["draw_zone_due_tests"] = int(session.execute(text(
                "SELECT count(*) FROM due_test d JOIN measure m ON m.id = d.measure_id WHERE m.rule = :r"),
                {"r": f"zone:{drawn.zone.id}"}).scalar() or 0)
            figures["draw_zone_ms_per_resident"] = round(1000 * seconds / max(1, drawn.zone.residents), 3)
            figures["draw_zone_50000_estimate_s"] = round(50_000 * seconds / max(1, drawn.zone.residents), 1)
            # the zone's first round: every resident a target
            t0 = time.perf_counter()
            zr = rounds_service.start_round(session, SYSTEM_ACTOR, zone_id=drawn.zone.id)
            session.commit()
            figures["zone_round_start_s"] = round(time.perf_counter() - t0, 2)
            figures["zone_round_targets"] = zr.targets
            # lifting: high → medium ends the 50,000 measures (control's end_many) and starts the medium
            # ones (start_many); then 1,000 of those ended one `end_measure` at a time (the path before
            # end_many, in the same run) and medium → low ends the rest in bulk
            from fangkong.control import service as control_service

            zid = drawn.zone.id
            t0 = time.perf_counter()
            _z, _e, ended = zones_service.lift_zone(session, SYSTEM_ACTOR, zone_id=zid, override=True, reason="bench",
                                                    at=now + dt.timedelta(days=1))
            session.commit()
            figures["lift_high_to_medium_s"] = round(time.perf_counter() - t0, 2)
            figures["lift_high_to_medium_measures_ended"] = ended
            medium = list(session.execute(text(
                "SELECT id FROM measure WHERE rule = :r AND status = 'active' ORDER BY id"),
                {"r": f"zone:{zid}"}).scalars())
            one_by_one = medium[:min(1000, len(medium) // 2)]
            t0 = time.perf_counter()
            for mid in one_by_one:
                control_service.end_measure(session, SYSTEM_ACTOR, measure_id=mid, reason="bench one by one",
                                            at=now + dt.timedelta(days=1, hours=12))
            session.commit()
            single = time.perf_counter() - t0
            figures["end_measure_one_by_one_ms_each"] = round(1000 * single / max(1, len(one_by_one)), 2)
            t0 = time.perf_counter()
            _z, _e, ended = zones_service.lift_zone(session, SYSTEM_ACTOR, zone_id=zid, override=True, reason="bench",
                                                    at=now + dt.timedelta(days=2))
            session.commit()
            bulk = time.perf_counter() - t0
            figures["lift_medium_to_low_s"] = round(bulk, 2)
            figures["lift_medium_to_low_measures_ended"] = ended
            figures["lift_medium_to_low_ms_per_measure"] = round(1000 * bulk / max(1, ended), 3)
            left_active = session.execute(text("SELECT count(*) FROM measure WHERE rule = :r AND status = 'active'"),
                                          {"r": f"zone:{zid}"}).scalar()
            figures["lift_measures_left_active"] = int(left_active or 0)
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    notes = ["goal (issue #13): coverage for 1,000,000 residents ≤ 1 s; a zone of 50,000 residents drawn with "
             "its measures ≤ 10 s (measures start in bulk through control.start_many)"]
    return BenchResult("rounds", figures, notes)
