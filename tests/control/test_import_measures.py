"""`fangkong import measures FILE` on a real database: measures taken over from another system keep the
sender's day count (day 0 = started_at's date; `--anchor exposure`: exposure_at's), go through the bulk
start's rules and audit, get their room (arrived) or wait for one (planned), and are idempotent by
source_ref; each bad row is rejected naming its field. One CliRunner run checks the command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_factories import build_world, make_id, person, phone
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import Measure
from fangkong.control.service.imports import import_measures
from fangkong.control.sites.service import sites as sites_service
from fangkong.control.sites.service import stays as stays_service
from fangkong.intake.models import Lead
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2022, 4, 20, 9, 0, tzinfo=TZ)
HEAD = "编号,姓名,身份证号,手机号,类别,开始时间,末次暴露时间,隔离点,房间,户,密接身份证号,住址\n"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


def _file(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "在管人员.csv"
    p.write_text(HEAD + "".join(line + "\n" for line in lines), encoding="utf-8-sig")
    return p


def test_measures_are_taken_over_with_the_senders_day_count(session: Session, tmp_path: Path) -> None:
    w = build_world(session)
    site = sites_service.register_site(session, SYSTEM_ACTOR, name="湖塘宾馆", ref="HT", unit_id=w.district.id)
    for n in ("301", "302"):
        sites_service.add_room(session, SYSTEM_ACTOR, site_id=site.place_id, building="A", floor=3, number=n)
    busy = person(session, w, 9, "已在管")
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=busy, category="secondary_contact",
                                  rule="categories.secondary_contact", started_at=NOW - dt.timedelta(days=1))
    lines = [
        f"X-1,王接管,{make_id(61)},,密接,2022-04-18 10:00,2022-04-16 20:00,HT,A-301,H1,,花园路8号",
        f"X-2,李接管,{make_id(62)},,high_risk_area,2022年4月19日 8:00,,湖塘宾馆,,,,",
        f"X-3,赵次密,{make_id(63)},,次密接,2022/04/19 12:00,,,,,{make_id(61)},",
        f"X-4,钱未知,{make_id(64)},,不知道,2022-04-19 12:00,,,,,,",
        f"X-5,孙未来,{make_id(65)},,次密接,2022-04-25 12:00,,,,,,",
        f"X-6,周无点,{make_id(66)},,密接,2022-04-19 12:00,,,,,,",
        f"X-7,吴错点,{make_id(67)},,密接,2022-04-19 12:00,,无此点,,,,",
        f"X-8,郑占房,{make_id(68)},,密接,2022-04-19 12:00,,HT,A-301,H2,,",
        f"X-9,已在管,{make_id(9)},,次密接,2022-04-19 12:00,,,,,,",
        f"X-10,冯无时,{make_id(70)},,次密接,,,,,,,",
        f"X-11,陈错房,{make_id(71)},,密接,2022-04-19 12:00,,HT,B-999,,,",
    ]
    rows = import_measures(session, SYSTEM_ACTOR, _file(tmp_path, lines))
    got = {r.row: (r.status, [str(i).split(":")[0] for i in r.issues]) for r in rows}
    assert [got[n] for n in range(2, 13)] == [
        # 花园路8号 is on no grid of the gazetteer (intake's issue)
        ("accepted", ["address"]), ("accepted", []), ("accepted", []), ("rejected", ["category"]),
        ("rejected", ["started_at"]), ("rejected", ["site"]), ("rejected", ["site"]), ("rejected", ["room"]),
        ("rejected", ["id_number"]), ("rejected", ["started_at"]), ("rejected", ["room"])]
    by_ref = {m.source_ref: m for m in session.execute(select(Measure).where(Measure.source_ref.is_not(None))).scalars()}
    x1, x2, x3 = by_ref["X-1"], by_ref["X-2"], by_ref["X-3"]
    # the sender's day count: day 0 = the local date of started_at (not of the last exposure)
    assert (x1.category, x1.anchor, x1.anchor_on, x1.status, x1.phase, x1.household) == (
        "close_contact", "start", dt.date(2022, 4, 18), "active", "central", "H1")
    assert stays_service.open_stay(session, x1.id).arrived_at is not None
    assert (x2.category, x2.status, x2.anchor_on) == ("high_risk_area", "planned", dt.date(2022, 4, 19))
    assert (x3.category, x3.place_kind, x3.contact_of) == ("secondary_contact", "home", x1.person_id)
    assert all(m.rule.startswith("import:") and m.pack_version for m in (x1, x2, x3))
    audits = session.execute(select(AuditEvent).where(AuditEvent.action == "measure.started")).scalars().all()
    assert any(a.detail.get("count") == 3 for a in audits)  # one audit entry for the batch's starts
    # each accepted row entered intake as a lead of the internal channel `control`, its decision fixed
    # by the category, controlled by the measure it started (no verification task: nothing to verify)
    leads = {lead.source_ref: lead for lead in session.execute(select(Lead).where(Lead.channel == "control")).scalars()}
    assert sorted(leads) == ["X-1", "X-2", "X-3"]
    for ref, m in (("X-1", x1), ("X-2", x2), ("X-3", x3)):
        lead = leads[ref]
        assert (lead.status, lead.measure_id, lead.person_id, m.lead_id) == (
            "controlled", m.id, m.person_id, lead.id)
        assert (lead.decision_category, lead.rule) == (m.category, f"categories.{m.category}")
        assert lead.verification_task_id is None and lead.controlled_at is not None
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "intake.leads_controlled")).scalars().all()

    # the export names the room the measure holds (as of T), empty for a home measure
    from fangkong.control.exports import measure_rows

    exported = {r["measure_id"]: r for r in measure_rows(session, SYSTEM_ACTOR, at=NOW)}
    assert (exported[x1.id]["site"], exported[x1.id]["room"]) == ("湖塘宾馆", "A-301")
    assert exported[x3.id]["room"] is None and exported[x2.id]["room"] is None  # at home; awaiting a room
    again = import_measures(session, SYSTEM_ACTOR, _file(tmp_path, lines[:3]))
    assert [r.status for r in again] == ["duplicate"] * 3


def test_anchor_exposure_counts_from_the_last_exposure(session: Session, tmp_path: Path) -> None:
    build_world(session)
    rows = import_measures(session, SYSTEM_ACTOR, _file(tmp_path, [
        f"Y-1,何暴露,{make_id(81)},,次密接,2022-04-19 10:00,2022-04-17 20:00,,,,,"]), anchor="exposure")
    assert rows[0].status == "accepted", rows[0].issues
    m = session.get(Measure, rows[0].extra["measure_id"])
    assert (m.anchor, m.anchor_on, m.planned_end_on) == ("exposure", dt.date(2022, 4, 17), dt.date(2022, 4, 24))


def test_the_matcher_finds_the_person_and_one_file_starts_one_measure_per_person(session: Session,
                                                                                 tmp_path: Path) -> None:
    """A row without an ID number is resolved by phone and name (intake's matcher) — to a person already
    under a measure: rejected naming id_number; the same new person twice in one file: the second row
    is rejected naming the first."""
    w = build_world(session)
    known = person(session, w, 31, "钱有号")
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=known, category="secondary_contact",
                                  rule="categories.secondary_contact", started_at=NOW - dt.timedelta(days=1))
    mobile = phone(31)
    rows = import_measures(session, SYSTEM_ACTOR, _file(tmp_path, [
        f"Z-1,钱有号,,{mobile or ''},次密接,2022-04-19 10:00,,,,,,",
        f"Z-2,孙两次,{make_id(91)},,次密接,2022-04-19 10:00,,,,,,",
        f"Z-3,孙两次,{make_id(91)},,次密接,2022-04-19 11:00,,,,,,"]))
    got = [(r.status, [str(i).split(":")[0] for i in r.issues]) for r in rows]
    assert got == [("rejected", ["id_number"]), ("accepted", []), ("rejected", ["id_number"])]
    assert str(rows[2].issues[0]).endswith(" 3")  # the earlier row as the file numbers it (header = line 1)
