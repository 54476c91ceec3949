"""Issue 14's "done means", in a real browser on a 390 × 844 phone: a checkpoint officer records a car and
two trucks on the inspection page (查验) and sees, before recording, the e-pass verdict (green for a pass
issued here, grey 签名无效 for an edited one) and the origin's risk level (高风险区); a street officer
confirms the first truck's arrival on the trips page; its outbound passage closes the trip; the second
truck's trip falls overdue and the scheduled job makes one task for it; the day's shift counts are
the hand-computed ones."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS, click_menu
from cp_factories import ID_A, SHANGHAI
from epass_factories import application, make_id, sampled
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.checkpoints import jobs as _jobs  # noqa: F401  (registers checkpoints.overdue_tasks)
from fangkong.checkpoints import kinds
from fangkong.checkpoints.epass import service as epass_service
from fangkong.checkpoints.epass import token as tk
from fangkong.checkpoints.service import checkpoints as checkpoints_service
from fangkong.checkpoints.service import reports, trips
from fangkong.intake import service as intake_service
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import JOBS
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.tasks.models import Task
from fangkong.settings import reset_settings_cache

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
DAY = dt.date(2022, 4, 18)


def at(hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2022-04-18T{hhmm}:00").replace(tzinfo=SHANGHAI)


@pytest.fixture
def served(live_site: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FANGKONG_REGION_CODE", "320400")  # passes are numbered 320400…
    reset_settings_cache()
    def build(session: Session) -> dict[str, Any]:
        s = SYSTEM_ACTOR
        district = jurisdictions_service.create_unit(session, s, code="CB1", name="武进区", level="district",
                                                     parent_code=None)
        checkpoints_service.create_checkpoint(session, s, name="武进高速出口", kind="highway_exit", ref="K1",
                                              unit_id=district.id)
        for username, role in (("officer", "checkpoint"), ("liaison", "street")):
            auth_service.create_user(session, s, username=username, role=role, unit_code=district.code,
                                     password=PASSWORD, display_name=username)
        intake_service.add_risk_area(session, s, level="high", start_at=at("00:00") - dt.timedelta(days=8),
                                     end_at=None, region_name="上海市浦东新区")
        sampled(session, 1, "2022-04-17 09:00")
        sampled(session, 2, "2022-04-17 09:30")
        a, b = epass_service.issue_passes(session, s, [
            epass_service.Application(2, application("D1", "苏DA1234", 1)),
            epass_service.Application(3, application("D2", "苏DB5678", 2))])
        assert a.epass is not None and b.epass is not None, (a.report.issues, b.report.issues)
        return {"good": a.epass.token, "good_no": a.epass.no, "other": b.epass.token, "other_no": b.epass.no}

    with clock.frozen(at("08:00")):
        yield live_site(build)
    monkeypatch.delenv("FANGKONG_REGION_CODE", raising=False)
    reset_settings_cache()


def _phone(chromium: Any, base: str, username: str) -> Any:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def _edited(token: str) -> str:
    """The pass with its plate changed, the signature kept (a forgery the page must show grey)."""
    h, p, s = token.split(".")
    claims = json.loads(tk.b64url_decode(p))
    claims["plate"] = "苏DB0000"
    return f"{h}.{tk.b64url_encode(tk.compact_json(claims))}.{s}"


def test_cars_and_trucks_on_a_phone_trip_confirmed_closed_and_overdue(served: Any, chromium: Any,
                                                                        artifacts: Path) -> None:
    from playwright.sync_api import expect

    data = served.data
    with clock.frozen(at("12:00")):
        page = _phone(chromium, served.base, "officer")
        click_menu(page, href="/checkpoints/inspect")
        page.wait_for_url("**/checkpoints/inspect")

        # a car from a high-risk area: the level shows at once, before recording
        page.check("input[name=direction][value=in]")
        page.fill("#plate", "苏D12345")
        page.select_option("#vehicle_type", "car")
        page.fill("#p1_id_number", ID_A)
        page.fill("input[name=p1_name]", "张三")
        page.fill("input[name=p1_origin]", "上海市浦东新区")
        page.fill("#p2_id_number", "13812345678")
        page.fill("input[name=p2_origin]", "常州市武进区")
        page.fill("input[name=p2_tested_at]", "2022-04-15T09:00")
        page.check("input[name=p2_decision][value=test]")
        page.locator("#p2_id_number").focus()  # leaving the fields fires their change
        risk = page.locator("[data-testid=origin-risk][data-person='1']")
        expect(risk).to_have_attribute("data-risk", "high")
        expect(risk).to_contain_text("来源地:高风险区")
        expect(page.locator("[data-testid=origin-risk][data-person='2']")).to_have_attribute("data-risk", "none")
        expect(page.locator("[data-testid=sample-on-spot]")).to_contain_text("现场采样")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # one column on the phone
        page.screenshot(path=str(artifacts / "inspect-390-risk.png"), full_page=True)
        page.click("[data-testid=inspect-submit]")
        expect(page.locator("[data-testid=inspect-done] [data-status=accepted]")).to_have_count(2)
        expect(page.locator("[data-testid=origin-risk][data-person='1']")).to_have_attribute("data-risk", "high")

        # a truck on a pass issued here: green at once, with its persons
        page.check("input[name=direction][value=in]")
        page.fill("#plate", "苏DA1234")
        page.select_option("#vehicle_type", "truck")
        page.fill("#epass_no", data["good_no"])
        page.fill("#epass_token", data["good"])
        verdict = page.locator("[data-testid=epass-verdict]")
        expect(verdict).to_have_attribute("data-verdict", "valid")
        expect(verdict).to_contain_text("有效")
        expect(page.locator("[data-testid=epass-person]")).to_contain_text("司机1")
        page.screenshot(path=str(artifacts / "inspect-390-epass-green.png"), full_page=True)
        page.fill("#p1_id_number", make_id(1))
        page.select_option("select[name=p1_role]", "driver")
        page.fill("input[name=p1_destination]", "常州市武进区")
        page.click("[data-testid=inspect-submit]")
        expect(page.locator("[data-testid=inspect-done]")).to_contain_text("行程")
        expect(page.locator("[data-testid=epass-verdict]")).to_have_attribute("data-verdict", "valid")

        # a truck with an edited pass: grey, 签名无效, at once
        page.check("input[name=direction][value=in]")
        page.fill("#plate", "苏DB5678")
        page.select_option("#vehicle_type", "truck")
        page.fill("#epass_no", data["other_no"])
        page.fill("#epass_token", _edited(data["other"]))
        expect(page.locator("[data-testid=epass-verdict]")).to_have_attribute("data-reason", "bad_signature")
        expect(page.locator("[data-testid=epass-verdict]")).to_contain_text("签名无效")
        page.screenshot(path=str(artifacts / "inspect-390-epass-grey.png"), full_page=True)
        page.fill("#p1_id_number", make_id(2))
        page.select_option("select[name=p1_role]", "driver")
        page.fill("input[name=p1_destination]", "常州市武进区")
        page.click("[data-testid=inspect-submit]")
        expect(page.locator("[data-testid=inspect-done]")).to_contain_text("行程")

    # the receiver's side confirms the first truck's arrival on the trips page
    with clock.frozen(at("13:00")):
        liaison = _phone(chromium, served.base, "liaison")
        liaison.goto(served.base + "/checkpoints/trips")
        liaison.fill("#plate", "苏DA1234")
        liaison.fill("#epass_no", data["good_no"])
        liaison.fill("#arrived_at", "2022-04-18T13:00")
        liaison.fill("#receiver", "常州某超市")
        liaison.click("form[action='/checkpoints/trips/arrival'] button[type=submit]")
        expect(liaison.locator("[data-testid=arrival-report] [data-status=accepted]")).to_have_count(1)

    # its outbound passage closes the trip
    with clock.frozen(at("14:00")):
        page = _phone(chromium, served.base, "officer")  # the next shift signs in (the session has lapsed)
        page.goto(served.base + "/checkpoints/inspect")
        page.check("input[name=direction][value=out]")
        page.fill("#plate", "苏DA1234")
        page.select_option("#vehicle_type", "truck")
        page.click("[data-testid=inspect-submit]")
        expect(page.locator("[data-testid=inspect-done] [data-status=accepted]")).to_have_count(1)

    # at 17:00 the second truck's arrival is an hour overdue: the scheduled job makes one task, once
    with clock.frozen(at("17:00")), served.factory() as session:
        states = {r.trip.plate: (r.state.state, r.state.overdue_hours, r.trip.arrived_at)
                  for r in trips.trip_states(session, SYSTEM_ACTOR, at=at("17:00"))}
        assert states == {"苏DA1234": ("closed", None, at("13:00")),
                          "苏DB5678": ("arrival_overdue", 1.0, None)}
        made = JOBS["checkpoints.overdue_tasks"](session)
        session.commit()
        assert len(made["trip_task_ids"]) == 1 and made["stranded_task_ids"] == []
        assert JOBS["checkpoints.overdue_tasks"](session)["trip_task_ids"] == []
        [task] = session.execute(select(Task).where(Task.kind == kinds.TRIP_OVERDUE)).scalars().all()
        overdue_trip = next(r.trip.id for r in trips.trip_states(session, SYSTEM_ACTOR, at=at("17:00"))
                            if r.trip.plate == "苏DB5678")
        assert task.subject_id == overdue_trip

        # shift counts by hand: the car (2 persons, 1 lead from the high-risk area, 1 sampled) and two
        # trucks in (drivers on a pass: no lead), one truck out, all in the 08:00-16:00 shift
        cols = ["shift", "vehicles_in", "vehicles_out", "persons_in", "persons_out", "trucks_in", "leads", "sampled",
                "returned"]
        got = [[r[c] for c in cols] for r in reports.shift_counts(session, SYSTEM_ACTOR, day=DAY)]
        assert got == [["00:00-08:00", 0, 0, 0, 0, 0, 0, 0, 0],
                       ["08:00-16:00", 3, 1, 4, 0, 2, 1, 1, 0],
                       ["16:00-24:00", 0, 0, 0, 0, 0, 0, 0, 0]]
