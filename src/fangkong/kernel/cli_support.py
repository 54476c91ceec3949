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
from fangkong.kernel.messages import _ as N_
from fangkong.kernel.messages import message

EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE = 0, 1, 2

err_console = Console(stderr=True)
out_console = Console()

import_app = typer.Typer(help=_("Import data files (CSV or XLSX) with a per-row report."), no_args_is_help=True)
export_app = typer.Typer(help=_("Export data to CSV or XLSX (audited)."), no_args_is_help=True)
report_app = typer.Typer(help=_("Reports (daily clearance, reconciliation, compliance …)."), no_args_is_help=True)
jobs_app = typer.Typer(help=_("Run scheduled jobs by name."), no_args_is_help=True)

#: job name → callable(session, **kwargs)
JOBS: dict[str, Callable[..., Any]] = {}
#: job name → crontab expression in the platform's time zone (`kernel.scheduler`; default every 15 min)
SCHEDULES: dict[str, str] = {}


def job(name: str, *, schedule: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a named job: `fangkong jobs run NAME` calls it in its own unit of work, and
    `fangkong serve` runs it on `schedule` (crontab, local time) without parameters."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = fn
        if schedule:
            SCHEDULES[name] = schedule
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


#: the command line's own usage errors (Click's, inside Typer), by their kind: people read these
_USAGE_KINDS = ("MissingParameter", "NoSuchOption", "BadOptionUsage", "BadArgumentUsage", "BadParameter",
                "NoArgsIsHelpError", "UsageError")


def is_usage_error(exc: BaseException) -> bool:
    """A usage error of the command line (a missing or unknown option, a bad value): exit 2."""
    return any(c.__name__ in _USAGE_KINDS and "click" in c.__module__ for c in type(exc).__mro__)


_MISSING = message("cli.missing_parameter", N_("missing %(param)s"))
_NO_OPTION = message("cli.no_such_option", N_("no such option: %(option)s"))
_BAD_VALUE = message("cli.bad_parameter", N_("invalid value for %(param)s"))
_USAGE = message("cli.usage", N_("the command is not complete or not right: see --help"))


def _usage_message(exc: Any) -> Any:
    """A usage error as a Message: Click's English sentence kept as the text, people read its kind."""
    from fangkong.kernel.messages import Message, Term

    missing, no_option, bad_value, other = _MISSING, _NO_OPTION, _BAD_VALUE, _USAGE
    param = getattr(exc, "param", None)
    hint = getattr(exc, "param_hint", None)
    if hint is None and param is not None:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
        hint = opts[0] if opts else str(getattr(param, "human_readable_name", None) or getattr(param, "name", ""))
    if isinstance(hint, list | tuple):
        hint = " / ".join(str(h) for h in hint)
    if hint and not str(hint).startswith("-"):
        hint = Term(str(hint), kind="field")  # an argument: by its field name
    names = {c.__name__ for c in type(exc).__mro__}
    said = str(getattr(exc, "message", "") or exc)
    if "MissingParameter" in names:
        return Message.worded(missing.code, missing.template, {"param": hint or ""}, said)
    if "NoSuchOption" in names:
        return Message.worded(no_option.code, no_option.template,
                              {"option": getattr(exc, "option_name", "")}, said)
    if "BadParameter" in names and hint:
        return Message.worded(bad_value.code, bad_value.template, {"param": hint}, said)
    return Message.worded(other.code, other.template, {}, said)


def describe_error(exc: Any) -> str:
    """An error in the command line's language: a domain error with its fields, any other exception by
    the Message it was raised with (message ids are English)."""
    import fangkong.kernel.labels  # noqa: F401  (field and code labels)
    from fangkong.kernel.i18n import cli_locale
    from fangkong.kernel.messages import field_label, reason_of, translate

    locale = cli_locale()
    if isinstance(exc, BaseException) and is_usage_error(exc):
        return translate(_usage_message(exc), locale)
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
    from fangkong.kernel.bootstrap import load_mode
    from fangkong.kernel.db import unit_of_work
    from fangkong.kernel.errors import DomainError

    try:
        with unit_of_work() as session:
            load_mode(session)
            yield session
    except DomainError as exc:
        fail(describe_error(exc), EXIT_UNUSABLE)
