"""Reading only the risk areas a batch's origins can touch (`area_spans_for`) decides exactly as reading
them all: a county origin sees its county's areas, a province or prefecture origin those under it (for
the "names no single county" issue), and nothing else is read."""

from __future__ import annotations

import datetime as dt

from fangkong.intake import rules
from fangkong.intake.service import risk_areas
from fangkong.kernel.auth.actor import SYSTEM_ACTOR

AT = dt.datetime(2022, 4, 18, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_the_origins_areas_decide_as_all_areas(session) -> None:
    start = AT - dt.timedelta(days=3)
    for level, name in (("high", "上海市浦东新区"), ("medium", "上海市黄浦区某小区"), ("high", "江苏省苏州市昆山市"),
                        ("medium", "北京市朝阳区某街道")):
        risk_areas.add_risk_area(session, SYSTEM_ACTOR, level=level, region_name=name, start_at=start, end_at=None)
    session.flush()
    origins = ["上海市浦东新区", "上海市", "苏州市", "江苏省常州市武进区", "", None, "鼓楼区"]
    some = risk_areas.area_spans_for(session, origins)
    every = risk_areas.area_spans(session)
    assert set(some.by_county) == {"310115", "310101", "320583"}  # not Beijing's
    assert set(every.by_county) == {"310115", "310101", "320583", "110105"}
    for origin in origins:
        assert rules.risk_level_at(origin, AT, some) == rules.risk_level_at(origin, AT, every), origin
        assert rules._origin_issue(origin, rules.regions.resolve_region(origin), AT, some) == \
            rules._origin_issue(origin, rules.regions.resolve_region(origin), AT, every), origin
    assert risk_areas.area_spans(session, []).by_county == {}
