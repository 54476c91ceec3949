"""Antigen results (抗原筛查) on a real database (SQLite, and PostgreSQL when FANGKONG_TEST_DATABASE_URL is
set): a positive becomes a lead on intake's `sentinel` channel (category `antigen_positive`), temporary
control and a PCR confirmation task; the PCR result closes it (negative ends the control); antigen
results never reach testing; bad rows are rejected naming the field; re-posting changes nothing; daily
positives per unit are a series the run judges, and a second run changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sentinel_factories import NOW, build_city, reporter
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from surveillance_cli import cli_database, run

from fangkong.control.models import Measure
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.tasks.models import Task
from fangkong.surveillance import service
from fangkong.surveillance.models import AntigenResult, Verdict
from fangkong.testing import service as testing_service
from fangkong.testing.service.results import ResultItem

VALID_ID = "110101199003077571"
OTHER_ID = "110101199003078996"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _ag(ref: str, **kw: object) -> dict[str, object]:
    return {"source_ref": ref, "source": "自测", "tested_at": "2022-04-18 07:30", "result": "阳性", "name": "王五",
            "id_number": VALID_ID, "phone": "13900139000", "address": "东街道2号", **kw}


def _pcr(session: Session, id_number: str, barcode: str, result: str) -> None:
    testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1)
    testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=id_number,
                               collected_at=NOW - dt.timedelta(minutes=30))
    rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[ResultItem(1, {
        "tube_barcode": barcode, "result": result, "lab": "常州检测", "reported_at": NOW.isoformat()})])
    assert rows[0].status == "accepted", rows[0].issues


def test_positive_antigen_to_lead_control_task_and_pcr_negative_ends_it(session: Session) -> None:
    c = build_city(session, "ag")
    staff = reporter(c.district)
    first = service.record_antigen(session, staff, [
        _ag("A1"),
        _ag("A2", result="阴性", name="", id_number="", phone="", address=""),  # a negative needs no identity
        _ag("A3", result="maybe"),
        _ag("A4", tested_at="2022-04-19 08:00"),
        _ag("A5", id_number="", phone="", address=""),
        _ag("A6", source="邻居"),
        _ag("A7", site_ref="NOPE"),
    ], via="api")
    assert [r.status for r in first] == ["accepted", "accepted"] + ["rejected"] * 5
    assert [[i.field for i in r.issues] for r in first[2:]] == [
        ["result"], ["tested_at"], ["id_number"], ["source"], ["site_ref"]]
    lead = session.execute(select(Lead)).scalar_one()
    assert (lead.channel, lead.category, lead.source_ref) == ("sentinel", "antigen_positive", "antigen:A1")
    a1 = session.execute(select(AntigenResult).where(AntigenResult.source_ref == "A1")).scalar_one()
    assert a1.status == "awaiting_pcr" and a1.person_id == first[0].person_id and a1.lead_id == lead.id
    measure = session.get(Measure, a1.measure_id)
    assert measure is not None and (measure.kind, measure.status) == ("temporary_control", "active")
    task = session.get(Task, a1.pcr_task_id)
    assert task is not None and task.kind == "antigen_pcr_confirm" and task.status == "open"
    assert task.due_at == NOW + dt.timedelta(hours=12)
    # an antigen result is never a PCR result: testing holds nothing for the person
    assert testing_service.results_of_person(session, SYSTEM_ACTOR, person_id=a1.person_id) == []

    again = service.record_antigen(session, staff, [_ag("A1"), _ag("A2", result="阴性")], via="api")
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    assert session.execute(select(func.count()).select_from(Lead)).scalar_one() == 1
    assert service.resolve_antigen_followups(session, SYSTEM_ACTOR) == {"pcr_negative": 0, "pcr_positive": 0}

    _pcr(session, VALID_ID, "AG-PCR-1", "阴性")
    assert service.resolve_antigen_followups(session, SYSTEM_ACTOR) == {"pcr_negative": 1, "pcr_positive": 0}
    session.refresh(a1)
    session.refresh(measure)
    session.refresh(task)
    assert a1.status == "pcr_negative" and measure.status != "active"
    assert (task.status, task.outcome_code) == ("done", "negative")
    assert service.resolve_antigen_followups(session, SYSTEM_ACTOR) == {"pcr_negative": 0, "pcr_positive": 0}


def test_pcr_positive_goes_to_tracing(session: Session) -> None:
    c = build_city(session, "ap")
    service.record_antigen(session, reporter(c.district), [_ag("B1", id_number=OTHER_ID, phone="13700137000")],
                           via="file")
    _pcr(session, OTHER_ID, "AG-PCR-2", "阳性")
    assert service.resolve_antigen_followups(session, SYSTEM_ACTOR) == {"pcr_negative": 0, "pcr_positive": 1}
    b1 = session.execute(select(AntigenResult)).scalar_one()
    cands = testing_service.case_candidates(session, SYSTEM_ACTOR)
    assert b1.status == "pcr_positive" and [x.person_id for x in cands] == [b1.person_id]


def test_daily_positives_are_a_unit_series_judged_once(session: Session) -> None:
    c = build_city(session, "as")
    staff = reporter(c.district)
    items = []
    for n in range(14):
        day = dt.date(2022, 4, 3) + dt.timedelta(days=n)
        positives = 1 if n % 3 else 0
        if n == 14 - 1:
            positives = 9  # a jump on the last day
        items += [_ag(f"S{n}-{k}", tested_at=f"{day.isoformat()} 09:00", result="阴性", name="", id_number="",
                      phone="", address="") for k in range(2)]
        items += [_ag(f"P{n}-{k}", tested_at=f"{day.isoformat()} 10:00", name=f"测{n}{k}", id_number="",
                      phone=f"1380013{n:02d}{k:02d}") for k in range(positives)]
    with clock.frozen(dt.datetime(2022, 4, 17, 12, 0, tzinfo=NOW.tzinfo)):
        reports = service.record_antigen(session, staff, items, via="api")
    assert {r.status for r in reports} == {"accepted"}
    first = service.run_detection(session, SYSTEM_ACTOR, until=dt.date(2022, 4, 16))
    # a positive belongs to the person's unit (here the unit intake placed them in), a negative to the reporter's
    [unit_id] = set(session.execute(select(AntigenResult.unit_id).where(AntigenResult.result == "positive")).scalars())
    rows = session.execute(select(Verdict).where(Verdict.indicator == "antigen_positive", Verdict.level == "unit",
                                                 Verdict.unit_id == unit_id).order_by(Verdict.day)).scalars().all()
    assert rows and rows[-1].day == dt.date(2022, 4, 16) and rows[-1].observed == 9 and rows[-1].alarm
    assert rows[0].day == dt.date(2022, 4, 12) and [v.observed for v in rows[:2]] == [0, 1]  # from day 10 (7 + 3)
    assert first["judged"] > 0
    second = service.run_detection(session, SYSTEM_ACTOR, until=dt.date(2022, 4, 16))
    assert second["judged"] == 0 and second["signals_opened"] == 0


def test_the_phone_page_closes_a_day_at_the_next_days_cutoff(session: Session) -> None:
    """`surveillance.report_cutoff` (10:00): at 09:00 on 18 April the page still takes the 17th, not the
    16th; a file still corrects the 16th (its history kept)."""
    build_city(session, "co")
    staff = SYSTEM_ACTOR
    row = {"site_ref": "FCco", "indicator": "fever_visits", "count": 5}
    page = service.record_counts(session, staff, [{**row, "date": "2022-04-17"}, {**row, "date": "2022-04-16"}],
                                 source="page")
    assert [r.status for r in page] == ["accepted", "rejected"] and page[1].issues[0].field == "date"
    assert [r.status for r in service.record_counts(session, staff, [{**row, "date": "2022-04-16"}],
                                                    source="file")] == ["accepted"]


def test_import_antigen_results_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with cli_database(tmp_path, monkeypatch, now="2022-04-18T09:00:00+08:00"):
        file = tmp_path / "ag.csv"
        file.write_text("检测编号,来源,检测时间,结果,姓名,身份证号,手机号,住址\n"
                        f"G1,自测,2022-04-18 07:00,阳性,王五,{VALID_ID},13900139000,东街道2号\n"
                        "G2,单位,2022-04-18 07:10,阴性,,,,\n"
                        "G3,药店,2022-04-18 07:20,弱阳,,,13900139001,\n", encoding="utf-8")
        r = run("import", "antigen-results", str(file), "--report", str(tmp_path / "r.csv"))
        assert r.returncode == 0 and "3 rows: 2 accepted, 1 rejected" in r.stderr, r.stderr
        with (tmp_path / "r.csv").open(encoding="utf-8-sig") as fh:
            report = list(csv.DictReader(fh))
        assert report[0]["lead_id"] and report[0]["person_id"] and report[2]["issues"].startswith("result:")
        assert "3 rows: 2 duplicate, 1 rejected" in run("import", "antigen-results", str(file)).stderr
