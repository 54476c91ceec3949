"""Surveillance in a real browser (Debian chromium driven by Playwright): site staff enter a day's
counts on a phone; an epidemiologist sees the outbreak's signal, its epidemic curve (bars, the upper
bound, alarms marked) and sends it to the field from the review form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS, click_menu
from sentinel_factories import NOW, build_city, daily_counts
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.surveillance import service
from fangkong.surveillance.models import SentinelCount, Signal

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, int]:
        c = build_city(session, "w")
        service.record_counts(session, SYSTEM_ACTOR, daily_counts("w"), source="file")
        service.run_detection(session, SYSTEM_ACTOR, until=dt.date(2022, 4, 17))
        for name, role in (("epi", "epidemiologist"), ("staff", "enterprise")):
            auth_service.create_user(session, SYSTEM_ACTOR, username=name, role=role, unit_code=c.district.code,
                                     password=PASSWORD)
        signal = session.execute(select(Signal).where(Signal.level == "site",
                                                      Signal.indicator == "fever_visits")).scalar_one()
        return {"signal": signal.id, "series": signal.series_key}

    return live_site(build)


def _sign_in(chromium: Any, base: str, user: str, **kw: Any) -> Any:
    ctx = chromium.new_context(locale="zh-CN", **kw)
    page = ctx.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_staff_report_and_epidemiologist_investigates(served: Any, chromium: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    # site staff on a phone: today's counts for the east fever clinic
    phone = _sign_in(chromium, served.base, "staff", viewport={"width": 390, "height": 844}, is_mobile=True)
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.goto(served.base + "/sentinel-report")
    phone.fill("input[name=count_fever_visits]", "37")
    phone.fill("input[name=count_ili_visits]", "0")
    phone.click("[data-testid=report-submit]")
    expect(phone.locator("[data-testid=saved]")).to_be_visible()
    expect(phone.locator("input[name=count_fever_visits]")).to_have_value("37")
    with served.factory() as session:
        stored = session.execute(select(SentinelCount).where(SentinelCount.day == dt.date(2022, 4, 18),
                                                             SentinelCount.source == "page")).scalars().all()
        assert sorted((c.indicator, c.count) for c in stored) == [("fever_visits", 37), ("ili_visits", 0)]

    # the epidemiologist: the signal list, the curve, the review form
    page = _sign_in(chromium, served.base, "epi", viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    click_menu(page, text="预警信号")
    sid = served.data["signal"]
    page.click(f"[data-testid=signal-{sid}]")
    expect(page.locator("[data-testid=signal-summary]")).to_contain_text("东区发热门诊")
    expect(page.locator("[data-testid=signal-status]")).to_have_text("待研判")
    curve = page.locator("#curve")
    expect(curve).to_have_attribute("data-alarms", "3")
    assert curve.locator("canvas").count() == 1
    page.check("input[value=investigate]")
    page.fill("input[name=note]", "发热门诊就诊人数激增,现场核查")
    page.click("[data-testid=review-submit]")
    expect(page.locator("[data-testid=signal-status]")).to_have_text("调查中")
    page.screenshot(path=str(artifacts / "surveillance-signal.png"), full_page=True)
    page.goto(served.base + "/surveillance")
    expect(page.locator("[data-testid=series-list]")).to_contain_text("东区发热门诊")
    page.goto(served.base + f"/surveillance?series={served.data['series']}&indicator=fever_visits")
    expect(page.locator("#curve")).to_have_attribute("data-rendered", "39")  # 1 March + 9 … 17 April
    expect(page.locator("#curve")).to_have_attribute("data-alarms", "3")
    assert errors == []


@pytest.fixture
def demo_served(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        from test_demo_and_rt import add_cases

        from fangkong.drill.city import generate_city
        from fangkong.kernel.jurisdictions.models import Unit
        from fangkong.surveillance.demo import OUTBREAK_DAYS, seed_sentinels
        from fangkong.surveillance.models import SentinelSite

        generate_city(session, persons=300, seed=2)
        made = seed_sentinels(session, seed=2, history_days=0)  # eight weeks (the weekly series: test_demo_and_rt)
        add_cases(session, [1, 0, 2, 1, 3, 2, 4, 3, 5, 6, 4, 7, 8, 6, 9, 10])
        root = session.execute(select(Unit).where(Unit.parent_id.is_(None))).scalar_one()
        auth_service.create_user(session, SYSTEM_ACTOR, username="cityepi", role="epidemiologist",
                                 unit_code=root.code, password=PASSWORD)
        site = session.execute(select(SentinelSite).where(SentinelSite.ref == made["outbreak_site"])).scalar_one()
        signal = session.execute(select(Signal).where(
            Signal.site_id == site.id, Signal.indicator == "fever_visits",
            Signal.first_day >= clock.today() - dt.timedelta(days=OUTBREAK_DAYS))).scalar_one()
        return {"signal": signal.id, "site": site.name}

    return live_site(build)


def test_demo_outbreak_signal_investigated_to_its_result_and_rt(demo_served: Any, chromium: Any,
                                                                artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = _sign_in(chromium, demo_served.base, "cityepi", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    click_menu(page, text="预警信号")
    sid = demo_served.data["signal"]
    page.click(f"[data-testid=signal-{sid}]")
    expect(page.locator("[data-testid=signal-summary]")).to_contain_text(demo_served.data["site"])
    expect(page.locator("[data-testid=signal-status]")).to_have_text("待研判")
    page.check("input[value=investigate]")
    page.fill("input[name=note]", "发热门诊就诊激增,派队现场调查")
    page.click("[data-testid=review-submit]")
    expect(page.locator("[data-testid=signal-status]")).to_have_text("调查中")
    # the field investigation's result closes the signal; cases go on to tracing
    page.check("input[value=cases_found]")
    page.fill("[data-testid=result-form] input[name=note]", "发现3例发热病人,转流调")
    page.click("[data-testid=result-submit]")
    expect(page.locator("[data-testid=signal-status]")).to_have_text("已关闭")
    expect(page.locator("[data-testid=signal-summary]")).to_contain_text("发现病例(转流调)")
    expect(page.locator("[data-testid=result-form]")).to_have_count(0)
    page.screenshot(path=str(artifacts / "surveillance-demo-signal.png"), full_page=True)
    # R_t with its interval, labels in Chinese
    page.goto(demo_served.base + "/surveillance")
    page.click("[data-testid=rt-link]")
    expect(page.locator("h1")).to_have_text("实时再生数 Rt")
    rt_chart = page.locator("#rt")
    expect(rt_chart).to_have_attribute("data-windows", "10")  # 16 days and today, 7-day windows from day 2
    assert int(rt_chart.get_attribute("data-estimates") or 0) >= 5
    assert rt_chart.locator("canvas").count() == 1
    expect(page.locator("body")).to_contain_text("95% 可信区间")
    page.screenshot(path=str(artifacts / "surveillance-rt.png"), full_page=True)
    assert errors == []


def test_pharmacy_registers_a_buyer_on_a_360px_phone(served: Any, chromium: Any, artifacts: Path) -> None:
    """药店实名登记 on a 360-px phone: a bad row shows its errors in Chinese and keeps what was typed; the
    corrected form registers the buyer once (a second tap is a duplicate), who becomes a lead."""
    from playwright.sync_api import expect

    from fangkong.intake.models import Lead

    phone = _sign_in(chromium, served.base, "staff", viewport={"width": 360, "height": 740}, is_mobile=True)
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    phone.goto(served.base + "/pharmacy-register")
    expect(phone.locator("h1")).to_have_text("药店购药实名登记")
    phone.fill("input[name=name]", "张三")
    phone.select_option("select[name=drug_class]", "cough")
    phone.fill("input[name=drug_name]", "止咳糖浆")
    phone.fill("input[name=quantity]", "0")
    phone.click("[data-testid=purchase-submit]")
    issues = phone.locator("[data-testid=issues]")
    expect(issues).to_contain_text("数量")
    expect(issues).to_contain_text("身份证号")
    expect(phone.locator("input[name=drug_name]")).to_have_value("止咳糖浆")
    # nothing overflows the phone's width
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.fill("input[name=quantity]", "1")
    phone.fill("input[name=phone]", "13800138000")
    ref = phone.locator("input[name=source_ref]").input_value()
    phone.click("[data-testid=purchase-submit]")
    expect(phone.locator("[data-testid=saved]")).to_have_text("已登记。")
    expect(phone.locator("[data-testid=registered-count]")).to_have_count(0)  # staff without surveillance.view
    phone.screenshot(path=str(artifacts / "pharmacy-register-360.png"), full_page=True)
    # the same form sent again (a resubmitted page keeps its source_ref): stored once
    phone.evaluate("ref => document.querySelector('input[name=source_ref]').value = ref", ref)
    phone.fill("input[name=phone]", "13800138000")
    phone.select_option("select[name=drug_class]", "cough")
    phone.fill("input[name=drug_name]", "止咳糖浆")
    phone.click("[data-testid=purchase-submit]")
    expect(phone.locator("[data-testid=saved]")).to_contain_text("已保存过")
    with served.factory() as session:
        leads = session.execute(select(Lead).where(Lead.channel == "sentinel")).scalars().all()
        assert [(x.category, x.reason) for x in leads] == [("pharmacy_purchase", "药店购药 东区药店 止咳糖浆")]
    assert errors == []
