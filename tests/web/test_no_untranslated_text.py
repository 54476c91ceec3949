"""Chinese everywhere a person reads (issue #10): in zh_CN no page, error, toast, export header or CLI
message shows English text or a raw code.

- every page an admin reaches from the home page in a seeded demo world (links and HTMX fragments
  followed), the public pages, error pages and the toasts domain errors become;
- every registered message template has a zh_CN translation with the same placeholders;
- the Chinese export headers are Chinese;
- a sample of CLI commands, error paths included, under `LANG=C.UTF-8`.

What counts as untranslated: a word of two or more Latin letters, or a snake_case / dotted code, in
the text a person sees (text nodes, and the placeholder, title, aria-label and alt attributes). The
allowlist is small and each entry says why it is fine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cli_runner import CliRun, run_cli
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, sessionmaker
from web_world import login
from zh_world import ADMIN, GRID, NOW, ZhWorld, build_zh_world

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth.models import User
from fangkong.kernel.i18n import translations
from fangkong.kernel.messages import REGISTRY

#: Latin words a Chinese reader reads as they are, each with its reason
ALLOWED_WORDS = {
    "ID",  # 身份证 ID / ID 号: how staff write it
    "PCR",  # 核酸 PCR: the test's name
    "Ct",  # Ct 值: the lab's measure
    "CSV", "XLSX", "PDF", "Excel",  # file formats and the program staff open them with
    "JPEG", "PNG", "WebP", "HEIC",  # photo formats a phone names (the antigen cassette's photo)
    "API", "URL", "QR", "HTTP", "HTTPS",  # technical terms without a Chinese word in use
    "GB", "GB/T", "MB", "KB",  # GB/T 2260 (a standard's name), file sizes
    "XX",  # a placeholder in an example (南京市鼓楼区宁海路街道XX小区), as Chinese writes it
    "h", "min",  # units
    "IP",  # an IP address, in the audit log
    "Rt",  # 实时再生数 Rt: the reproduction number as epidemiologists write it
    "KTV",  # a kind of venue, written so in Chinese (卡拉OK), and part of venue names
}
#: what is data, not text: the demo's own file name and batch tag (as the drill's scenario stores them),
#: and the drill run the authorization matrix leaves in the data directory (a run's id is its directory name)
DATA_STRINGS = ("demo-scenario", "matrix-run")
#: a word, a snake_case or dotted code, or an identifier joined by - / : (a source reference `case:1:person:2`)
#: a word starts where no letter or digit precedes it: the letters inside a random token or barcode
#: ("25497369DE") are part of that identifier, not a word
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[_.\-/:][A-Za-z0-9]+)*")
#: text quoted back to the reader (a value they typed: unknown category 'nope'), file suffixes (.csv) and
#: command-line options (--channel: what the reader types)
QUOTED = re.compile(r"'[^']*'|「[^」]*」|\.(?:csv|xlsx|xls|svg|png|pdf)\b|(?<![\w-])--[a-z][a-z0-9-]*")
URL = re.compile(r"[a-z][a-z0-9+]*://\S*|(?<![\w/])/[\w\-.?=&%#:~+/]+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


class _Text(HTMLParser):
    """The text a person sees: text nodes outside script/style, and a few attributes people read."""

    ATTRS = ("placeholder", "title", "aria-label", "alt")
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                      "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._depth = 0
        self._skip_at: int | None = None  # the depth of the element whose content is skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            if self._skip_at is None:
                self._attrs(tag, attrs)
            return
        self._depth += 1
        if self._skip_at is not None:
            return
        # the language switch names English in English, on purpose (`hreflang="en"`); a record kept as a
        # machine wrote it is marked `translate="no"` (the audit log's details, IP addresses, job names)
        if tag in ("script", "style") or ("hreflang", "en") in attrs or ("lang", "en") in attrs \
                or ("translate", "no") in attrs:
            self._skip_at = self._depth
            return
        self._attrs(tag, attrs)

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self.ATTRS and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and value and ("type", "submit") in attrs:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if self._skip_at is not None and self._depth == self._skip_at:
            self._skip_at = None
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._skip_at is None and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    p = _Text()
    p.feed(html)
    return p.parts


def untranslated(texts: list[str], data: tuple[str, ...] = ()) -> list[str]:
    """The words in `texts` a Chinese reader would not read: English words and raw codes."""
    found = []
    for text in texts:
        for s in sorted({*DATA_STRINGS, *data}, key=len, reverse=True):
            text = text.replace(s, " ")
        text = QUOTED.sub(" ", EMAIL.sub(" ", URL.sub(" ", text)))
        for m in WORD.finditer(text):
            word = m.group(0)
            if word in ALLOWED_WORDS:
                continue
            is_code = bool(re.search(r"[a-z][_.][a-z]", word))
            if not is_code and (len(word) < 2 or re.search(r"\d", word)):
                continue  # a letter (A 栋) or an identifier with digits (a barcode, a unit code)
            found.append(f"{word!r} in {text[:120]!r}")
    return found


# --- pages ---------------------------------------------------------------------------------------------

#: links not followed: other languages, downloads, sign-out
SKIP = re.compile(r"lang=en|^/static/|^/logout|\.(xlsx|csv|svg|png)(\?|$)|/export|^/api/")
#: how many pages per route shape (digits → N) are read
PER_SHAPE = 2
MAX_PAGES = 400


def _shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def _links(html: str) -> Iterator[str]:
    for m in re.finditer(r'(?:href|hx-get)="(/[^"#]*)', html):
        url = m.group(1).replace("&amp;", "&")
        if not SKIP.search(url):
            yield url


def crawl(client: TestClient, start: list[str], data: tuple[str, ...]) -> tuple[dict[str, list[str]], int]:
    """Read every page reachable from `start`; what each one showed untranslated, and how many were read."""
    seen: set[str] = set()
    per_shape: dict[str, int] = {}
    queue = list(start)
    problems: dict[str, list[str]] = {}
    read = 0
    while queue and read < MAX_PAGES:
        url = queue.pop(0)
        shape = _shape(url)
        if url in seen or per_shape.get(shape, 0) >= PER_SHAPE:
            continue
        seen.add(url)
        per_shape[shape] = per_shape.get(shape, 0) + 1
        htmx = "/children" in url or (url.endswith("/leads") and url.startswith("/persons/")) \
            or (url.endswith("/cases") and url.startswith("/persons/"))
        r = client.get(url, headers={"HX-Request": "true"} if htmx else {})
        read += 1
        assert r.status_code < 500, (url, r.status_code)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        bad = untranslated(visible_text(r.text), data)
        if bad:
            problems[url] = bad
        queue.extend(u for u in _links(r.text) if u not in seen)
    return problems, read


@pytest.fixture(scope="module")
def _zh_shared(engine: Engine) -> Iterator[tuple[Connection, ZhWorld]]:
    """The demo world, built once per backend for this module's page tests (a city of 500 is seconds of
    work): in an outer transaction of a connection of the module's own, rolled back at its end."""
    conn = engine.connect()
    trans = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        with clock.frozen(NOW), factory() as session:
            w = build_zh_world(session)
            session.commit()  # releases the session's savepoint into the outer transaction
        yield conn, w
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def connection(_zh_shared: tuple[Connection, ZhWorld]) -> Iterator[Connection]:
    """This module's tests run on the shared world's connection, each in a savepoint rolled back after
    it (what they write — sign-ins, posted forms — never reaches the next test)."""
    conn, _w = _zh_shared
    nested = conn.begin_nested()
    yield conn
    if nested.is_active:
        nested.rollback()


@pytest.fixture
def zh_world(_zh_shared: tuple[Connection, ZhWorld], session: Session) -> Iterator[ZhWorld]:
    with clock.frozen(NOW):
        yield _zh_shared[1]


@pytest.fixture
def zh_client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False,
                    cookies={"lang": "zh_CN"}) as c:
        yield c


def _data_strings(session: Session) -> tuple[str, ...]:
    """Usernames are data people typed (admin1, grid1 …), shown as they are."""
    return tuple(session.execute(select(User.username)).scalars())


def _report(problems: dict[str, list[str]]) -> str:
    lines = []
    for url, bad in sorted(problems.items()):
        lines.append(f"{url}:")
        lines.extend(f"    {b}" for b in bad[:8])
        if len(bad) > 8:
            lines.append(f"    … {len(bad) - 8} more")
    return "\n".join(lines)


@pytest.mark.slow
def test_every_page_an_admin_reaches_is_chinese(zh_client: TestClient, session: Session, zh_world: ZhWorld) -> None:
    w = zh_world
    login(zh_client, ADMIN)
    start = ["/", f"/leads/{w.lead_with_issues}", f"/cases/{w.case_id}",
             f"/cases/{w.case_id}/contacts/{w.contact_id}", f"/persons/{w.person_id}",
             f"/persons/{w.person_id}/leads", f"/persons/{w.person_id}/cases", f"/sampling/tubes/{w.tube}",
             f"/venues/{w.venue_id}/poster", "/leads/new", "/leads/import", "/turnaround", "/coverage",
             "/compliance", "/sampling", "/risk-areas", "/leads/clearance", "/checkpoints/reconciliation",
             "/audit", "/venues", "/places", "/units", "/tasks", "/tasks?tab=done", "/leads?overdue=1"]
    problems, read = crawl(zh_client, start, _data_strings(session))
    assert read >= 40, f"only {read} pages read: the crawl proves little"
    assert not problems, "untranslated text on pages (zh_CN):\n" + _report(problems)


def test_public_pages_are_chinese(zh_client: TestClient, session: Session, zh_world: ZhWorld) -> None:
    w = zh_world
    problems: dict[str, list[str]] = {}
    for url in ("/login", "/report", "/tip", "/my-test", "/self-test", f"/v/{w.venue_token}", f"/v/{w.venue_token}/staff",
                "/v/not-a-code"):
        r = zh_client.get(url)
        assert r.status_code < 500, url
        bad = untranslated(visible_text(r.text))
        if bad:
            problems[url] = bad
    # the public forms answering bad input
    form = zh_client.get("/report").text
    token = re.search(r'name="form_token" value="([^"]+)"', form)
    assert token
    r = zh_client.post("/report", data={"form_token": token.group(1), "name": "钱报备", "phone": "12345",
                                        "id_number": "320412198503121230", "arrival_at": "昨天"})
    answers = {"POST /report": r,
               "POST /my-test": zh_client.post("/my-test", data={"id_number": "12345", "name": "钱"}),
               "POST /self-test": zh_client.post("/self-test", data={"id_number": "12345", "phone": "1"}),
               "POST /self-test photo": zh_client.post("/self-test", data={"id_number": "1"},
                                                       files={"photo": ("x.jpg", b"GIF89a", "image/jpeg")}),
               "POST /v/…": zh_client.post(f"/v/{w.venue_token}", data={"phone": "12345", "name": "钱"})}
    for label, answer in answers.items():
        assert answer.status_code < 500, label
        bad = untranslated(visible_text(answer.text))
        if bad:
            problems[label] = bad
    assert not problems, "untranslated text on public pages (zh_CN):\n" + _report(problems)


def test_errors_and_toasts_are_chinese(zh_client: TestClient, session: Session, zh_world: ZhWorld) -> None:
    """Domain errors as error pages (404, 403, 422) and as HTMX toasts, in the reader's language."""
    w = zh_world
    data = _data_strings(session)
    problems: dict[str, list[str]] = {}

    def check(label: str, r: object, expect: int | None = None) -> None:
        status = r.status_code  # type: ignore[attr-defined]
        assert status < 500, (label, status)
        if expect is not None:
            assert status == expect, (label, status, r.text[:500])  # type: ignore[attr-defined]
        bad = untranslated(visible_text(r.text), data)  # type: ignore[attr-defined]
        if bad:
            problems[label] = bad

    csrf = login(zh_client, ADMIN)
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    for url in ("/leads/999999", "/cases/999999", "/persons/999999", f"/cases/{w.case_id}/contacts/999999",
                "/units/999999", "/sampling/tubes/NOSUCH404", "/venues/999999/poster", "/leads?channel=nope",
                "/leads/clearance?day=yesterday"):
        check(f"GET {url}", zh_client.get(url))
        check(f"GET {url} (HTMX)", zh_client.get(url, headers={"HX-Request": "true"}))
    posts = [
        ("/risk-areas", {"region_name": "上海市浦东新区", "level": "high", "start_at": ""}),
        ("/risk-areas", {"region_name": "上海市浦东新区", "level": "extreme", "start_at": "2022-04-10 08:00"}),
        (f"/tasks/{w.task_id}/complete", {}),
        (f"/cases/{w.case_id}/places", {"name": "花园菜市场", "visited_from": "2022-04-16 10:00",
                                        "visited_until": "2022-04-15 10:00"}),
        (f"/cases/{w.case_id}/links", {"source_case_id": "abc"}),
        (f"/cases/{w.case_id}/links", {"source_case_id": "999999"}),
        (f"/cases/{w.case_id}/milestones", {"step": "nope"}),
        (f"/cases/{w.case_id}/contacts", {"kind": "named", "name": "", "phone": "12345"}),
        ("/cases", {"name": "钱某", "phone": "12345", "classification": "confirmed"}),
        ("/sampling/tubes", {"barcode": w.tube, "pool_size": "5"}),
        (f"/sampling/tubes/{w.tube}/samples", {"person": "12345"}),
        (f"/sampling/tubes/{w.tube}/samples", {"person": "320412198503121230"}),
        (f"/venues/{w.venue_id}/flag", {"reason": ""}),
        (f"/leads/{w.lead_with_issues}/verify", {"outcome_code": "found_site", "site_place_id": "x"}),
        ("/leads/new", {"name": "钱问题", "phone": "12345", "id_number": "320412198503121230",
                        "arrival_at": "昨天下午", "category": "nope"}),
    ]
    for url, form in posts:
        check(f"POST {url} {form}", zh_client.post(url, data=form, headers=hx))
    files = [("/leads/import", {"channel": "community"}, ("leads.txt", b"x", "text/plain")),
             ("/leads/import", {"channel": "community"}, ("leads.csv", b"x,y\n1,2\n", "text/csv")),
             ("/leads/import", {"channel": "community"}, ("leads.csv", "名字,住址\n".encode(), "text/csv")),
             ("/leads/import", {"channel": "community"},
              ("leads.csv", "姓名,身份证号,手机号,来源地,抵达时间\n钱问题,320412198503121230,12345,火星,昨天\n,,,,\n"
               .encode(), "text/csv")),
             ("/risk-areas/import", {}, ("areas.csv", "地区,等级\n火星,极高\n".encode(), "text/csv"))]
    for url, form, file in files:
        check(f"POST {url} {file[0]}", zh_client.post(url, data=form, files={"file": file},
                                                       headers={"X-CSRF-Token": csrf}))
    # a permission the user lacks: the permission's description, not its code
    zh_client.post("/logout", data={"csrf_token": csrf})
    login(zh_client, GRID)
    denied = zh_client.get("/audit")
    check("GET /audit as a grid worker", denied, expect=403)
    # the reader's words, through the message codes: the record and the permission by their names
    assert "需要权限：查看审计日志" in denied.text
    assert "线索 999999 不存在" in zh_client.get("/leads/999999").text
    assert not problems, "untranslated text in errors and toasts (zh_CN):\n" + _report(problems)


# --- catalogs ------------------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def test_every_registered_message_has_a_chinese_template_with_the_same_placeholders() -> None:
    import fangkong.app  # noqa: F401  (imports every capability, so every message is registered)
    from fangkong import cli  # noqa: F401

    zh = translations("zh_CN")
    missing, mismatched = [], []
    for code, template in sorted(REGISTRY.items()):
        if code.startswith(("test.", "label.test.")):
            continue
        text = zh.gettext(template)
        if text == template and re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", template)):
            missing.append(f"{code}: {template!r}")
        elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(template)):
            mismatched.append(f"{code}: {template!r} → {text!r}")
    assert len(REGISTRY) > 100, "messages are not registered where they are raised"
    assert not missing, "messages without a zh_CN translation:\n" + "\n".join(missing)
    assert not mismatched, "zh_CN templates with other placeholders:\n" + "\n".join(mismatched)


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(BytesIO(data))
    return book.get_sheet_by_index(0).to_python()


def test_xlsx_exports_have_chinese_headers(zh_client: TestClient, session: Session, zh_world: ZhWorld) -> None:
    """The people's format: an XLSX export's headers (and the labels beside codes) read Chinese."""
    csrf = login(zh_client, ADMIN)
    leads = zh_client.post("/leads/export", data={"format": "xlsx", "csrf_token": csrf})
    compliance = zh_client.get("/compliance/export.xlsx")
    problems = {}
    for name, answer in (("leads", leads), ("compliance", compliance)):
        assert answer.status_code == 200, (name, answer.text[:300])
        header = [str(c) for c in _xlsx_rows(answer.content)[0]]
        bad = untranslated(header)
        if bad:
            problems[name] = bad
    assert not problems, "English or coded XLSX headers:\n" + _report(problems)


# --- command line --------------------------------------------------------------------------------------

def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fangkong", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _cli_in_process(args: list[str], env: dict[str, str]) -> CliRun:
    return run_cli(*args, env=env)


def test_cli_speaks_chinese_under_c_utf8(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    env.update(LANG="C.UTF-8", FANGKONG_DATA_DIR=str(tmp_path), FANGKONG_NOW="2022-04-18T09:00:00+08:00",
               COLUMNS="200")
    env.pop("FANGKONG_DATABASE_URL", None)
    init = _cli(["init", "--mode", "test"], env)
    assert init.returncode == 0, init.stderr
    bad_csv = tmp_path / "leads.csv"
    bad_csv.write_text("姓名,身份证号,手机号\n钱问题,320412198503121230,12345\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    units = tmp_path / "units.csv"
    units.write_text("code,name,level,parent_code\nX1,甲区,planet,\n", encoding="utf-8")
    runs = [
        ["init", "--mode", "test"],
        ["leads", "verify", "999999", "--outcome", "found_home"],
        ["cases", "show", "999999"],
        ["import", "leads", str(tmp_path / "missing.csv"), "--channel", "community"],
        ["import", "leads", str(bad_csv), "--channel", "community", "--report", str(report)],
        ["import", "units", str(units)],
        ["people", "check-id", "320412198503121230"],
        ["people", "check-phone", "12345"],
        ["venues", "code", "999999"],
        ["tasks", "list"],
        ["groups"],
        ["import", "leads", str(bad_csv)],  # usage errors: a missing option, an unknown one, a bad value
        ["tasks", "list", "--bogus"],
        ["leads", "verify", "abc", "--outcome", "found_home"],
    ]
    problems = {}
    for args in runs:
        # in-process (the same environment, LANG=C.UTF-8 included): the `init` above was a real process
        out = _cli_in_process(args, env)
        assert "Traceback" not in out.stderr, (args, out.stderr)
        # piped stdout is a header line and tab-separated rows for scripts (decisions.md): stable English
        # column names and codes, like a report's CSV; everything else a person reads must be Chinese
        said = [line for line in out.stdout.splitlines() if "\t" not in line] + out.stderr.splitlines()
        # the usage line and its help hint quote the command itself (code a person types, not prose)
        said = [line for line in said if not line.startswith(("用法：", "运行 '"))]
        bad = untranslated(said, (str(tmp_path),))
        if bad:
            problems[" ".join(args)] = bad
    assert not problems, "untranslated CLI output under LANG=C.UTF-8:\n" + _report(problems)


def test_cli_tables_on_a_terminal_are_chinese(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A table on a terminal names its columns and shows its messages in Chinese; piped, it stays TSV."""
    from fangkong.kernel import cli_support
    from fangkong.kernel.messages import Term
    from fangkong.kernel.people.identity import check_phone

    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    issue = check_phone("12345").issues[0]  # type: ignore[union-attr]
    rows = [["12345", "12345", Term("no", kind="yes_no"), issue]]
    monkeypatch.setattr(cli_support.sys.stdout, "isatty", lambda: True)
    cli_support.print_rows(["input", "value", "valid", "issues"], rows)
    shown = capsys.readouterr().out
    assert "问题" in shown and "应为 11 位" in shown
    assert not untranslated([shown]), shown
    monkeypatch.setattr(cli_support.sys.stdout, "isatty", lambda: False)
    cli_support.print_rows(["input", "value", "valid", "issues"], rows)
    assert capsys.readouterr().out.splitlines() == ["input\tvalue\tvalid\tissues",
                                                    "12345\t12345\tno\tshould be 11 digits (got 5)"]
