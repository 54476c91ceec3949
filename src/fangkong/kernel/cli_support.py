"""Shared command-line plumbing: the `import`/`export`/`jobs` groups every module adds to, output in
the agreed shapes (Rich table on a terminal, TSV otherwise, JSON with --json), progress bars, and
errors without tracebacks (decisions.md, "Command line")."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fangkong.kernel.i18n import _

EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE = 0, 1, 2

err_console = Console(stderr=True)
out_console = Console()

import_app = typer.Typer(help=_("Import data files (CSV or XLSX) with a per-row report."), no_args_is_help=True)
export_app = typer.Typer(help=_("Export data to CSV or XLSX (audited)."), no_args_is_help=True)
report_app = typer.Typer(help=_("Reports (daily clearance, reconciliation, compliance …)."), no_args_is_help=True)
jobs_app = typer.Typer(help=_("Run scheduled jobs by name."), no_args_is_help=True)

#: called before an error or a table is put in words: the command line loads only the command's own
#: modules, and adds here the loading of every module's labels (codes and field names)
before_words: list[Callable[[], None]] = []

#: job name → callable(session, **kwargs)
JOBS: dict[str, Callable[..., Any]] = {}
#: job name → crontab expression in the platform's time zone (`kernel.scheduler`; default every 15 min)
SCHEDULES: dict[str, str] = {}
#: job name → what it does, in words (an English msgid; pages and `jobs list` show it translated)
JOB_LABELS: dict[str, str] = {}


def job(name: str, *, schedule: str | None = None, label: str | None = None
        ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a named job: `fangkong jobs run NAME` calls it in its own unit of work, and
    `fangkong serve` runs it on `schedule` (crontab, local time) without parameters. `label` says what
    it does for people (the jobs page)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = fn
        if schedule:
            SCHEDULES[name] = schedule
        if label:
            JOB_LABELS[name] = label
        return fn

    return deco


class CliError(Exception):
    """A clear error for the user; exits with `code` (1 unusable input, 2 usage)."""

    def __init__(self, message: str, code: int = EXIT_UNUSABLE) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_UNUSABLE) -> None:
    raise CliError(message, code)


def print_rows(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, as_json: bool = False,
               title: str | None = None) -> None:
    """A Rich table on a terminal, a header line and TSV rows when piped, or JSON objects.

    The table is for people: column names as field labels, messages (issues …) in the command line's
    language. TSV and JSON are for scripts: column names and text exactly as given (English)."""
    rows = [["" if v is None else v for v in r] for r in rows]
    if as_json:
        typer.echo(json.dumps([dict(zip(headers, r, strict=False)) for r in rows], ensure_ascii=False, default=str))
    elif sys.stdout.isatty():
        import fangkong.kernel.labels  # noqa: F401  (field labels)
        for load in before_words:
            load()
        from fangkong.kernel.i18n import cli_locale
        from fangkong.kernel.messages import FieldIssue, Message, field_label, translate

        locale = cli_locale()
        table = Table(title=title)
        for h in headers:
            table.add_column(field_label(h, locale))
        for r in rows:
            table.add_row(*[translate(v, locale) if isinstance(v, Message | FieldIssue) else str(v) for v in r])
        out_console.print(table)
    else:
        typer.echo("\t".join(headers))
        for r in rows:
            typer.echo("\t".join(str(v).replace("\t", " ").replace("\n", " ") for v in r))


def print_created(message: str, ids: dict[str, Any], *, as_json: bool = False) -> None:
    """What a creating command prints: a sentence, or a JSON object with the new ids."""
    if as_json:
        typer.echo(json.dumps(ids, ensure_ascii=False, default=str))
    else:
        typer.echo(message)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (stderr); silent when not a terminal. Yields `advance(n)`."""
    if not sys.stderr.isatty():
        yield lambda n=1: None
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def describe_error(exc: Any) -> str:
    """An error in the command line's language: a domain error with its fields, any other exception by
    the Message it was raised with (message ids are English)."""
    import fangkong.kernel.labels  # noqa: F401  (field and code labels)
    from fangkong.kernel.i18n import cli_locale
    from fangkong.kernel.messages import field_label, reason_of, translate

    for load in before_words:
        load()
    locale = cli_locale()
    if isinstance(exc, BaseException):
        from fangkong.kernel import cli_i18n

        if isinstance(exc, cli_i18n.usage_error_types()):  # Click's own, inside Typer: one wording
            return translate(cli_i18n.usage_error(exc), locale)
    if not hasattr(exc, "fields"):
        return translate(reason_of(exc), locale)
    text = translate(exc.message, locale)
    if exc.fields:
        colon = "：" if locale != "en" else ": "
        sep = "；" if locale != "en" else "; "
        text += (" (" + sep.join(f"{field_label(f.field, locale)}{colon}{translate(f.message, locale)}"
                                 for f in exc.fields) + ")")
    return text


@contextmanager
def cli_session() -> Iterator[Any]:
    """The unit of work of one command: the stored mode loaded into the clock, committed at the end;
    a domain error becomes a clean error line and exit 1 (nothing stored)."""
    from fangkong.kernel.bootstrap import ModeMismatch, load_mode
    from fangkong.kernel.db import unit_of_work
    from fangkong.kernel.errors import DomainError

    try:
        with unit_of_work() as session:
            load_mode(session)
            yield session
    except (DomainError, ModeMismatch) as exc:
        fail(describe_error(exc), EXIT_UNUSABLE)


# --- exports (`fangkong export KIND --out F.csv|F.xlsx [--headers en|zh]`) ------------------------------

HEADERS_HELP = _("Columns: en = stable English names and codes, ISO times (the default for CSV); zh = for "
                 "people, Chinese headers with names and labels beside codes (the default for XLSX).")


def check_export_args(out: Any, headers: str | None) -> None:
    """Usage errors (exit 2) of an export command: the file's suffix and the layout."""
    from pathlib import Path

    if Path(out).suffix.lower() not in (".csv", ".xlsx"):
        fail(_("--out must end in .csv or .xlsx"), EXIT_USAGE)
    if headers not in (None, "en", "zh"):
        fail(_("--headers must be en or zh"), EXIT_USAGE)


def run_export(kind: str, out: Any, *, headers: str | None = None, params: dict[str, str] | None = None,
               unmasked: bool = False) -> int:
    """The body of a `fangkong export KIND` command: the kind's filters from `params` (as on its page),
    one unit of work, the audited write. Returns the rows written."""
    from fangkong.kernel import export
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR

    check_export_args(out, headers)
    with cli_session() as session:
        k = export.get_kind(kind)
        filters = k.parse_filters(session, SYSTEM_ACTOR, params or {})
        try:
            return export.write(session, SYSTEM_ACTOR, k, out=out, filters=filters, unmasked=unmasked,
                                headers=headers)
        except OSError as exc:
            fail(f"{out}: {exc.strerror}", EXIT_UNUSABLE)
            raise
