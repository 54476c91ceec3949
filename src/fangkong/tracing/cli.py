"""Case commands (病例): `fangkong cases list`, `fangkong cases show ID`. They act as the system (an
operator on the server)."""

from __future__ import annotations

import json

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import cli_session, print_rows
from fangkong.kernel.i18n import _
from fangkong.tracing import jobs as _jobs  # noqa: F401  (registers tracing.secondary_release)

cases_app = typer.Typer(help=_("Cases, contacts and transmission chains."), no_args_is_help=True)
app.add_typer(cases_app, name="cases")


def _system():  # type: ignore[no-untyped-def]
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    return SYSTEM_ACTOR


@cases_app.command("list", help=_("List cases, newest first."))
def list_cmd(
    status: str = typer.Option(None, "--status", help=_("Only cases with this status (open, core_done, reported).")),
    limit: int = typer.Option(100, "--limit", help=_("At most this many rows.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.kernel import clock
    from fangkong.tracing import service

    with cli_session() as session:
        rows = service.list_cases(session, _system(), status=status, limit=limit)
        out = [[c.id, c.person_id, p.name or "", c.classification, c.detection_channel, c.status,
                clock.iso_local(c.sampled_at), clock.iso_local(c.report_due_at)] for c, p in rows]
    print_rows(["id", "person_id", "name", "classification", "detection_channel", "status", "sampled_at",
                "report_due_at"], out, as_json=as_json)


@cases_app.command("show", help=_("Show a case with its contacts, their leads and the chain."))
def show_cmd(
    case_id: int = typer.Argument(..., help=_("Case id.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.tracing import service
    from fangkong.tracing.routes import case_detail

    with cli_session() as session:
        detail = case_detail(session, _system(), case_id).model_dump()
        chain = service.case_chain(session, _system(), case_id)
    if as_json:
        typer.echo(json.dumps({**detail, "chain": chain}, ensure_ascii=False))
        return
    for key in ("id", "name", "phone_masked", "classification", "detection_channel", "source", "status",
                "onset_at", "sampled_at", "result_at", "created_at", "core_due_at", "core_done_at",
                "report_due_at", "report_done_at", "window_start", "window_end", "sources", "infected", "cluster"):
        typer.echo(f"{key}\t{'' if detail[key] is None else detail[key]}")
    print_rows(["contact_id", "person_id", "name", "tier", "kind", "category", "lead_id", "lead_status", "measure",
                "controlled_at"],
               [[c["id"], c["person_id"], c["name"], c["tier"], c["kind"], c["category"], c["lead_id"],
                 c["lead_status"], c["measure"], c["controlled_at"]] for c in detail["contacts"]],
               title=_("Contacts"))
