"""Notices on a real database: a cohort's release notices print as one PDF whose text (pypdf) holds the
Chinese names and numbers; numbers run per site (or unit) and year and are never given again; the QR
token verifies and a changed one does not; the hashes are in the audit log; templates are versioned,
checked before saving, and previewed; `fangkong control release --due --yes --notices OUT.pdf`."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pypdf
import pytest
from control_factories import build_world, person, user
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control import service as control_service
from fangkong.control.models import Notice
from fangkong.control.service import notices
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.errors import NotFound, PermissionDenied, ValidationFailed

TZ = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2022, 4, 28, 20, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(AT):
        yield


def _measure(session: Session, w, seq: int, name: str, *, site: bool = True):
    pid = person(session, w, seq, name)
    return control_service.start_measure(
        session, SYSTEM_ACTOR, person_id=pid, category="close_contact", rule="categories.close_contact",
        place_kind="site" if site else "home", place_id=w.site.id if site else None,
        started_at=dt.datetime(2022, 4, 20, 10, tzinfo=TZ), exposure_at=dt.datetime(2022, 4, 18, 19, tzinfo=TZ))


def _text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def test_a_cohort_prints_as_one_pdf_with_the_chinese_names_numbered_per_site(session: Session) -> None:
    w = build_world(session)
    ms = [_measure(session, w, 50 + i, name) for i, name in enumerate(("欧阳娜", "张伟", "李秀英"))]
    home = _measure(session, w, 60, "王居家", site=False)
    printed = notices.issue_notices(session, SYSTEM_ACTOR, kind="release_notice",
                                    measure_ids=[m.id for m in ms] + [home.id], at=AT)
    pages = _text(printed.pdf)
    assert len(pages) == 4
    for page, name in zip(pages, ("欧阳娜", "张伟", "李秀英", "王居家"), strict=True):
        assert "解除隔离告知书" in page and name in page
    numbers = [n.notice_no for n in printed.notices]
    assert numbers[:3] == [f"JC2022-S{w.site.id}-00000{i}" for i in (1, 2, 3)]
    assert numbers[3] == f"JC2022-U{home.unit_id}-000001"  # no site: the unit's series
    assert all(no in page for no, page in zip(numbers, pages, strict=True))
    # printed again: new numbers, never the same ones
    again = notices.issue_notices(session, SYSTEM_ACTOR, kind="release_notice", measure_ids=[ms[0].id], at=AT)
    assert again.notices[0].notice_no == f"JC2022-S{w.site.id}-000004"
    # the hashes are in the audit log
    entry = session.execute(select(AuditEvent).where(AuditEvent.action == "notice.issued")
                            .order_by(AuditEvent.id)).scalars().first()
    assert entry is not None and entry.detail["file_sha256"] == printed.sha256
    assert [n["sha256"] for n in entry.detail["notices"]] == [n.sha256 for n in printed.notices]
    assert session.execute(select(Notice).where(Notice.measure_id == ms[0].id)).scalars().all()


def test_the_qr_token_is_signed(session: Session) -> None:
    token = notices.make_token("JC2022-S1-000001", 7)
    assert notices.verify_token(token) == ("JC2022-S1-000001", 7)
    for forged in (token.replace("000001", "000002"), token.replace(".7.", ".8."),
                   token[:-1] + ("y" if token.endswith("x") else "x"), "N1.x"):
        with pytest.raises(notices.BadNotice):
            notices.verify_token(forged)


def test_templates_are_versioned_checked_and_previewed(session: Session) -> None:
    w = build_world(session)
    first = notices.template_of(session, "home_notice")
    assert first.version == 1 and "居家隔离告知书" in first.body
    new = notices.save_template(session, SYSTEM_ACTOR, kind="home_notice",
                                body=first.body.replace("居家隔离告知书", "居家隔离医学观察告知书"))
    assert new.version == 2 and notices.template_of(session, "home_notice").id == new.id
    assert [t.version for t in notices.templates(session, "home_notice")] == [2, 1]
    with pytest.raises(ValidationFailed):
        notices.save_template(session, SYSTEM_ACTOR, kind="home_notice", body="{% if %}")
    with pytest.raises(ValidationFailed):  # the sandbox refuses a template reaching into Python
        notices.save_template(session, SYSTEM_ACTOR, kind="home_notice", body="{{ name.__class__.__mro__ }}")
    assert "张三" in notices.preview(session, SYSTEM_ACTOR, kind="home_notice")
    m = _measure(session, w, 61, "赵居家", site=False)
    printed = notices.issue_notices(session, SYSTEM_ACTOR, kind="home_notice", measure_ids=[m.id], at=AT)
    assert "居家隔离医学观察告知书" in _text(printed.pdf)[0] and printed.notices[0].template_version == 2
    viewer = user(session, "n_view", "viewer", w.district)
    with pytest.raises(PermissionDenied):
        notices.save_template(session, viewer, kind="home_notice", body="x")
    stranger = user(session, "n_other", "district", w.other)
    with pytest.raises(NotFound):
        notices.issue_notices(session, stranger, kind="release_notice", measure_ids=[m.id], at=AT)


# ----------------------------------------------------------------------------- the command line

def test_release_due_yes_prints_the_cohorts_notices(tmp_path, monkeypatch) -> None:
    import csv as _csv
    import os
    import subprocess
    import sys

    from control_factories import make_id
    from own_database import initialised_database

    from fangkong.testing import service as testing_service

    d0 = dt.datetime(2022, 4, 18, tzinfo=TZ)
    with initialised_database("sqlite", tmp_path, monkeypatch, "notices") as (url, factory):
        with factory() as session, clock.frozen(d0 + dt.timedelta(days=2, hours=10)):
            w = build_world(session)
            done = [_measure(session, w, 70 + i, name) for i, name in enumerate(("孙解除", "钱解除"))]
            waiting = _measure(session, w, 72, "周未满")
            for i, m in enumerate((*done, waiting)):
                for day in ((2, 3, 5, 7, 10) if m in done else (2, 3)):
                    at = d0 + dt.timedelta(days=day, hours=11)  # after the start (day 2, 10:00)
                    barcode = f"N{i}-{day}"
                    with clock.frozen(at):
                        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=1,
                                                  sampling_point_id=w.point.id)
                        testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=make_id(70 + i),
                                                   collected_at=at)
                    with clock.frozen(at + dt.timedelta(hours=6)):
                        testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(1, {
                            "tube_barcode": barcode, "result": "阴性", "lab": "常州检测",
                            "reported_at": (at + dt.timedelta(hours=6)).strftime("%Y-%m-%d %H:%M")})])
            ids = {m.id: m.person_id for m in done}
            session.commit()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FANGKONG_")}
        env.update(FANGKONG_DATA_DIR=str(tmp_path), FANGKONG_DATABASE_URL=url, LANG="en_US.UTF-8",
                   LC_ALL="en_US.UTF-8", FANGKONG_NOW=AT.isoformat(), PYTHONPATH=os.environ.get("PYTHONPATH", ""),
                   FANGKONG_SECRET_KEY=os.environ["FANGKONG_SECRET_KEY"])
        out = tmp_path / "notices.pdf"
        run = subprocess.run([sys.executable, "-m", "fangkong", "control", "release", "--due", "--yes",
                              "--as-of", "2022-04-28 20:00", "--notices", str(out)],
                             env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        rows = list(_csv.DictReader(io.StringIO(run.stdout)))
        assert sorted((int(r["measure_id"]), r["action"]) for r in rows) == [(mid, "release") for mid in sorted(ids)]
        assert all(r["notice_no"].startswith(f"JC2022-S{w.site.id}-") for r in rows)
        pages = _text(out.read_bytes())
        assert len(pages) == 2 and {"孙解除", "钱解除"} == {n for n in ("孙解除", "钱解除") for p in pages if n in p}
        assert all(r["notice_no"] in "".join(pages) for r in rows)
        listing = subprocess.run([sys.executable, "-m", "fangkong", "control", "release", "--due",
                                  "--notices", str(out)], env=env, capture_output=True, text=True, timeout=600)
        assert listing.returncode == 2  # notices only for steps applied
    monkeypatch.undo()


def test_an_admin_edits_and_previews_a_template_in_the_browser_pages(session_factory, session: Session) -> None:
    from control_factories import login
    from fastapi.testclient import TestClient

    from fangkong.app import create_app

    w = build_world(session)
    user(session, "n_admin", "admin", w.district)
    session.commit()
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as client:
        csrf = login(client, "n_admin")
        listing = client.get("/notice-templates")
        assert listing.status_code == 200 and "解除隔离告知书" in listing.text
        page = client.get("/notice-templates/release_notice")
        assert page.status_code == 200 and 'data-testid="template-body"' in page.text
        body = notices.template_of(session, "release_notice").body.replace("解除隔离告知书", "解除集中隔离告知书")
        preview = client.post("/notice-templates/release_notice/preview", data={"body": body, "csrf_token": csrf})
        assert preview.status_code == 200 and "解除集中隔离告知书" in preview.text and "张三" in preview.text
        bad = client.post("/notice-templates/release_notice", data={"body": "{% for %}", "csrf_token": csrf})
        assert bad.status_code == 422 and 'data-testid="template-error"' in bad.text
        saved = client.post("/notice-templates/release_notice", data={"body": body, "csrf_token": csrf},
                            follow_redirects=False)
        assert saved.status_code == 303 and saved.headers["location"].endswith("saved=2")
        assert client.get("/notice-templates/unknown").status_code == 422
    session.expire_all()
    assert notices.template_of(session, "release_notice").version == 2
