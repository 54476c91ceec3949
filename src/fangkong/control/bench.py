"""`fangkong bench notices`: print N release notices of one cohort as one PDF (goal: 500 in ≤ 60 s).

Options: notices=N (default 500) database=URL (an empty scratch database; default a SQLite file in a
temporary directory). Figures: seconds to number, render and print them (WeasyPrint), seconds per notice,
the PDF's size; the answer is checked: the PDF has N pages and each page's text (pypdf) holds its person's
Chinese name and its notice number.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fangkong.kernel.bench import BenchResult, benchmark, scratch_database

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


@benchmark("notices", quick={"notices": 5})
def bench_notices(*, notices: int = 500, database: str | None = None) -> BenchResult:
    """500 release notices of a cohort at one quarantine site, as one PDF."""
    import pypdf
    from sqlalchemy.orm import Session

    from fangkong.control import service as control_service
    from fangkong.control.service import notices as notices_service
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.people import service as people_service
    from fangkong.kernel.people.identity import id_check_digit
    from fangkong.kernel.places import service as places_service
    from fangkong.registry import import_all_models

    import_all_models()
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-notices-"))
    engine = scratch_database(database, tmp)
    figures: dict[str, Any] = {"notices": notices, "backend": engine.dialect.name}
    result = BenchResult("notices", figures)
    tz = clock.tz()
    start = dt.datetime(2022, 4, 20, 10, tzinfo=tz)
    try:
        with Session(engine) as session:
            root = jurisdictions_service.root_unit(session)
            site = places_service.create_place(session, SYSTEM_ACTOR, kind="quarantine_site", name="基准隔离酒店",
                                               unit_id=root.id)
            names, ids = [], []
            t0 = time.perf_counter()
            for n in range(notices):
                first = "320412" + (dt.date(1950, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d") + "001"
                name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)] + GIVEN[n % len(GIVEN)]
                pid = people_service.register_person(session, SYSTEM_ACTOR, name=name,
                                                     id_number=first + id_check_digit(first), unit_id=root.id).id
                m = control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category="close_contact",
                                                  rule="categories.close_contact", place_kind="site",
                                                  place_id=site.id, started_at=start,
                                                  exposure_at=start - dt.timedelta(days=1))
                names.append(name)
                ids.append(m.id)
            figures["setup_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            printed = notices_service.issue_notices(session, SYSTEM_ACTOR, kind="release_notice", measure_ids=ids,
                                                    at=start + dt.timedelta(days=10))
            seconds = time.perf_counter() - t0
            numbers = [n.notice_no for n in printed.notices]
            session.commit()
        figures.update(print_s=round(seconds, 3), per_notice_ms=round(1000 * seconds / max(1, notices), 1),
                       pdf_kb=round(len(printed.pdf) / 1024, 1), goal_s=60, met=seconds <= 60)
        pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(printed.pdf)).pages]
        wrong = [i for i, (page, name, no) in enumerate(zip(pages, names, numbers, strict=False))
                 if name not in page or no not in page]
        figures["jobs"] = [{"job": "release_notices_pdf", "product_s": round(seconds, 3), "baselines": {},
                            "equal": len(pages) == notices and not wrong, "rows": len(pages)}]
        if wrong or len(pages) != notices:
            result.notes.append(f"pages {len(pages)} of {notices}; pages without their name or number: {wrong[:5]}")
        result.notes.append("no independent baseline: the answer is checked by reading the PDF back (pypdf)")
    finally:
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


@benchmark("measures", quick={"residents": 200})
def bench_measures(*, residents: int = 10_000, single: int | None = None, category: str = "high_risk_area",
                   database: str | None = None) -> BenchResult:
    """`fangkong bench measures [residents=N] [single=M]`: start N residents' measures at once through
    `start_many` (a zone's draw; goal: 10,000 in ≤ 10 s) and M (default N/20, at least 50) one by one
    through `start_measure`, in the same run on the same database; per-resident time of each. The
    answer is checked: both paths give every measure the same due days and planned end."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from fangkong.control import service as control_service
    from fangkong.control.models import DueTest, Measure
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.bulk import bulk_insert, in_list
    from fangkong.kernel.jurisdictions import service as jurisdictions_service
    from fangkong.kernel.people.models import Person
    from fangkong.registry import import_all_models

    import_all_models()
    single = single if single is not None else max(50, residents // 20)
    tmp = Path(tempfile.mkdtemp(prefix="fangkong-bench-measures-"))
    engine = scratch_database(database, tmp)
    figures: dict[str, Any] = {"residents": residents, "single": single, "category": category,
                               "backend": engine.dialect.name}
    result = BenchResult("measures", figures)
    start = dt.datetime(2022, 4, 20, 10, tzinfo=clock.tz())
    try:
        with Session(engine) as session:
            root = jurisdictions_service.root_unit(session)
            now = clock.now()
            pids = bulk_insert(session, Person.__table__, [
                {"name": f"住户{n}", "name_key": f"住户{n}", "id_number_valid": False, "unit_id": root.id,
                 "unit_path": root.path, "created_at": now, "updated_at": now, "source": "bench"}
                for n in range(residents + single)])
            session.commit()
            t0 = time.perf_counter()
            one_ids = [control_service.start_measure(session, SYSTEM_ACTOR, person_id=pid, category=category,
                                                     rule="bench:single", started_at=start).id
                       for pid in pids[residents:]]
            session.commit()
            single_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            many_ids = control_service.start_many(session, SYSTEM_ACTOR, [control_service.NewMeasure(
                person_id=pid, category=category, rule="bench:many", started_at=start) for pid in pids[:residents]])
            session.commit()
            many_s = time.perf_counter() - t0

            def shape(mid: int) -> tuple[Any, ...]:
                m = session.get(Measure, mid)
                assert m is not None
                days = tuple(session.execute(select(DueTest.day, DueTest.due_on).where(
                    DueTest.measure_id == mid).order_by(DueTest.day)).all())
                return (m.status, m.phase, m.planned_end_on, m.anchor_on, days)

            shapes = {shape(one_ids[0]), shape(many_ids[0]), shape(many_ids[-1])}
            counted = session.execute(select(DueTest.measure_id).where(
                in_list(session, DueTest.measure_id, many_ids[:500]))).all()
        per_single = 1000 * single_s / max(1, single)
        per_many = 1000 * many_s / max(1, residents)
        figures.update(start_many_s=round(many_s, 3), start_many_ms_per_resident=round(per_many, 3),
                       start_measure_s=round(single_s, 3), start_measure_ms_per_resident=round(per_single, 2),
                       speedup=round(per_single / max(per_many, 1e-6), 1),
                       start_many_10000_estimate_s=round(10_000 * per_many / 1000, 2), goal_s=10,
                       met=10_000 * per_many / 1000 <= 10)
        equal = len(shapes) == 1 and len(counted) == len(many_ids[:500]) * len(next(iter(shapes))[4])
        figures["jobs"] = [{"job": "start_many", "product_s": round(many_s, 3),
                            "baselines": {"start_measure_each": round(single_s * residents / max(1, single), 3)},
                            "equal": equal, "rows": residents}]
        if not equal:
            result.notes.append(f"the two paths differ: {sorted(map(str, shapes))[:2]}")
        result.notes.append("the single path's time is measured on `single` residents and scaled to N for the "
                            "baseline; per-resident times are measured")
    finally:
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


from fangkong.control import bench_daily as _bench_daily  # noqa: E402, F401  (registers `control-daily`)
