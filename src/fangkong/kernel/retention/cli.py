"""`fangkong retention status|run` and the nightly job `retention.run`."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.orm import Session

from fangkong.cli import app
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import cli_session, job, print_rows
from fangkong.kernel.i18n import _
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.kernel.retention import service

retention_app = typer.Typer(help=_("Retention per data kind: what is deleted or anonymised, and when."),
                            no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("status", help=_("Each data kind, its action, the days the policy pack keeps it and "
                                        "the cut-off now."))
def status_cmd(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    with cli_session() as session:
        rows = [[code, service.KINDS[code].action, days, clock.iso_local(cutoff) if cutoff else ""]
                for code, (days, cutoff) in service.cutoffs(session).items()]
    print_rows(["kind", "action", "days", "cutoff"], rows, as_json=as_json, title=_("Retention"))


@retention_app.command("run", help=_("Delete or anonymise everything past its retention now (what the "
                                     "nightly job retention.run does); audited with the counts."))
def run_cmd(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    with cli_session() as session:
        result = service.run(session, SYSTEM_ACTOR).as_dict()
    rows = [[code, k["action"], k["count"], k["cutoff"] or ""] for code, k in result["kinds"].items()]
    print_rows(["kind", "action", "count", "cutoff"], rows, as_json=as_json, title=_("Retention"))


@job("retention.run", schedule="30 3 * * *",
     label=N_("Delete or anonymise data past its retention period"))
def retention_job(session: Session) -> dict[str, Any]:
    """Apply every registered kind's retention (scans, leads, persons, sessions, import files …)."""
    return service.run(session, SYSTEM_ACTOR).as_dict()
