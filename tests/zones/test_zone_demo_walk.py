"""The issue's "done means" from the demo city, in Chromium: the demo generator's city (2,000 persons),
a cluster of two cases in one of its buildings (positive single tubes and cases through testing's and
tracing's services), then everything on pages: the building drawn as a high-risk zone after a preview,
its residents under measure, a sealed resident's help request served by the grid worker on a phone, a
positive pool in the grid's round run through the pool loop and its lockdown proposal confirmed, the
day-7 round sampled door to door on a 390×844 phone with the doors still to knock shrinking (the two
cases excluded as hospitalised), coverage at 100 %, and the next morning the zone eligible with its
evidence and moved down. The served app reads this process's frozen test clock (April 2022)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from browser_support import BROWSER_TIMEOUT_MS
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from zone_factories import PASSWORD, t, user

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


def _sample(session: Session, point_id: int, barcode: str, id_numbers: list[str], at: dt.datetime,
            result: str | None, reported: dt.datetime | None = None) -> None:
    """A tube (single or pooled) through testing's service, and its result when given."""
    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.testing import service as testing_service

    with clock.frozen(at):
        testing_service.open_tube(session, SYSTEM_ACTOR, barcode=barcode, pool_size=len(id_numbers),
                                  sampling_point_id=point_id)
        for idn in id_numbers:
            testing_service.add_sample(session, SYSTEM_ACTOR, barcode=barcode, person=idn, collected_at=at)
    if result is None:
        return
    reported = reported or at + dt.timedelta(hours=4)
    with clock.frozen(reported):
        rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(2, {
            "tube_barcode": barcode, "result": result, "lab": "常州检测",
            "reported_at": reported.strftime("%Y-%m-%d %H:%M")})])
    assert rows[0].status == "accepted", rows[0].issues


@pytest.fixture
def demo_site(live_site: Any) -> Any:
    def build(session: Session) -> dict[str, Any]:
        from fangkong.drill.city import generate_city
        from fangkong.kernel import clock
        from fangkong.kernel.auth.actor import SYSTEM_ACTOR
        from fangkong.kernel.jurisdictions.models import Address, Unit
        from fangkong.kernel.people import crypto
        from fangkong.kernel.people.models import Person
        from fangkong.kernel.places import service as places_service
        from fangkong.tracing.service import cases as cases_service

        with clock.frozen(t(1, 0)):
            generate_city(session, persons=2000, seed=7)
        # the demo city's smallest building (单元) with residents: the cluster's
        per_building = (select(Address.building_key, func.count(Person.id).label("n"))
                        .join(Person, Person.address_id == Address.id).group_by(Address.building_key)
                        .order_by(func.count(Person.id), Address.building_key))
        building, n_residents = session.execute(per_building).first()  # type: ignore[misc]
        residents = session.execute(select(Person, Address).join(Address, Address.id == Person.address_id)
                                    .where(Address.building_key == building).order_by(Address.key, Person.id)
                                    ).all()
        grid = session.get(Unit, residents[0][1].unit_id)
        assert grid is not None and grid.level == "grid" and all(a.unit_id == grid.id for _p, a in residents)
        community = session.get(Unit, grid.parent_id)
        street = session.get(Unit, community.parent_id)  # type: ignore[union-attr]
        district = session.get(Unit, street.parent_id)  # type: ignore[union-attr]
        assert community and street and district and district.level == "district"
        idn = {p.id: crypto.decrypt(p.id_number_enc) for p, _a in residents}
        point = places_service.create_place(session, SYSTEM_ACTOR, kind="sampling_point", name="上门采样队",
                                            code="DOOR1", unit_id=community.id)
        # the cluster: two residents of the building positive on single tubes, registered as cases
        cases = [p for p, _a in residents[:2]]
        for n, p in enumerate(cases):
            _sample(session, point.id, f"CLUSTER{n}", [idn[p.id]], t(1, 6), "阳性", t(1, 8))
        with clock.frozen(t(1, 9)):
            for p in cases:
                cases_service.create_case(session, SYSTEM_ACTOR, classification="confirmed",
                                          detection_channel="self_test", person_id=p.id, sampled_at=t(1, 6),
                                          result_at=t(1, 8))
        helped = next(p for p, _a in residents[2:] if p.phone_enc is not None)
        # a household elsewhere in the grid (not in the zone): its pool will be positive in the grid's round
        others = session.execute(select(Person).join(Address, Address.id == Person.address_id).where(
            Address.unit_id == grid.id, Address.building_key != building, Person.id_number_enc.is_not(None))
            .order_by(Address.key, Person.id).limit(6)).scalars().all()
        user(session, "d_district", "district", district)
        user(session, "d_grid", "grid", grid)
        user(session, "d_community", "community", community)
        return {"building": building, "residents": n_residents, "addresses": len({a.id for _p, a in residents}),
                "cases": [p.id for p in cases], "sampled": [idn[p.id] for p, _a in residents[2:]],
                "helped": (idn[helped.id], crypto.decrypt(helped.phone_enc)),  # type: ignore[arg-type]
                "others": [crypto.decrypt(p.id_number_enc) for p in others], "point": point.id,
                "grid": grid.code, "households": len({a.id for _p, a in residents})}

    return live_site(build)


def _login(ctx: Any, base: str, username: str) -> Any:
    p = ctx.new_page()
    p.set_default_timeout(BROWSER_TIMEOUT_MS)
    p.goto(base + "/login")
    p.fill("#username", username)
    p.fill("#password", PASSWORD)
    p.click("button[type=submit]")
    p.wait_for_url(base + "/")
    return p


def test_the_demo_city_walk_from_a_cluster_to_a_lifted_zone(demo_site: Any, chromium: Any,
                                                             artifacts: Path) -> None:
    from playwright.sync_api import expect

    from fangkong.kernel import clock
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.zones import service as zones_service

    site, d = demo_site, demo_site.data
    office = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    with clock.frozen(t(1, 10)):  # the command centre draws the cluster's building, after a preview
        p = _login(office, site.base, "d_district")
        p.goto(site.base + "/zones")
        p.fill("[data-testid=addresses]", d["building"])
        p.fill("input[name=reason]", "聚集性疫情: 2 例确诊")
        p.click("[data-testid=preview-button]")
        expect(p.locator("[data-testid=preview-counts]")).to_contain_text(
            f"{d['addresses']} 个地址、{d['households']} 户和 {d['residents']} 名登记居民")
        p.click("[data-testid=draw-button]")
        expect(p.locator("[data-testid=zone-level]")).to_have_text("高风险区")
        expect(p.locator("[data-testid=under-measure]")).to_have_text(str(d["residents"]))  # one bulk step
        zone_url = p.url
        p.screenshot(path=str(artifacts / "demo-walk-zone.png"), full_page=True)
    with clock.frozen(t(1, 11)):  # a sealed resident asks for medicine on their phone; the grid serves it
        r = chromium.new_context(**PHONE).new_page()
        r.set_default_timeout(BROWSER_TIMEOUT_MS)
        r.goto(site.base + "/help-me")
        r.fill("#id_number", d["helped"][0])
        r.fill("#phone", d["helped"][1])
        r.select_option("#kind", "medicine")
        r.fill("#detail", "降压药")
        r.click("[data-testid=help-me-submit]")
        expect(r.locator("[data-testid=help-me-state]")).to_have_text("待处理")
        status_url = r.url
        g = _login(chromium.new_context(**PHONE), site.base, "d_grid")
        g.goto(site.base + "/help")
        g.click("[data-testid=help-queue] tbody tr a")
        g.fill("[data-testid=help-outcome]", "已送药上门")
        g.click("[data-testid=help-finish]")
        expect(g.locator("[data-testid=help-status]")).to_have_text("已服务")
        r.goto(status_url)
        expect(r.locator("[data-testid=help-me-state]")).to_have_text("已服务")
    # the grid's round around the zone: open sampling points, pooled tubes; one pool of a household
    # outside the zone turns positive (testing's pool loop: its members are retested on single tubes)
    with site.factory() as session:
        with clock.frozen(t(1, 12)):
            grid_round = zones_service.start_round(session, SYSTEM_ACTOR, unit_code=d["grid"]).id
        positive, negative = d["others"][:2], d["others"][2:6]
        _sample(session, d["point"], "GRIDPOOL1", positive, t(1, 14), "阳性", t(1, 19))
        _sample(session, d["point"], "GRIDPOOL2", negative, t(1, 14), "阴性", t(1, 19))
        session.commit()
    with clock.frozen(t(1, 20)):
        p = _login(office, site.base, "d_district")
        p.goto(f"{site.base}/rounds/{grid_round}")
        expect(p.locator("[data-testid=pool-positive-total]")).to_have_text("2")
        expect(p.locator("[data-testid=proposals] li")).to_have_count(1)
        p.click("[data-testid=proposals] li a")
        p.click("[data-testid=confirm-proposal]")
        expect(p.locator("[data-testid=zone-status]")).to_have_text("生效中")
    with site.factory() as session:  # the pool loop's retests: both members negative on single tubes
        for n, idn in enumerate(positive):
            _sample(session, d["point"], f"RETEST{n}", [idn], t(2, 8), "阴性", t(2, 14))
        session.commit()
    with clock.frozen(t(8, 8)):  # day 7: the round, started from the zone page
        p = _login(office, site.base, "d_district")
        p.goto(zone_url)
        p.click("[data-testid=start-round]")
        expect(p.locator("[data-testid=missing-total]")).to_have_text(str(d["residents"]))
        round_url = p.url
    walker = chromium.new_context(**PHONE)
    with clock.frozen(t(8, 9)):  # the community's door team on a phone: the two cases are in hospital
        c = _login(walker, site.base, "d_community")
        c.goto(round_url + "/doors")
        expect(c.locator("[data-testid=doors-count]")).to_have_text(str(d["residents"]))
        for n, pid in enumerate(d["cases"], start=1):
            c.click(f"[data-testid=exclude-{pid}] summary")
            form = c.locator(f"[data-testid=exclude-{pid}] form")
            form.locator("select[name=reason]").select_option("hospitalised")
            form.locator("input[name=note]").fill("定点医院收治")
            form.locator("button[type=submit]").click()
            expect(c.locator("[data-testid=excluded] tbody tr")).to_have_count(n)
        expect(c.locator("[data-testid=doors-count]")).to_have_text(str(d["residents"] - 2))
    # most doors are sampled by the other teams of the day (testing's service), the last three at the
    # doors on the phone; the list of doors still to knock shrinks on the way
    left = d["sampled"][-3:]
    with site.factory() as session:
        for n, idn in enumerate(d["sampled"][:-3]):
            _sample(session, d["point"], f"TEAM{n}", [idn], t(8, 9), None)
        session.commit()
    with clock.frozen(t(8, 10)):
        c = _login(walker, site.base, "d_community")
        c.goto(round_url + "/doors")
        expect(c.locator("[data-testid=doors-count]")).to_have_text("3")
        c.screenshot(path=str(artifacts / "demo-walk-doors-phone.png"), full_page=True)
        for n, idn in enumerate(left):
            c.goto(site.base + "/sampling")
            c.select_option("#point", str(d["point"]))
            c.check("[data-testid=mode-single]")
            c.fill("[data-testid=tube-barcode]", f"door{n}")
            c.click("[data-testid=open-tube]")
            c.wait_for_url(f"**/sampling/tubes/DOOR{n}")
            c.fill("[data-testid=person-input]", idn)
            c.click("[data-testid=add-person]")
            expect(c.locator("[data-testid=tube-closed]")).to_be_visible()
            c.goto(round_url + "/doors")
            if n < len(left) - 1:
                expect(c.locator("[data-testid=doors-count]")).to_have_text(str(len(left) - n - 1))
        expect(c.locator("[data-testid=doors-empty]")).to_be_visible()
    with site.factory() as session, clock.frozen(t(8, 18)):  # the lab: every tube of the round negative
        from fangkong.testing import service as testing_service

        barcodes = [f"TEAM{n}" for n in range(len(d["sampled"]) - 3)] + [f"DOOR{n}" for n in range(3)]
        rows = testing_service.ingest_results(session, SYSTEM_ACTOR, items=[testing_service.ResultItem(n, {
            "tube_barcode": b, "result": "阴性", "lab": "常州检测", "reported_at": "2022-04-08 18:00"})
            for n, b in enumerate(barcodes, start=2)])
        assert [x.status for x in rows] == ["accepted"] * len(barcodes), [x.issues for x in rows]
        session.commit()
    with clock.frozen(t(9, 8)):  # seven quiet days and a clean day-7 round: eligible, with the evidence
        p = _login(office, site.base, "d_district")
        p.goto(round_url)
        expect(p.locator("[data-testid=missing-total]")).to_have_text("0")
        expect(p.locator("[data-testid=positive-total]")).to_have_text("0")
        p.goto(zone_url)
        expect(p.locator("[data-testid=eligible-on]")).to_have_text("2022-04-09")
        expect(p.locator("[data-testid=eligibility]")).to_contain_text(f"#{round_url.rsplit('/', 1)[1]}")
        expect(p.locator("[data-testid=eligibility]")).to_contain_text("2022-04-01")  # the last infection's day
        p.screenshot(path=str(artifacts / "demo-walk-eligible.png"), full_page=True)
        p.fill("[data-testid=eligibility] input[name=reason]", "连续7天无新增, 第7天全员阴性")
        p.click("[data-testid=lift-button]")
        expect(p.locator("[data-testid=zone-level]")).to_have_text("中风险区")
