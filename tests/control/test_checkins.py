"""Check-ins on a real database: twice a day in the central, home-quarantine and home-monitoring
phases; refused without a measure in force (and for released or converted persons), outside 34–43 °C;
idempotent by person + checked_at; fever or a listed symptom → the site doctor's alert and a sampling
task today; missed slots → a task (as of T, once); the export counts them; home households get one
confirmation task a day, overdue at 20:00; the same through `POST /api/v1/checkins` and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import CliRun, run_cli
from control_factories import bearer, build_world, make_id, person, phone, user
from fastapi.testclient import TestClient
from own_database import initialised_database
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.control import kinds
from fangkong.control import service as control_service
from fangkong.control.exports import measure_rows
from fangkong.control.models import CheckIn, CheckInMissed, HomeConfirmation, Measure
from fangkong.control.service import checkins
from fangkong.control.service.checkins import CheckInItem
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import PermissionDenied
from fangkong.kernel.tasks.models import Task

TZ = dt.timezone(dt.timedelta(hours=8))
D0 = dt.date(2022, 4, 18)


def t(day: int, hour: float = 9) -> dt.datetime:
    return dt.datetime.combine(D0 + dt.timedelta(days=day), dt.time(0), tzinfo=TZ) + dt.timedelta(hours=hour)


FOUND = t(2, 10)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(t(6, 9)):
        yield


def central(session: Session, w, seq: int = 10, name: str = "张密接") -> Measure:
    pid = person(session, w, seq, name)
    return control_service.start_measure(
        session, SYSTEM_ACTOR, person_id=pid, category="close_contact", rule="categories.close_contact",
        place_kind="site", place_id=w.site.id, started_at=FOUND, exposure_at=t(0, 19))


def home(session: Session, w, seq: int, name: str) -> Measure:
    pid = person(session, w, seq, name)
    return control_service.start_measure(
        session, SYSTEM_ACTOR, person_id=pid, category="secondary_contact", rule="categories.secondary_contact",
        place_kind="home", started_at=FOUND, exposure_at=t(1, 19))


def send(session: Session, *rows: dict[str, str], actor=SYSTEM_ACTOR, via: str = "import"):
    return checkins.record_checkins(session, actor, items=[CheckInItem(i + 2, r) for i, r in enumerate(rows)], via=via)


def row(seq: int, at: str, temperature: str = "36.5", **more: str) -> dict[str, str]:
    return {"id_number": make_id(seq), "checked_at": at, "temperature": temperature, **more}


def test_a_checkin_is_stored_once_and_chinese_dates_are_read(session: Session) -> None:
    w = build_world(session)
    m = central(session, w)
    first = send(session, row(10, "2022年4月21日 8:30"), row(10, "2022/04/21 15:10", "36.8", symptoms="无"))
    assert [r.status for r in first] == ["accepted", "accepted"], [r.issues for r in first]
    again = send(session, row(10, "2022-04-21 08:30"))
    assert again[0].status == "duplicate" and again[0].person_id == m.person_id
    stored = session.execute(select(CheckIn).where(CheckIn.person_id == m.person_id)
                             .order_by(CheckIn.checked_at)).scalars().all()
    assert [(c.checked_at, c.temperature, c.phase, c.site_id, c.alert) for c in stored] == [
        (t(3, 8.5), 36.5, "central", w.site.id, []), (t(3, 15 + 10 / 60), 36.8, "central", w.site.id, [])]


@pytest.mark.parametrize("text", ["365", "3.65", "33.9", "43.1"])
def test_a_temperature_out_of_range_is_refused_naming_the_range(session: Session, text: str) -> None:
    w = build_world(session)
    central(session, w)
    [r] = send(session, row(10, "2022-04-21 08:30", text))
    assert (r.status, r.issues) == ("rejected", ["temperature: out of range 34–43 °C"])


def test_no_measure_in_force_and_released_or_converted_persons_are_refused(session: Session) -> None:
    w = build_world(session)
    m = central(session, w)
    person(session, w, 11, "李无关")
    before = send(session, row(10, "2022-04-20 08:00"))  # before the measure started (day 2, 10:00)
    assert before[0].status == "rejected" and before[0].issues[0].startswith("checked_at: no measure with check-ins")
    nobody = send(session, row(11, "2022-04-21 08:00"))
    assert nobody[0].status == "rejected" and nobody[0].issues[0].startswith("checked_at: no measure")
    unknown = send(session, {"phone": "13900000000", "checked_at": "2022-04-21 08:00", "temperature": "36.5"})
    assert unknown[0].issues == ["phone: nobody under a measure has this number"]
    control_service.release_measure(session, SYSTEM_ACTOR, measure_id=m.id, at=t(5, 10), override_reason="医生判定")
    after = send(session, row(10, "2022-04-23 12:30"))
    assert after[0].status == "rejected"
    assert after[0].issues == ["checked_at: the person was released on 2022-04-23: no check-ins after release"]
    during = send(session, row(10, "2022-04-23 08:30"))  # before the release: still taken
    assert during[0].status == "accepted"

    c = central(session, w, 12, "王转阳")
    control_service.convert_measure(session, SYSTEM_ACTOR, measure_id=c.id, at=t(4, 9), reason="阳性")
    converted = send(session, row(12, "2022-04-22 20:00"))
    assert converted[0].issues == ["checked_at: the person became a case on 2022-04-22: no check-ins"]


def test_fever_or_a_listed_symptom_alerts_the_site_doctor_and_asks_for_a_sample_today(session: Session) -> None:
    w = build_world(session)
    m = central(session, w)
    [fever, cough, odd] = send(session, row(10, "2022-04-21 08:30", "37.3℃"),
                               row(10, "2022-04-21 15:00", "36.6", symptoms="干咳、乏力"),
                               row(10, "2022-04-22 08:00", "36.6", symptoms="失眠"))
    assert (fever.status, fever.extra["alert"]) == ("accepted", "fever")
    assert cough.extra["alert"] == "干咳;乏力" and odd.extra["alert"] == ""
    rows = {c.checked_at: c for c in session.execute(select(CheckIn).where(CheckIn.person_id == m.person_id)).scalars()}
    alert = session.get(Task, rows[t(3, 8.5)].alert_task_id)
    assert alert is not None and alert.kind == kinds.CHECKIN_ALERT
    assert alert.unit_id == w.site.unit_id and "37.3℃" in alert.title and "湖塘隔离酒店" in alert.title
    sampling = session.get(Task, rows[t(3, 8.5)].sampling_task_id)
    assert sampling is not None and sampling.kind == kinds.CHECKIN_SAMPLING
    assert sampling.due_at == t(4, 0)  # the end of the check-in's own day
    # the second alert the same day: a doctor's task again, but one open sampling task is enough
    assert rows[t(3, 15)].alert_task_id is not None and rows[t(3, 15)].sampling_task_id is None
    assert rows[t(4, 8)].alert_task_id is None


def test_missed_slots_become_one_task_as_of_t_and_the_export_counts_them(session: Session) -> None:
    w = build_world(session)
    m = central(session, w)
    send(session, row(10, "2022-04-21 08:00", "37.5"))  # day 3 morning, a fever
    at = t(4, 13)
    # wholly inside [day 2 10:00, day 4 13:00): day 2 pm, day 3 am (checked in), day 3 pm, day 4 am
    first = checkins.create_missed_checkin_tasks(session, SYSTEM_ACTOR, at=at)
    assert (first["missed_slots"], first["tasks"]) == (3, 1)
    missed = session.execute(select(CheckInMissed).where(CheckInMissed.measure_id == m.id)
                             .order_by(CheckInMissed.slot_start)).scalars().all()
    assert [(x.slot_start, x.slot_end) for x in missed] == [(t(2, 12), t(3, 0)), (t(3, 12), t(4, 0)),
                                                          (t(4, 0), t(4, 12))]
    assert len({x.task_id for x in missed}) == 1
    task = session.get(Task, missed[0].task_id)
    assert task is not None and task.kind == kinds.MISSED_CHECKIN and task.due_at == at + dt.timedelta(hours=2)
    again = checkins.create_missed_checkin_tasks(session, SYSTEM_ACTOR, at=at)
    assert (again["missed_slots"], again["tasks"]) == (0, 0)
    # a later slot joins the open task
    later = checkins.create_missed_checkin_tasks(session, SYSTEM_ACTOR, at=t(5, 0, ))
    assert (later["missed_slots"], later["tasks"]) == (1, 0)
    [exp] = [r for r in measure_rows(session, SYSTEM_ACTOR, at=at) if r["measure_id"] == m.id]
    assert (exp["checkins_missed"], exp["fevers"]) == (3, 1)
    [earlier] = [r for r in measure_rows(session, SYSTEM_ACTOR, at=t(3, 7)) if r["measure_id"] == m.id]
    assert (earlier["checkins_missed"], earlier["fevers"]) == (1, 0)  # as of T: later check-ins ignored


def test_home_households_get_one_confirmation_task_a_day_overdue_at_20(session: Session) -> None:
    w = build_world(session)
    a = home(session, w, 20, "赵居家")
    b = home(session, w, 21, "钱居家")  # same address (花园路8号): one household
    central(session, w, 22, "孙集中")
    made = checkins.create_home_confirmations(session, SYSTEM_ACTOR, at=t(3, 7))
    assert (made["home_measures"], made["households"], made["tasks"]) == (2, 1, 1)
    [hc] = session.execute(select(HomeConfirmation)).scalars().all()
    assert sorted(hc.person_ids) == sorted([a.person_id, b.person_id]) and hc.on == D0 + dt.timedelta(days=3)
    task = session.get(Task, hc.task_id)
    assert task is not None and task.kind == kinds.HOME_CONFIRMATION and task.due_at == t(3, 20)
    assert "赵居家" in task.title and "钱居家" in task.title
    assert checkins.create_home_confirmations(session, SYSTEM_ACTOR, at=t(3, 15))["tasks"] == 0
    assert checkins.create_home_confirmations(session, SYSTEM_ACTOR, at=t(4, 7))["tasks"] == 1


def test_only_a_user_with_the_permission_and_the_jurisdiction_records_checkins(session: Session) -> None:
    w = build_world(session)
    central(session, w)
    viewer = user(session, "c_view", "viewer", w.district)
    with pytest.raises(PermissionDenied):
        send(session, row(10, "2022-04-21 08:00"), actor=viewer)
    stranger = user(session, "c_other", "community", w.other)
    [r] = send(session, row(10, "2022-04-21 08:00"), actor=stranger)
    assert r.status == "rejected" and r.issues[0].startswith("checked_at: no measure")
    staff = user(session, "c_grid", "grid", w.grid)
    assert send(session, row(10, "2022-04-21 08:00"), actor=staff)[0].status == "accepted"


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_post_checkins_over_http(client: TestClient, session: Session) -> None:
    w = build_world(session)
    central(session, w)
    user(session, "c_api", "community", w.community)
    headers = bearer(session, "c_api")
    session.commit()
    one = client.post("/api/v1/checkins", headers=headers, json={
        "phone": phone(10), "name": "张密接", "checked_at": "2022年4月21日 8:30", "temperature": 36.4,
        "symptoms": ["无"]})
    assert one.status_code == 200, one.text
    assert one.json()["items"][0]["status"] == "accepted"
    batch = client.post("/api/v1/checkins", headers=headers, json={"items": [
        {"id_number": make_id(10), "checked_at": "2022-04-21 08:30", "temperature": "36.4"},
        {"id_number": make_id(10), "checked_at": "2022-04-21 15:30", "temperature": 365}]}).json()
    assert [i["status"] for i in batch["items"]] == ["duplicate", "rejected"]
    assert batch["items"][1]["issues"] == ["temperature: out of range 34–43 °C"]
    assert client.post("/api/v1/checkins", headers=headers, json={"temperature": "x"}).status_code == 422
    assert client.post("/api/v1/checkins", json={"items": []}).status_code == 401


# ----------------------------------------------------------------------------- the command line

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("FANGKONG_TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def operator_db(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sessionmaker, dict]]:
    with initialised_database(request.param, tmp_path, monkeypatch, "checkins") as (url, factory):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
        env.update(FANGKONG_DATA_DIR=str(tmp_path), FANGKONG_DATABASE_URL=url, LANG="en_US.UTF-8",
                   LC_ALL="en_US.UTF-8", FANGKONG_NOW=t(4, 13).isoformat(), PYTHONPATH=os.environ.get("PYTHONPATH", ""),
                   FANGKONG_SECRET_KEY=os.environ["FANGKONG_SECRET_KEY"])  # the key the test persons were made with
        yield factory, env
    monkeypatch.undo()


def _run(env: dict[str, str], *args: str) -> CliRun:
    """`fangkong ARGS` in-process under `env` (tests/cli_runner.py: the entry point's own process is
    tested in tests/kernel/test_cli_usage.py)."""
    return run_cli(*args, env=env)


def test_import_checkins_and_the_jobs_from_the_command_line(operator_db, tmp_path: Path) -> None:
    factory, env = operator_db
    with factory() as session:
        w = build_world(session)
        m = central(session, w)
        session.commit()
    src = tmp_path / "checkins.csv"
    src.write_text("健康打卡登记表\n身份证号,姓名,打卡时间,体温,症状,登记人\n"
                   f"{make_id(10)},张密接,2022年4月21日 8:30,36.5,无,李医生\n"
                   f"{make_id(10)},张密接,2022/4/21 14:00,38.1℃,干咳,李医生\n"
                   f"{make_id(10)},张密接,2022-04-21 20:00,365,,李医生\n", encoding="gb18030")
    report = tmp_path / "report.csv"
    r = _run(env, "import", "checkins", str(src), "--report", str(report))
    assert r.returncode == 0, r.stderr
    with report.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(x["row"], x["status"], x["issues"], x["alert"]) for x in rows] == [
        ("3", "accepted", "", ""), ("4", "accepted", "", "fever;干咳"),
        ("5", "rejected", "temperature: out of range 34–43 °C", "")]
    again = _run(env, "import", "checkins", str(src), "--report", str(report))
    with report.open(encoding="utf-8-sig") as fh:
        assert [x["status"] for x in csv.DictReader(fh)] == ["duplicate", "duplicate", "rejected"]
    assert again.returncode == 0
    r = _run(env, "jobs", "run", "control.missed_checkins")
    assert r.returncode == 0, r.stderr
    assert _run(env, "jobs", "run", "control.home_confirmations").returncode == 0
    out = tmp_path / "measures.csv"
    assert _run(env, "export", "measures", "--out", str(out)).returncode == 0
    with out.open(encoding="utf-8-sig") as fh:
        [line] = [x for x in csv.DictReader(fh) if x["measure_id"] == str(m.id)]
    # as of FANGKONG_NOW (day 4, 13:00): day 2 pm and day 4 am missed; day 3 am and pm checked in
    assert (line["checkins_missed"], line["fevers"]) == ("2", "1")
    with factory() as session:
        assert session.execute(select(CheckInMissed).where(CheckInMissed.measure_id == m.id)).scalars().all()


# ------------------------------------------------------------------------------------------ pages

def test_the_staff_page_lists_persons_and_records_a_row(client: TestClient, session: Session) -> None:
    from control_factories import login

    w = build_world(session)
    m = central(session, w)
    home(session, w, 20, "赵居家")
    user(session, "c_staff", "community", w.community)
    session.commit()
    csrf = login(client, "c_staff")
    page = client.get("/checkins")
    assert page.status_code == 200 and "张密接" in page.text and "赵居家" in page.text
    only_site = client.get(f"/checkins?site_id={w.site.id}").text
    assert "张密接" in only_site and "赵居家" not in only_site
    h = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    row = client.post(f"/checkins/{m.id}", data={"entry": "37.8 干咳"}, headers=h)
    assert row.status_code == 200 and "37.8℃ 干咳" in row.text and 'data-testid="checkin-error"' not in row.text
    bad = client.post(f"/checkins/{m.id}", data={"entry": "365"}, headers=h)
    assert 'data-testid="checkin-error"' in bad.text and 'value="365"' in bad.text
    session.expire_all()
    stored = session.execute(select(CheckIn).where(CheckIn.measure_id == m.id)).scalars().all()
    assert [(c.temperature, c.symptoms, c.via, c.by, c.alert) for c in stored] == [
        (37.8, ["干咳"], "page", "c_staff", ["fever", "干咳"])]


def test_the_phone_link_checks_in_without_sign_in_until_7_days_after_the_end(client: TestClient,
                                                                            session: Session) -> None:
    from fangkong.control import links

    w = build_world(session)
    m = central(session, w)
    session.commit()
    url = checkins.link_of(m)
    page = client.get(url)
    assert page.status_code == 200 and "张*接" in page.text and "张密接" not in page.text
    done = client.post(url, data={"temperature": "36.7"})
    assert done.status_code == 200 and 'data-testid="phone-done"' in done.text
    bad = client.post(url, data={"temperature": "3.65"})
    assert bad.status_code == 422 and 'data-testid="phone-error"' in bad.text
    again = client.post(url, data={"temperature": "36.7"})  # sent twice at one moment: stored once
    assert again.status_code == 200 and ("Already recorded" in again.text or "已记录" in again.text)
    with clock.frozen(t(6, 15)):
        fever = client.post(url, data={"temperature": "36.6", "symptoms": ["咽痛"]})
    assert 'data-testid="phone-alert"' in fever.text
    session.expire_all()
    stored = session.execute(select(CheckIn).where(CheckIn.measure_id == m.id)).scalars().all()
    assert sorted((c.temperature, c.by, c.via) for c in stored) == [(36.6, "self", "phone"), (36.7, "self", "phone")]
    token = url.rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/c/{forged}").status_code == 403
    assert client.get(f"/c/{links.make_token(m.id + 1000)}").status_code == 403
    control_service.release_measure(session, SYSTEM_ACTOR, measure_id=m.id, at=t(6, 8), override_reason="医生判定")
    session.commit()
    ended = client.get(url)
    assert ended.status_code == 409 and 'data-testid="phone-refused"' in ended.text
    with clock.frozen(t(13, 9)):  # more than 7 days after the release
        assert client.get(url).status_code == 403


# ------------------------------------------------------------------------------ the check-in SMS

def _sms(session: Session) -> list:
    from fangkong.kernel.messaging.models import OutboxMessage

    session.expire_all()
    return list(session.execute(select(OutboxMessage).where(OutboxMessage.channel == "sms")
                                .order_by(OutboxMessage.id)).scalars())


def test_the_checkin_sms_is_queued_once_per_person_and_day_held_in_a_test_database(session: Session) -> None:
    from fangkong.kernel.people import service as people_service

    w = build_world(session)
    m1 = central(session, w)
    m2 = home(session, w, 20, "赵居家")
    nophone = people_service.register_person(session, SYSTEM_ACTOR, name="钱无机", id_number=make_id(30),
                                             unit_id=w.grid.id, address_text="花园路9号").id
    control_service.start_measure(session, SYSTEM_ACTOR, person_id=nophone, category="close_contact",
                                  rule="categories.close_contact", place_kind="site", place_id=w.site.id,
                                  started_at=FOUND, exposure_at=t(0, 19))
    session.commit()
    done = checkins.queue_checkin_sms(session, SYSTEM_ACTOR, base="https://fk.example.cn/", at=t(6, 9))
    assert sorted(done.queued) == sorted([m1.person_id, m2.person_id]) and done.no_phone == [nophone]
    sms = _sms(session)
    assert sorted((s.person_id, s.subject_id, s.status) for s in sms) == sorted(
        [(m1.person_id, m1.id, "held"), (m2.person_id, m2.id, "held")])
    body = next(s.body for s in sms if s.person_id == m1.person_id)
    assert f"https://fk.example.cn{checkins.link_of(m1)}" in body and "打卡" in body
    assert all(phone(seq) not in s.body and s.recipient is None for s in sms for seq in (10, 20))  # no number kept
    # the same day again (later that afternoon): nothing new
    again = checkins.queue_checkin_sms(session, SYSTEM_ACTOR, base="https://fk.example.cn", at=t(6, 15))
    assert again.queued == [] and sorted(again.already) == sorted([m1.person_id, m2.person_id])
    assert len(_sms(session)) == 2
    # the next day: one more each
    with clock.frozen(t(7, 9)):
        nxt = checkins.queue_checkin_sms(session, SYSTEM_ACTOR, base="https://fk.example.cn", at=t(7, 9))
    assert sorted(nxt.queued) == sorted([m1.person_id, m2.person_id]) and len(_sms(session)) == 4


def test_checkin_links_queues_the_sms_and_prints_for_an_outside_gateway(operator_db) -> None:

    factory, env = operator_db
    with factory() as session:
        w = build_world(session)
        m = central(session, w)
        session.commit()
    assert run_cli("control", "checkin-links", env=env).returncode == 2  # no public address: no SMS
    r = run_cli("control", "checkin-links", "--base", "https://fk.example.cn", env=env)
    assert r.returncode == 0, r.stderr
    assert "queued: 1, already sent today: 0, without a phone: 0" in r.stdout
    again = run_cli("control", "checkin-links", "--base", "https://fk.example.cn", env=env)
    assert again.returncode == 0 and "queued: 0, already sent today: 1" in again.stdout
    printed = run_cli("control", "checkin-links", "--print", "--base", "https://fk.example.cn", env=env)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines() == [
        "person_id,measure_id,phone,url",
        f"{m.person_id},{m.id},136****0010,https://fk.example.cn{checkins.link_of(m)}"]
    with factory() as session:
        sms = _sms(session)
    assert [(s.person_id, s.subject_type, s.status) for s in sms] == [(m.person_id, "checkin_link", "held")]
