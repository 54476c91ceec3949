"""Scheduled command-centre work: freezing each day's indicators after its cut-off (指标快照)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.cli_support import job
from fangkong.kernel.messages import _ as N_


@job("command.daily_snapshot", schedule="30 0 * * *",
     label=N_("Freeze a day's indicators after its cut-off"))
def daily_snapshot(session: Session, day: str | None = None, recompute: str | None = None,
                   reason: str | None = None) -> dict[str, Any]:
    """Freeze day `day` (default yesterday): every unit's indicators with numerator, denominator,
    status and pack version. Again for a frozen day does nothing, unless `recompute=1` (更正: a new
    version, audited; the old one is kept)."""
    from fangkong.command import service
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    when = dt.date.fromisoformat(day) if day else clock.today() - dt.timedelta(days=1)
    again = (recompute or "").strip().lower() in ("1", "true", "yes")
    return service.take_snapshot(session, SYSTEM_ACTOR, day=when, recompute=again, reason=reason)


@job("command.order_escalation", schedule="*/10 * * * *",
     label=N_("Escalate orders not acknowledged in time"))
def order_escalation(session: Session, at: str | None = None) -> dict[str, Any]:
    """Targets that did not acknowledge an order by its deadline become `escalated` (their parent unit
    gets a task to chase them); acknowledged ones past the due time become `overdue`."""
    from fangkong.command.service import orders
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return orders.escalate(session, SYSTEM_ACTOR, now=clock.parse_time(at) if at else None)


@job("command.rectification_escalation", schedule="*/30 * * * *",
     label=N_("Escalate rectifications past their due time"))
def rectification_escalation(session: Session, at: str | None = None) -> dict[str, Any]:
    """Rectifications still open past their due time become `overdue`; the unit's parent gets a task."""
    from fangkong.command.service import inspections
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return inspections.escalate(session, SYSTEM_ACTOR, now=clock.parse_time(at) if at else None)


@job("command.open_reviews", schedule="*/10 * * * *", label=N_("Open a review for every new case"))
def open_reviews(session: Session) -> dict[str, Any]:
    """Every case without a review gets one (病例复盘), however it was registered, with a task for its unit."""
    from fangkong.command.service import review
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return review.open_reviews(session, SYSTEM_ACTOR)


@job("command.daily_report", schedule="45 0 * * *", label=N_("Write the daily report after the snapshot"))
def daily_report(session: Session, day: str | None = None, formats: str = "xlsx,pdf") -> dict[str, Any]:
    """Write day `day`'s (default yesterday) city report (日报) from its snapshot, as XLSX and PDF, under
    the data directory (`reports/daily-D.xlsx|pdf`, 0600); runs after `command.daily_snapshot`."""
    from fangkong.command.service.report import write_report
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.files import private_dir
    from fangkong.settings import get_settings

    when = dt.date.fromisoformat(day) if day else clock.today() - dt.timedelta(days=1)
    folder = private_dir(get_settings().data_dir / "reports")
    written = []
    for fmt in [f.strip() for f in formats.split(",") if f.strip() in ("xlsx", "pdf")]:
        out = folder / f"daily-{when.isoformat()}.{fmt}"
        report = write_report(session, SYSTEM_ACTOR, day=when, unit_code=None, out=out)
        out.chmod(0o600)
        written.append({"file": str(out), "frozen": report.table.frozen, "version": report.table.version})
    return {"day": when.isoformat(), "written": written}
