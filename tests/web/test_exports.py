"""导出 on every list page people work from (issue #10): the button is there for those allowed, carries
the page's filters, and downloads the people's XLSX (Chinese headers, local times, names beside codes,
masked numbers); the API gives the stable machine CSV; every download is audited."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import select
from web_world import ID_A, ID_B, PHONE_A, World, add_user, bearer, login, token_for

from fangkong.intake.service import LeadItem, ingest_leads
from fangkong.intake.service.leads import EXPORT_COLUMNS
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.places import service as places_service
from fangkong.testing import service as testing_service

NOW = dt.datetime(2022, 4, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
DAY = "2022-04-18"


@pytest.fixture
def data(session, world: World):
    """A lead on grid A, a courier enrolled at an employer with a declared headcount, the world's task."""
    with clock.frozen(NOW):
        ingest_leads(session, SYSTEM_ACTOR, channel="bigdata", items=[
            LeadItem(1, {"name": "王小明", "id_number": ID_A, "phone": PHONE_A, "source_ref": "=cmd|' /C calc'!A0",
                         "address": "花园路1号2幢301室"})])
        employer = places_service.create_place(session, SYSTEM_ACTOR, kind="employer", name="顺达快递武进站",
                                               code="EMPW1", category="courier_delivery_rider",
                                               unit_id=world.grid_a.id)
        testing_service.enrol(session, SYSTEM_ACTOR, person_id=world.person_b_id,
                              group_code="courier_delivery_rider", employer_id=employer.id)
        testing_service.declare_headcount(session, SYSTEM_ACTOR, employer_id=employer.id,
                                          group_code="courier_delivery_rider", declared=3)
        places_service.create_place(session, SYSTEM_ACTOR, kind="venue", name="万达广场", ref="V1",
                                    category="mall", capacity=1000, unit_id=world.grid_a.id)
    session.flush()
    add_user(session, "chief", "district", world.district)
    return world


def _button(page: str, kind: str) -> str | None:
    m = re.search(rf'href="([^"]+)" data-testid="export-{kind}"', page)
    return html.unescape(m.group(1)) if m else None


def _sheet(content: bytes) -> list[list]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return [[c.value for c in row] for row in wb.worksheets[0].iter_rows()]


PAGES = [
    ("leads", f"/leads?channel=bigdata&day={DAY}", {"channel=bigdata", f"day={DAY}"}),
    ("compliance", "/compliance?group=courier_delivery_rider", {"group=courier_delivery_rider"}),
    ("coverage", "/coverage?group=courier_delivery_rider", {"group=courier_delivery_rider"}),
    ("clearance", f"/leads/clearance?day={DAY}", {f"day={DAY}", "unit_id="}),
    ("tasks", "/tasks?tab=open", {"tab=open"}),
    ("venues", f"/venues?tab=all&day={DAY}", {"tab=all", f"day={DAY}"}),
]


@pytest.mark.parametrize(("kind", "url", "carried"), PAGES, ids=[p[0] for p in PAGES])
def test_every_list_page_has_an_export_button_that_downloads_the_peoples_xlsx(client, session, data, kind, url,
                                                                               carried):
    login(client, "chief")
    with clock.frozen(NOW):
        page = client.get(url)
        assert page.status_code == 200, page.text
        href = _button(page.text, kind)
        assert href is not None, f"no 导出 button on {url}"
        assert ">导出<" in page.text
        assert href.startswith(f"/export/{kind}.xlsx") and all(c in href for c in carried), href
        r = client.get(href)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r.headers["content-disposition"]
    rows = _sheet(r.content)
    assert rows[0] and all(isinstance(h, str) and not h.isascii() for h in rows[0])  # Chinese headers
    assert len(rows) >= 2, f"{kind}: no rows"
    text = str(rows)
    assert ID_A not in text and ID_B not in text and PHONE_A not in text  # masked by default
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "data.exported")
                         .order_by(AuditEvent.id.desc())).scalars().first()
    assert (ev.actor_name, ev.detail["kind"], ev.detail["unmasked"], ev.detail["format"]) == (
        "chief", kind, False, "xlsx")


def test_the_lead_xlsx_reads_as_people_expect(client, session, data):
    login(client, "chief")
    with clock.frozen(NOW):
        r = client.get(_button(client.get(f"/leads?day={DAY}").text, "leads"))
    rows = _sheet(r.content)
    lead = dict(zip(rows[0], rows[1], strict=True))
    assert (lead["渠道"], lead["渠道名称"], lead["姓名"]) == ("bigdata", "数据推送", "王小明")
    assert lead["责任单位编码"] == data.grid_a.code and lead["责任单位"] == "花园社区第一网格"
    assert lead["接收时间"] == dt.datetime(2022, 4, 18, 9, 0)  # local time, a real date cell
    assert lead["身份证号"] == ID_A[:6] + "********" + ID_A[-4:] and lead["手机号"] == "138****5678"
    assert lead["来源编号"] == "=cmd|' /C calc'!A0"  # text, never a formula
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    col = rows[0].index("来源编号") + 1
    assert ws.cell(2, col).data_type == "s"
    assert ws.cell(2, rows[0].index("接收时间") + 1).number_format == "yyyy-mm-dd hh:mm"


def test_a_compliance_xlsx_names_beside_codes(client, session, data):
    login(client, "chief")
    with clock.frozen(NOW):
        r = client.get("/export/compliance.xlsx")
    rows = _sheet(r.content)
    member = dict(zip(rows[0], rows[1], strict=True))
    from fangkong.kernel.policy import service as policy_service

    name = next(g.name_zh for g in policy_service.active_pack(session).key_groups if g.code == "courier_delivery_rider")
    assert (member["重点人群"], member["重点人群名称"]) == ("courier_delivery_rider", name)
    # enrolled at 09:00 and never tested, every 3 days: due on the 21st at 09:00, not late yet
    assert (member["下次应检"], member["检测状态"]) == (dt.datetime(2022, 4, 21, 9, 0), "按时检测")
    assert (member["单位编码"], member["工作单位"]) == ("EMPW1", "顺达快递武进站")
    assert member["姓名"] == "赵丽" and member["身份证号"] == ID_B[:6] + "********" + ID_B[-4:]


def test_no_button_and_no_file_without_the_permission(client, session, data):
    login(client, data.worker_username)  # a grid worker: no data.export, no lead.export
    page = client.get("/tasks")
    assert page.status_code == 200 and _button(page.text, "tasks") is None
    assert client.get("/export/tasks.xlsx").status_code == 403
    assert client.get("/export/leads.xlsx").status_code == 403
    assert client.get("/export/nothing.xlsx").status_code in (403, 404)


def test_the_page_form_unmasks_only_with_permission(client, session, data):
    csrf = login(client, "chief")
    with clock.frozen(NOW):
        r = client.post("/export/leads", data={"csrf_token": csrf, "format": "xlsx", "unmasked": "1",
                                               "day": DAY})
    assert r.status_code == 200
    lead = dict(zip(*_sheet(r.content)[:2], strict=True))
    assert lead["身份证号"] == ID_A
    assert client.post("/export/leads", data={"format": "xlsx"}).status_code == 403  # no CSRF token
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "data.exported")
                         .order_by(AuditEvent.id.desc())).scalars().first()
    assert ev.detail["unmasked"] is True and ev.detail["filter"]["received_from"].startswith(DAY)


def test_the_api_gives_the_stable_machine_csv(client, session, data):
    token = token_for(session, "chief")
    with clock.frozen(NOW):
        r = client.get("/api/v1/exports/leads", params={"format": "csv", "channel": "bigdata"},
                       headers=bearer(token))
        zh = client.get("/api/v1/exports/leads", params={"format": "csv", "headers": "zh"}, headers=bearer(token))
        full = client.get("/api/v1/exports/leads", params={"format": "csv", "unmasked": "true"},
                          headers=bearer(token))
        bad = client.get("/api/v1/exports/leads", params={"format": "csv", "channel": "martian"},
                         headers=bearer(token))
    assert r.status_code == 200, r.text
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == EXPORT_COLUMNS
    row = dict(zip(lines[0], lines[1], strict=True))
    assert row["source_ref"] == "'=cmd|' /C calc'!A0"  # neutralised for spreadsheets
    assert row["received_at"] == "2022-04-18T09:00:00+08:00" and row["id_number"] != ID_A
    zh_lines = list(csv.reader(io.StringIO(zh.content.decode("utf-8-sig"))))
    assert zh_lines[0][:2] == ["渠道", "渠道名称"] and "2022-04-18 09:00" in zh_lines[1]
    assert ID_A in full.content.decode("utf-8-sig")  # district staff hold person.unmask: audited
    assert bad.status_code == 422
    assert client.get("/api/v1/exports/leads").status_code == 401
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/exports/{kind}" in spec["paths"]
