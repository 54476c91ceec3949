"""`fangkong jobs list|run` and `fangkong tasks list` (任务与定时作业)."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import typing
from pathlib import Path
from typing import Any

import typer

from fangkong.cli import app
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    HEADERS_HELP,
    JOBS,
    cli_session,
    describe_error,
    export_app,
    fail,
    jobs_app,
    print_rows,
    run_export,
)
from fangkong.kernel.errors import DomainError
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.messages import field_label
from fangkong.kernel.tasks import jobs as _jobs  # noqa: F401  (registers tasks.escalate)
from fangkong.kernel.tasks import kinds

tasks_app = typer.Typer(help=_("Tasks: the closed-loop work items."), no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")


def _convert(value: str, annotation: Any) -> Any:
    """A `--param` value typed by the job's annotation (date, datetime, int, float, bool, str)."""
    options = typing.get_args(annotation) or (annotation,)
    if dt.datetime in options:
        return clock.parse_fixed(value.replace(" ", "T", 1))
    if dt.date in options:
        return dt.date.fromisoformat(value)
    if int in options:
        return int(value)
    if float in options:
        return float(value)
    if bool in options:
        return value.strip().lower() in ("1", "true", "yes", "y")
    return value


def job_kwargs(fn: Any, params: list[str]) -> dict[str, Any]:
    """`key=value` strings → keyword arguments the job accepts, typed by its annotations."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an annotation that cannot be resolved: pass strings
        hints = {}
    accepted = inspect.signature(fn).parameters
    out: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            fail(_("--param expects KEY=VALUE, got {item}").format(item=item), EXIT_USAGE)
        if key not in accepted or key == "session":
            fail(_("job does not take the parameter {key}").format(key=key), EXIT_USAGE)
        try:
            out[key] = _convert(value.strip(), hints.get(key, str))
        except ValueError as exc:
            fail(f"{key}: {exc}", EXIT_USAGE)
    return out


@jobs_app.command("list", help=_("List the registered jobs."))
def jobs_list(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    """List the registered jobs."""
    from fangkong.kernel.cli_support import JOB_LABELS
    from fangkong.kernel.messages import Message

    def said(name: str, fn: Any) -> str:
        doc = (inspect.getdoc(fn) or "").splitlines()[0] if inspect.getdoc(fn) else ""
        # piped: the docstring's first line, as before; on a terminal: what the job does, in words
        return Message.worded(f"job.{name}", JOB_LABELS[name], {}, doc) if name in JOB_LABELS else doc

    rows = [(name, said(name, fn)) for name, fn in sorted(JOBS.items())]
    print_rows(["name", "description"], rows, as_json=as_json)


@jobs_app.command("run", help=_("Run a job now, as the system, in one unit of work, and print its result."))
def jobs_run(
    name: str = typer.Argument(..., help=_("Job name, as `fangkong jobs list` shows it.")),
    param: list[str] = typer.Option([], "--param", "-p", help=_("A job parameter KEY=VALUE (repeatable).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Run a job now, as the system, in one unit of work, and print its result."""

    fn = JOBS.get(name)
    if fn is None:
        fail(_("unknown job {name}; see `fangkong jobs list`").format(name=name), EXIT_USAGE)
    kwargs = job_kwargs(fn, param)
    try:
        with cli_session() as session:
            result = fn(session, **kwargs)
    except DomainError as exc:
        fail(describe_error(exc))
    if as_json:
        typer.echo(json.dumps({"job": name, "result": result}, ensure_ascii=False, default=str))
    elif isinstance(result, dict):
        for key, value in result.items():
            typer.echo(f"{field_label(key, cli_locale())}: {value}")
    else:
        typer.echo(_("{name}: done").format(name=name) if result is None else f"{name}: {result}")


@tasks_app.command("list", help=_("List tasks, soonest due first."))
def tasks_list(
    status: str = typer.Option("open", help=_("open, done, cancelled or all.")),
    unit: str = typer.Option(None, "--unit", help=_("Only tasks in this unit's subtree (unit code).")),
    kind: str = typer.Option(None, "--kind", help=_("Only tasks of this kind.")),
    overdue: bool = typer.Option(False, "--overdue", help=_("Only open tasks past due.")),
    limit: int = typer.Option(100, help=_("At most this many rows.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """List tasks, soonest due first."""
    from sqlalchemy import select

    from fangkong.kernel.jurisdictions.models import Unit
    from fangkong.kernel.tasks import service as tasks_service

    with cli_session() as session:
        unit_id = None
        if unit:
            unit_id = session.execute(select(Unit.id).where(Unit.code == unit)).scalar_one_or_none()
            if unit_id is None:
                fail(_("unknown unit {code}").format(code=unit))
        try:
            tasks = tasks_service.inbox(session, SYSTEM_ACTOR, status=None if status == "all" else status,
                                        unit_id=unit_id, kind=kind, overdue_only=overdue, limit=limit)
        except DomainError as exc:
            fail(describe_error(exc), EXIT_USAGE)
        wanted = {t.unit_id for t in tasks} | {t.escalated_unit_id for t in tasks if t.escalated_unit_id}
        units = dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(wanted))).all()) if wanted else {}
        rows = []
        for t in tasks:
            try:
                label = kinds.kind(t.kind).label()
            except KeyError:
                label = t.kind
            rows.append([t.id, t.kind if as_json else label, t.title, units.get(t.unit_id, t.unit_id), t.status,
                         clock.iso_local(t.due_at), t.escalation_level,
                         units.get(t.escalated_unit_id, "") if t.escalated_unit_id else "",
                         t.assignee_id, t.outcome_code])
    print_rows(["id", "kind", "title", "unit", "status", "due_at", "escalation_level", "escalated_to",
                "assignee_id", "outcome_code"], rows, as_json=as_json)


@export_app.command("tasks", help=_("Export the task list of a tab (open, overdue, done) as CSV or XLSX."))
def export_tasks_cmd(
    out: Path = typer.Option(..., "--out", help=_("Output file, .csv or .xlsx.")),
    tab: str = typer.Option("open", "--tab", help=_("open, overdue or done.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.kernel.tasks import exports as _kinds

    if tab not in _kinds.TABS:
        fail(_("--tab must be open, overdue or done"), EXIT_USAGE)
    n = run_export("tasks", out, headers=headers, params={"tab": tab})
    typer.echo(_("{n} rows written to {out}").format(n=n, out=out))
