"""Intake's files importable from the pages (线索导入、风险地区导入): run as jobs with a progress view
(`fangkong.kernel.imports`), through the same services as `fangkong import leads|risk-areas`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.imports.service import register_import
from fangkong.kernel.messages import _
from fangkong.kernel.tabular import ReportRow, read_table

LEADS = "intake.leads"
RISK_AREAS = "intake.risk_areas"
LEAD_KEYS = ["name", "id_number", "phone", "source_ref"]


def _check_leads(path: Path) -> None:
    from fangkong.intake.headers import LEAD_COLUMNS

    read_table(path, LEAD_COLUMNS, required_any=LEAD_KEYS)


def _run_leads(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None], channel: str,
               category: str | None = None) -> list[ReportRow]:
    from fangkong.intake.service.ingest import import_leads_file

    return import_leads_file(session, actor, path, channel=channel, category=category, progress=progress).rows


def _check_risk_areas(path: Path) -> None:
    from fangkong.intake.headers import RISK_AREA_COLUMNS, RISK_AREA_WHERE

    read_table(path, RISK_AREA_COLUMNS, required_any=RISK_AREA_WHERE)


def _run_risk_areas(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None],
                    **_options: Any) -> list[ReportRow]:
    from fangkong.intake import service
    from fangkong.intake.headers import RISK_AREA_COLUMNS, RISK_AREA_WHERE

    table = read_table(path, RISK_AREA_COLUMNS, required_any=RISK_AREA_WHERE)
    rows = table.report(service.import_risk_areas(session, actor, rows=list(table), filename=path.name))
    progress(len(rows))
    return rows


register_import(LEADS, label=_("Lead import report"), permission="lead.import", run=_run_leads,
                check=_check_leads, extra_columns=("lead_id",), record=("lead_id", "/leads/{}", _("Lead")),
                back=("/leads", _("Leads")))
register_import(RISK_AREAS, label=_("Risk area import report"), permission="risk_area.manage",
                run=_run_risk_areas, check=_check_risk_areas, extra_columns=("risk_area_id",),
                back=("/risk-areas", _("Risk areas")))
