"""`fangkong` — the command line (Typer + Rich). Sub-commands live with their modules."""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from fangkong.kernel import cli_i18n, cli_support
from fangkong.kernel.cli_support import (
    EXIT_USAGE,
    CliError,
    describe_error,
    err_console,
    export_app,
    import_app,
    jobs_app,
    report_app,
)
from fangkong.kernel.errors import DomainError
from fangkong.kernel.i18n import _
from fangkong.kernel.messages import Message, reason_of

cli_i18n.localise()  # Typer's own words ("Usage:", "Options", "Missing option") from our catalog

#: every module that adds commands to `app` or to the shared groups when imported (kernel first), with
#: the labels of their codes (for messages in the reader's language)
KERNEL_COMMAND_MODULES = [f"fangkong.kernel.{m}.cli" for m in (
    "jurisdictions", "people", "places", "auth", "audit", "tasks", "policy", "backup", "keys", "retention")]
COMMAND_MODULES = [
    *KERNEL_COMMAND_MODULES,
    "fangkong.kernel.commands",
    "fangkong.kernel.bench",
    "fangkong.kernel.idempotency",  # its purge job
    "fangkong.kernel.messaging.service",  # the outbox's delivery job
    "fangkong.kernel.web.docs_cli",
]

#: what a top-level command needs imported: every module (`ALL`), or its own modules
ALL: tuple[str, ...] = ()


def _own(capability: str) -> tuple[str, ...]:
    return (f"fangkong.{capability}.cli", f"fangkong.{capability}.labels")


#: Every top-level command in the order `fangkong --help` lists them (Typer's: commands, then groups):
#: the modules that define it and its help (the msgid its module gives it). `fangkong --help` reads this
#: table instead of importing every capability (2 s), and a command imports only its own modules. `ALL`:
#: the shared groups every module adds to, and commands that read what every module registers (jobs,
#: task and retention kinds, benchmarks, a demo city). `tests/kernel/test_cli_lazy.py` holds the table to
#: what the modules register; a command missing here still runs (an unknown name loads every module).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "groups": (("fangkong.kernel.policy.cli",),
               "List the key groups of the active policy pack and their test frequency in days."),
    "backup": (("fangkong.kernel.backup.cli",),
               "Back up the database to a new directory under DIR; the key goes to a separate file, "
               "encrypted with a passphrase."),
    "restore": (("fangkong.kernel.backup.cli",),
                "Restore a backup directory into the configured (empty) database and install its key; then "
                "check rows and the audit chain against the backup."),
    "init": (("fangkong.kernel.commands",),
             "Create the data directory and key, migrate the database to head, seed roles and the default "
             "policy pack."),
    "serve": (("fangkong.kernel.commands",), "Serve the web platform and the API."),
    "bench": (ALL, "Run a benchmark: fangkong bench NAME [KEY=VALUE ...]; without NAME, list them."),
    "colocation": (_own("venues"),
                   "Co-location: everyone at the subject's venues at the same time (overlapping stays)."),
    "demo": (ALL, "Build a fictional demo city (jurisdictions, addresses, households, persons, places) in the "
                  "initialised database. Same seed and size, same city."),
    "indicators": (_own("command"),
                   "Indicators of a day by unit (指标): the frozen snapshot when the day has one, else computed "
                   "now; columns day,unit_code,unit_name,level,indicator,value,numerator,denominator,status."),
    "review": ((*_own("command"), "fangkong.command.cli_inspections"), "Case review (复盘): a case's events from every source and each stage against its "
                                                                      "target; --all for every case you see."),
    "import": (ALL, "Import data files (CSV or XLSX) with a per-row report."),
    "export": (ALL, "Export data to CSV or XLSX (audited)."),
    "jobs": (ALL, "Run scheduled jobs by name."),
    "report": (ALL, "Reports (daily clearance, reconciliation, compliance …)."),
    "units": (("fangkong.kernel.jurisdictions.cli",), "Jurisdiction units (city → grid)."),
    "address": (("fangkong.kernel.jurisdictions.cli",), "The address gazetteer."),
    "people": (("fangkong.kernel.people.cli",), "Person registry: check ID numbers, register and find persons."),
    "places": (("fangkong.kernel.places.cli",),
               "Places: employers, venues, checkpoints, sampling points, sentinels, quarantine sites."),
    "users": (("fangkong.kernel.auth.cli",), "User accounts: add, list, disable, demo accounts."),
    "token": (("fangkong.kernel.auth.cli",), "API tokens for machine clients (Authorization: Bearer)."),
    "audit": (("fangkong.kernel.audit.cli",), "Audit log: verify the hash chain, list events."),
    "tasks": (ALL, "Tasks: the closed-loop work items."),
    "policy": (("fangkong.kernel.policy.cli",), "Policy packs: the rules and numbers the platform applies."),
    "keys": (("fangkong.kernel.keys.cli",), "The field-encryption keys: status and rotation."),
    "retention": (ALL, "Retention per data kind: what is deleted or anonymised, and when."),
    "docs": (("fangkong.kernel.web.docs_cli",), "Documents generated from the code."),
    "control": (_own("control"), "Control measures: release and stepdown by rule."),
    "leads": (_own("intake"), "Key-person leads."),
    "testing": (_own("testing"), "Testing of key groups: headcounts, sampling points, coverage, compliance."),
    "venues": (_own("venues"), "Venue codes, scans and coverage."),
    "cases": (_own("tracing"), "Cases, contacts and transmission chains."),
    "checkpoints": (_own("checkpoints"), "Checkpoints, trucks' trips and stranded vehicles."),
    "epass": ((*_own("checkpoints"), "fangkong.checkpoints.epass.cli"), "Truck e-passes: issue, revoke, verify, keys."),
    "zones": (_own("zones"), "Risk zones inside the city: draw, list, lift by the data."),
    "rounds": (_own("zones"), "Area-wide testing rounds: start, coverage, names still to sample."),
    "surveillance": (_own("surveillance"), "Sentinel surveillance and early warning: detection algorithms, R_t."),
    "drill": (_own("drill"), "Drills: a simulated outbreak in the synthetic city, scored against a "
                             "no-response baseline."),
    "orders": (_own("command"), "Orders (指令): issue, acknowledge, complete, relay, show."),
    "inspections": ((*_own("command"), "fangkong.command.cli_inspections"), "Inspections (督查): record a finding."),
    "rectifications": ((*_own("command"), "fangkong.command.cli_inspections"), "Rectification (整改): close with evidence, verify."),
    "exposure": ((*_own("command"), "fangkong.command.cli_inspections"), "Exposure (曝光): publish or take down a finding at a venue."),
}

_everything_loaded = False


class LazyGroup(TyperGroup):
    """The root command group: lists every command from `COMMANDS` without importing it, and imports a
    command's modules when it is run or its help is asked for."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *self.commands]))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if self._listing and entry is not None and not _loaded(entry[0]):
            return TyperCommand(name=cmd_name, help=_(entry[1]))  # the help line, its module untouched
        if (_load_modules(entry[0]) if entry is not None else _load_commands()) or cmd_name not in self.commands:
            self.commands.update(typer.main.get_command(app).commands)  # pyright: ignore[reportAttributeAccessIssue]
        return self.commands.get(cmd_name)


app = typer.Typer(
    cls=LazyGroup,
    help=_("Fangkong: outbreak prevention and control command platform."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(jobs_app, name="jobs")
app.add_typer(report_app, name="report")

_debug = False


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help=_("Show tracebacks on errors."))) -> None:
    global _debug
    _debug = debug


def _help_in_the_readers_language() -> None:
    """Typer's own help panels (Arguments, Options, Commands, [required] …) through our catalog; Typer
    reads these module values when it draws the help."""
    from typer import rich_utils

    for name, text in {"ARGUMENTS_PANEL_TITLE": _("Arguments"), "OPTIONS_PANEL_TITLE": _("Options"),
                       "COMMANDS_PANEL_TITLE": _("Commands"), "ERRORS_PANEL_TITLE": _("Error"),
                       "ABORTED_TEXT": _("Aborted."), "REQUIRED_LONG_STRING": _("[required]"),
                       "DEFAULT_STRING": _("[default: {}]")}.items():
        setattr(rich_utils, name, text)


def _import_optional(name: str) -> bool:
    """Import a module that may not exist (a capability without labels); True when it is there."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return False
    return True


def _loaded(modules: tuple[str, ...]) -> bool:
    return _everything_loaded if modules == ALL else all(m in sys.modules for m in modules)


def _load_modules(modules: tuple[str, ...]) -> bool:
    """Import what a command needs (`ALL`: every module); True when something new was imported."""
    if _loaded(modules):
        return False
    if modules == ALL:
        return _load_commands()
    for name in modules:
        _import_optional(name)
    return True


def _load_labels() -> None:
    """The labels of every module's codes and fields (for an error or a table in the reader's language)."""
    from fangkong.registry import CAPABILITIES

    for name in ["fangkong.kernel.labels"] + [f"fangkong.{c}.labels" for c in CAPABILITIES]:
        _import_optional(name)


def _load_commands() -> bool:
    """Import every module's commands and labels (what `fangkong --help` of a shared group, the job
    runner and the tests walk); True when something new was imported."""
    global _everything_loaded
    if _everything_loaded:
        return False
    from fangkong.registry import CAPABILITIES

    for name in COMMAND_MODULES + [f"fangkong.{c}.cli" for c in CAPABILITIES]:
        _import_optional(name)
    _load_labels()
    _everything_loaded = True
    return True


cli_support.before_words.append(_load_labels)


def main() -> None:
    _help_in_the_readers_language()
    try:
        # without standalone mode Click returns a `typer.Exit(code)`'s code instead of exiting with it
        code = app(standalone_mode=False)
    except CliError as exc:
        err_console.print(f"[red]{_('Error')}:[/red] {escape(describe_error(exc))}")
        sys.exit(exc.code)
    except DomainError as exc:
        err_console.print(f"[red]{_('Error')}:[/red] {escape(describe_error(exc))}")
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print(_("Aborted."))
        sys.exit(1)
    except SystemExit:
        raise
    except Exception as exc:
        if isinstance(exc, cli_i18n.usage_error_types()):
            # a missing or malformed option or argument: the usage line and the error, exit 2
            cli_i18n.show_usage_error(exc, err_console)
            sys.exit(EXIT_USAGE)
        if hasattr(exc, "exit_code") and hasattr(exc, "show"):  # any other Click exception
            exc.show()
            sys.exit(exc.exit_code)
        if "--debug" in sys.argv:
            traceback.print_exc()
        else:
            said = reason_of(exc)
            # an error raised with a Message says what to do; anything else is a bug: name its type
            text = describe_error(exc) if isinstance(said, Message) else f"{type(exc).__name__}: {exc}"
            err_console.print(f"[red]{_('Error')}:[/red] {escape(text)}")
            err_console.print(_("Run again with --debug to see the traceback."))
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    # `python -m fangkong.cli`: run the canonical module, where the commands register themselves
    from fangkong.cli import main as _main

    _main()
