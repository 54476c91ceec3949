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
