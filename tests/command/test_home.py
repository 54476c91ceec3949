"""Role home pages (首页): who lands where after sign-in. The command, district and street roles get the
big screen of their own unit; community and grid workers the phone view of their own work, whose counts
link to the real lists; every other role keeps the kernel's home (task counts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from command_factories import CUTOFF, NOW, H, build_tree, ingest, leads_of_the_day
from fastapi.testclient import TestClient
from signin import sign_in, user_headers
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service

ADDR3 = "团结路5号2幢3单元502室"


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def community_tree(session: Session) -> Any:
    """build_tree plus a community C1 under S1 with one grid CG1 holding one lead of day D (丙社区)."""
    tree = build_tree(session)
    leads_of_the_day(session, tree)
    c1 = jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="C1", name="丙社区", level="community",
                                           parent_code="S1")
    jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code="CG1", name="丙社区一网格", level="grid",
                                      parent_code=c1.code)
    jurisdictions_service.add_address(session, SYSTEM_ACTOR, text=ADDR3, grid_code="CG1")
    ingest(session, NOW, {"name": "己", "phone": "13800000009", "address": ADDR3})
    return tree


def _work_numbers(html: str) -> dict[str, tuple[str, str]]:
    """data-testid → (href, number) of the phone view's count cards."""
    return {m[1]: (m[0].replace("&amp;", "&"), m[2]) for m in re.findall(
        r'<a class="stat[^"]*" href="([^"]+)" data-testid="(work-[a-z-]+)"><div class="num">([^<]+)</div>', html)}


def test_screen_roles_land_on_their_own_units_screen(client: TestClient, session: Session) -> None:
    tree = build_tree(session)
    who = {"chief": ("command", tree.root.code), "dist1": ("district", "D1"), "str1": ("street", "S1")}
    headers = {name: user_headers(session, name, role, code) for name, (role, code) in who.items()}
    session.commit()
    for name, (_role, code) in who.items():
        page = client.get("/", headers=headers[name])
        assert page.status_code == 200, page.text
        assert 'data-testid="command-screen"' in page.text and f'data-unit="{code}"' in page.text, name
        assert 'data-testid="my-work"' not in page.text


def test_sign_in_lands_a_street_user_on_the_screen(client: TestClient, session: Session) -> None:
    build_tree(session)
    user_headers(session, "str1", "street", "S1")
    session.commit()
    r = sign_in(client, "str1", "correct-horse-9")
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = client.get("/")
    assert home.url.path == "/" and 'data-unit="S1"' in home.text and "甲街道 · 指挥大屏" in home.text


def test_grid_worker_sees_their_work_with_counts_that_open_the_lists(client: TestClient, session: Session) -> None:
    community_tree(session)
    grid = user_headers(session, "grid1", "grid", "G1")
    session.commit()
    with clock.frozen(CUTOFF + H):  # 01:00 on D+1
        page = client.get("/", headers=grid)
        assert page.status_code == 200 and 'data-testid="my-work"' in page.text
        assert "一网格" in page.text and "今日任务" in page.text and "待核查线索" in page.text
        assert 'data-testid="command-screen"' not in page.text
        nums = _work_numbers(page.text)
        # G1: L0 (received D-1 09:00, due D 09:00: overdue) and L4 (due D+1 09:00: due today) still open;
        # L1–L3 verified; L5 and 己 are other grids'
        assert nums["work-open"] == ("/tasks?tab=open", "2")
        assert nums["work-overdue"] == ("/tasks?tab=overdue", "1")
        assert nums["work-due-today"] == ("/tasks?tab=open", "1")
        href, known = nums["work-leads-known"]
        assert (href, known) == ("/leads?status=known", "2")
        listed = client.get(href, headers=grid)
        assert listed.status_code == 200 and len(re.findall(r'data-testid="lead-row-', listed.text)) == 2
        overdue = client.get("/tasks?tab=overdue", headers=grid)
        assert overdue.status_code == 200


def test_community_sees_its_grids(client: TestClient, session: Session) -> None:
    community_tree(session)
    c1 = user_headers(session, "comm1", "community", "C1")
    session.commit()
    with clock.frozen(CUTOFF + H):
        page = client.get("/", headers=c1)
    assert page.status_code == 200 and "丙社区" in page.text and 'data-testid="work-grids"' in page.text
    assert _work_numbers(page.text)["work-leads-known"][1] == "1"  # 己 only: 甲…戊 are S1's other grids'
    assert re.search(r'丙社区一网格</td><td><a href="/leads\?unit=CG1&amp;status=known">1</a>', page.text)


@pytest.mark.parametrize("role", ["admin", "inspector", "viewer"])
def test_other_roles_keep_the_task_home(client: TestClient, session: Session, role: str) -> None:
    tree = build_tree(session)
    headers = user_headers(session, f"u_{role}", role, tree.root.code)
    session.commit()
    page = client.get("/", headers=headers)
    assert page.status_code == 200
    assert 'data-testid="command-screen"' not in page.text and 'data-testid="my-work"' not in page.text
    assert "我的单位" in page.text  # the kernel's home ("My unit")
