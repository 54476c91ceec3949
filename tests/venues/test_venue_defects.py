"""Known venue defects of issue #10, through HTTP as each role reaches things from the pages: the staff
entry check (it answered 404), community staff printing their venues' posters, the confirmation before
更换场所码, and the QR poster's address (FANGKONG_PUBLIC_URL, never the request's Host)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from cli_runner import CliRun, run_cli
from fastapi.testclient import TestClient
from signin import sign_in
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from venues_factories import NOW, PASSWORD, token_of, user, venue

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.jurisdictions import service as jurisdictions_service
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.settings import reset_settings_cache
from fangkong.venues.models import Scan
from fangkong.venues.service import codes as codes_service

PUBLIC = "https://fk.example.gov.cn"


@pytest.fixture(autouse=True)
def _now() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FANGKONG_PUBLIC_URL", PUBLIC + "/")
    reset_settings_cache()
    yield PUBLIC
    monkeypatch.delenv("FANGKONG_PUBLIC_URL")
    reset_settings_cache()


def tree(session: Session) -> dict[str, Unit]:
    """district → street → community C1 (grids G1, G2) and community C2 (grid G3)."""
    def unit(code: str, name: str, level: str, parent: str | None) -> Unit:
        return jurisdictions_service.create_unit(session, SYSTEM_ACTOR, code=code, name=name, level=level,
                                                 parent_code=parent)

    d = unit("VX1", "甲区", "district", None)
    s = unit("VX101", "甲街道", "street", d.code)
    c1 = unit("VX10101", "一社区", "community", s.code)
    c2 = unit("VX10102", "二社区", "community", s.code)
    return {"district": d, "street": s, "c1": c1, "c2": c2,
            "g1": unit("VX1010101", "一社区第1网格", "grid", c1.code),
            "g2": unit("VX1010102", "一社区第2网格", "grid", c1.code),
            "g3": unit("VX1010201", "二社区第1网格", "grid", c2.code)}


def login(client: TestClient, username: str) -> str:
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    return re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text).group(1)


def hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


def scans(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Scan)).scalar_one()


# --------------------------------------------------------------------------------- staff entry check

@pytest.mark.parametrize("role", ["enterprise", "grid", "community"])
def test_venue_staff_reach_the_entry_check_from_the_menu(client: TestClient, session: Session, role: str) -> None:
    """The menu's 入场查验 lists the venues of the staff's own area; each opens a form that records."""
    t = tree(session)
    here = venue(session, "一网格饭店", ref="X-1", unit=t["g1"])
    elsewhere = venue(session, "二社区饭店", ref="X-3", unit=t["g3"])
    user(session, f"staff_{role}", role, t["g1"])
    csrf = login(client, f"staff_{role}")

    home = client.get("/")
    assert "/entry-check" in hrefs(home.text) and "入场查验" in home.text
    listing = client.get("/entry-check")
    assert listing.status_code == 200 and "一网格饭店" in listing.text and "二社区饭店" not in listing.text
    [form_url] = [h for h in hrefs(listing.text) if h.endswith("/staff")]
    form = client.get(form_url)
    assert form.status_code == 200 and "一网格饭店" in form.text
    action = re.search(r'<form method="post" action="([^"]+)"', form.text.split('class="logout"')[-1]).group(1)
    r = client.post(action, data={"csrf_token": csrf, "phone": "13812345678", "temperature": "36.5",
                                  "mask_ok": "yes"})
    assert r.status_code == 200 and "已登记" in r.text and "138****5678" in r.text
    scan = session.execute(select(Scan)).scalar_one()
    assert (scan.place_id, scan.temperature, scan.mask_ok, scan.source) == (here.id, 36.5, True, "staff")

    # a venue outside the staff's area: neither listed nor open, by either way in (404, nothing stored)
    assert client.get(f"/venues/{elsewhere.id}/staff").status_code == 404
    assert client.post(f"/venues/{elsewhere.id}/staff", data={"csrf_token": csrf, "phone": "13812345678"}
                       ).status_code == 404
    assert scans(session) == 1


def test_the_scan_page_offers_the_staff_form_only_where_it_records(client: TestClient, session: Session) -> None:
    """Signed-in staff who open a venue's code see 工作人员:入场查验 only at a venue of their area — it
    used to show everywhere and the form then answered 404 when sent."""
    t = tree(session)
    here = token_of(session, venue(session, "一网格饭店", unit=t["g1"]))
    neighbour = token_of(session, venue(session, "二网格饭店", unit=t["g2"]))
    user(session, "staff_e", "enterprise", t["g1"])
    csrf = login(client, "staff_e")

    page = client.get(f"/v/{here}")
    [link] = [h for h in hrefs(page.text) if h.endswith("/staff")]
    form = client.get(link)
    assert form.status_code == 200 and "一网格饭店" in form.text
    action = re.search(r'action="(/v/[^"]+/staff)"', form.text).group(1)
    r = client.post(action, data={"csrf_token": csrf, "id_number": "", "phone": "13912345678",
                                  "temperature": "36.9", "mask_ok": "no"})
    assert r.status_code == 200 and "139****5678" in r.text and scans(session) == 1

    other = client.get(f"/v/{neighbour}")
    assert other.status_code == 200 and "二网格饭店" in other.text
    assert not [h for h in hrefs(other.text) if h.endswith("/staff")]
    assert client.get(f"/v/{neighbour}/staff").status_code == 404
    assert scans(session) == 1


# -------------------------------------------------------------------------------- community posters

def test_community_staff_print_the_posters_of_their_venues(client: TestClient, session: Session) -> None:
    t = tree(session)
    own = venue(session, "一社区超市", ref="P-1", unit=t["g2"])
    other = venue(session, "二社区超市", ref="P-2", unit=t["c2"])
    user(session, "comm1", "community", t["c1"])
    user(session, "grid1", "grid", t["g1"])
    login(client, "comm1")

    coverage = client.get("/venues", params={"tab": "all"})
    assert coverage.status_code == 200 and "二社区超市" not in coverage.text
    [poster_url] = [h for h in hrefs(coverage.text) if h.endswith("/poster")]
    poster = client.get(poster_url)
    assert poster.status_code == 200 and "一社区超市" in poster.text and "<svg" in poster.text
    token = codes_service.active_code(session, own.id).token  # issued for the first print
    assert f"/v/{token}" in poster.text
    assert "/rotate" not in poster.text  # replacing a code stays with venues.manage
    assert client.get(f"/venues/{other.id}/poster").status_code == 404
    assert codes_service.active_code(session, other.id) is None

    client.cookies.clear()
    login(client, "grid1")
    assert client.get(f"/venues/{own.id}/poster").status_code == 403


# ------------------------------------------------------------------------------ rotation confirmation

def test_replacing_a_code_asks_first_and_warns_about_printed_posters(client: TestClient, session: Session) -> None:
    t = tree(session)
    place = venue(session, "老街茶馆", ref="R-1", unit=t["g1"])
    first = token_of(session, place)
    user(session, "street1", "street", t["street"])
    csrf = login(client, "street1")

    poster = client.get(f"/venues/{place.id}/poster")
    assert 'method="post"' not in poster.text.split("<article")[0]  # no one-click rotation on the poster
    [ask_url] = [h for h in hrefs(poster.text) if h.endswith("/rotate")]
    ask = client.get(ask_url)
    assert ask.status_code == 200 and "老街茶馆" in ask.text
    assert "已打印的场所码立即全部失效" in ask.text and "第 1 版" in ask.text
    assert codes_service.active_code(session, place.id).token == first  # asking changed nothing

    # a bare POST (a stale page, a crafted link) goes back to the question, rotates nothing
    r = client.post(f"/venues/{place.id}/rotate", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/venues/{place.id}/rotate"
    assert codes_service.active_code(session, place.id).token == first

    action = re.search(r'<form method="post" action="([^"]+/rotate)"', ask.text).group(1)
    done = client.post(action, data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 200 and "请打印新码" in done.text
    assert codes_service.active_code(session, place.id).key_version == 2
    assert client.get(f"/v/{first}").status_code == 404

    # the API keeps rotating without a question (scripts)
    _row, api_token = auth_service.create_token(session, SYSTEM_ACTOR, username="street1")
    session.flush()
    api = client.post(f"/api/v1/venues/{place.id}/code/rotate", headers={"Authorization": f"Bearer {api_token}"})
    assert api.status_code == 200 and api.json()["key_version"] == 3


# ------------------------------------------------------------------------------ the poster's address

def test_poster_url_comes_from_the_setting_not_the_host_header(client: TestClient, session: Session,
                                                               public_url: str) -> None:
    t = tree(session)
    place = venue(session, "星光影院", ref="Q-1", unit=t["g1"])
    user(session, "street2", "street", t["street"])
    # behind TLS (an https public address) the cookies are Secure: the browser speaks https
    client.base_url = client.base_url.copy_with(scheme="https")
    login(client, "street2")
    poster = client.get(f"/venues/{place.id}/poster", headers={"Host": "evil.example"})
    token = codes_service.active_code(session, place.id).token
    expected = f"{public_url}/v/{token}"
    assert poster.status_code == 200 and "evil.example" not in poster.text
    assert expected in poster.text and codes_service.qr_svg(expected) in poster.text

    _row, api_token = auth_service.create_token(session, SYSTEM_ACTOR, username="street2")
    session.flush()
    api = client.get(f"/api/v1/venues/{place.id}/code",
                     headers={"Authorization": f"Bearer {api_token}", "Host": "evil.example"})
    assert api.status_code == 200 and api.json()["url"] == expected


def test_production_without_a_public_url_prints_no_code(client: TestClient, session: Session) -> None:
    t = tree(session)
    place = venue(session, "星光影院", ref="Q-2", unit=t["g1"])
    user(session, "street3", "street", t["street"])
    login(client, "street3")
    _row, api_token = auth_service.create_token(session, SYSTEM_ACTOR, username="street3")
    session.flush()
    clock.configure("production")
    poster = client.get(f"/venues/{place.id}/poster", headers={"Host": "evil.example"})
    assert poster.status_code == 200 and "<svg" not in poster.text and "evil.example" not in poster.text
    assert 'data-testid="poster-unconfigured"' in poster.text and "FANGKONG_PUBLIC_URL" in poster.text
    api = client.get(f"/api/v1/venues/{place.id}/code",
                     headers={"Authorization": f"Bearer {api_token}", "Host": "evil.example"})
    assert api.status_code == 200 and api.json()["url"] is None and api.json()["token"]


def test_public_base_url_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANGKONG_PUBLIC_URL", raising=False)
    reset_settings_cache()
    try:
        # test and drill databases: the request's address will do (nothing is printed for real)
        assert codes_service.public_base_url(request_base="http://testserver/") == "http://testserver"
        clock.configure("drill")
        assert codes_service.venue_url("t", request_base="http://10.0.0.2:8000/") == "http://10.0.0.2:8000/v/t"
        # production: the setting or an explicit --base-url, never the request
        clock.configure("production")
        with pytest.raises(codes_service.PublicUrlNotConfigured):
            codes_service.public_base_url(request_base="http://evil.example/")
        assert codes_service.venue_url("t", "https://a.example/fk/") == "https://a.example/fk/v/t"
        monkeypatch.setenv("FANGKONG_PUBLIC_URL", "https://fk.example.gov.cn")
        reset_settings_cache()
        assert codes_service.venue_url("t", request_base="http://evil.example/") == "https://fk.example.gov.cn/v/t"
        for bad in ("fk.example.gov.cn", "ftp://fk.example", "https://", "https://fk.example/?x=1"):
            monkeypatch.setenv("FANGKONG_PUBLIC_URL", bad)
            reset_settings_cache()
            with pytest.raises(codes_service.PublicUrlNotConfigured):
                codes_service.public_base_url(request_base="http://testserver/")
    finally:
        clock.configure("test")
        monkeypatch.delenv("FANGKONG_PUBLIC_URL", raising=False)
        reset_settings_cache()


def test_cli_prints_no_code_on_production_without_a_public_address(tmp_path) -> None:
    """`fangkong venues code` as an operator runs it on a production database: without
    FANGKONG_PUBLIC_URL (or --base-url) it refuses (exit 1) rather than print localhost; with it, that address."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANGKONG_", "LC_", "LANG"))}
    env.update(FANGKONG_DATA_DIR=str(tmp_path), LANG="C.UTF-8")

    def run(*args: str, **extra: str) -> CliRun:
        return run_cli(*args, env={**env, **extra})

    assert run("init").returncode == 0
    (tmp_path / "venues.csv").write_text("场所编号,场所名称,场所类型\nCLI-1,命令行饭店,餐馆\n", encoding="utf-8")
    assert run("import", "venues", str(tmp_path / "venues.csv")).returncode == 0
    refused = run("venues", "code", "CLI-1", "--json")
    assert refused.returncode == 1 and "FANGKONG_PUBLIC_URL" in refused.stderr and "未配置" in refused.stderr
    given = run("venues", "code", "CLI-1", "--base-url", "https://ops.example/fk/")
    assert given.returncode == 0 and given.stdout.startswith("https://ops.example/fk/v/")
    configured = run("venues", "code", "CLI-1", FANGKONG_PUBLIC_URL="https://fk.example.gov.cn")
    assert configured.returncode == 0 and configured.stdout.startswith("https://fk.example.gov.cn/v/")
