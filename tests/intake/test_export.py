"""Lead export: agreed columns, masked by default, unmasked only with permission, audited."""

from __future__ import annotations

import csv

import pytest
from intake_factories import INTAKE_PERMISSIONS, NOW, Tree, actor_at, make_id
from sqlalchemy import select

from fangkong.intake.models import Lead
from fangkong.intake.service import LeadItem, export_leads, ingest_leads, record_verification
from fangkong.intake.service.leads import EXPORT_COLUMNS
from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.errors import PermissionDenied, ValidationFailed

ID_A = make_id()


@pytest.fixture
def tree(session):
    t = Tree(session)
    with clock.frozen(NOW):
        ingest_leads(session, actor_at(t.root), channel="bigdata", items=[
            LeadItem(1, {"name": "张三", "id_number": ID_A, "phone": "13812345678", "source_ref": "S1",
                         "address": "幸福路12号3幢2单元301室"}),
            LeadItem(2, {"name": "李四", "phone": "13900001111"})])
    return t


def _read(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_export_masked_csv(session, tree, tmp_path):
    out = tmp_path / "leads.csv"
    assert export_leads(session, actor_at(tree.root), out=out) == 2
    rows = _read(out)
    assert rows[0] == EXPORT_COLUMNS == ["channel", "source_ref", "person_id", "status", "measure", "rule",
                                         "received_at", "known_at", "managed_at", "controlled_at", "id_number",
                                         "phone", "unit_code", "headcount"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert (first["channel"], first["source_ref"], first["status"], first["unit_code"]) == ("bigdata", "S1", "known", "G1")
    assert first["id_number"] == ID_A[:6] + "********" + ID_A[-4:] and first["phone"] == "138****5678"
    assert first["received_at"] == "2022-04-18T09:00:00+08:00" and first["rule"] == "categories.other"
    assert first["headcount"] == ""  # not verified yet
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "intake.leads_exported")).scalars().all()[-1]
    assert (ev.detail["rows"], ev.detail["unmasked"]) == (2, False)


def test_export_has_the_verified_headcount(session, tree, tmp_path):
    """四个查清 人数: the headcount the grid recorded is a column of the export."""
    lead_id = session.execute(select(Lead.id).where(Lead.source_ref == "S1")).scalar_one()
    with clock.frozen(NOW):
        record_verification(session, actor_at(tree.grid1), lead_id=lead_id, outcome_code="found_home",
                            four_checks={"headcount": 5, "identity": True})
    out = tmp_path / "leads.csv"
    export_leads(session, actor_at(tree.root), out=out)
    header, *rows = _read(out)
    by_ref = {r[header.index("source_ref")]: r[header.index("headcount")] for r in rows}
    assert by_ref == {"S1": "5", "": ""}


def test_export_unmasked_needs_permission_and_is_audited(session, tree, tmp_path):
    out = tmp_path / "leads.xlsx"
    with pytest.raises(PermissionDenied):
        export_leads(session, actor_at(tree.root, permissions=INTAKE_PERMISSIONS - {"person.unmask"}), out=out,
                     unmasked=True)
    assert export_leads(session, actor_at(tree.root), out=out, unmasked=True) == 2
    from python_calamine import CalamineWorkbook

    data = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert data[1][10] == ID_A and data[1][11] == "13812345678"
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "intake.leads_exported")).scalars().all()[-1]
    assert ev.detail["unmasked"] is True and ID_A not in str(ev.detail)


def test_export_is_scoped(session, tree, tmp_path):
    out = tmp_path / "g2.csv"
    assert export_leads(session, actor_at(tree.grid2), out=out) == 0
    assert export_leads(session, actor_at(tree.grid1), out=tmp_path / "g1.csv") == 1
    with pytest.raises(ValidationFailed):
        export_leads(session, actor_at(tree.root), out=tmp_path / "x.pdf")
