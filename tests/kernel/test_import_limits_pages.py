"""The page imports refuse a workbook beyond the unpack limits on the form, before a job exists and
before any reader unpacks it (the upload is gone too); the message names the limit, in Chinese."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import xlsxwriter
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fangkong.app import create_app
from fangkong.intake import imports as intake_imports
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.tabular import UnusableFile
from fangkong.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from intake_factories import Tree
from web_world import PASSWORD, login


def _bomb() -> bytes:
    """A lead workbook whose shared strings unpack to 100 MB from a few hundred KB."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["姓名", "手机号"])
    ws.write_row(1, 0, ["张三", "13812345678"])
    wb.close()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/sharedStrings.xml":
                data = b'<sst xmlns="x"><si><t>' + b"Z" * (100 * 1024 * 1024) + b"</t></si></sst>"
            dst.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(session_factory=session_factory), raise_server_exceptions=False) as c:
        yield c


def test_a_workbook_bomb_is_refused_on_the_lead_import_form(client: TestClient, session: Session) -> None:
    tree = Tree(session)
    auth_service.create_user(session, SYSTEM_ACTOR, username="staff", role="community",
                             unit_code=tree.community.code, password=PASSWORD)
    session.flush()
    csrf = login(client, "staff")
    bomb = _bomb()
    answer = client.post("/leads/import", data={"csrf_token": csrf, "channel": "employer"},
                         files={"file": ("名单.xlsx", bomb, "application/vnd.ms-excel")})
    assert answer.status_code == 422
    assert "FANGKONG_IMPORT_MAX_RATIO" in answer.text and "压缩比" in answer.text
    assert session.execute(select(ImportJob)).first() is None
    assert not list((get_settings().data_dir / "imports").glob("*/upload/*"))


def test_a_workbook_bomb_is_refused_for_risk_areas_too(session: Session) -> None:
    with pytest.raises(UnusableFile) as exc:
        imports_service.submit(session, SYSTEM_ACTOR, kind=intake_imports.RISK_AREAS, filename="areas.xlsx",
                               stream=io.BytesIO(_bomb()))
    assert exc.value.message.code == "file.limit_ratio"  # type: ignore[attr-defined]
