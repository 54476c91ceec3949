"""`fangkong` — the command line (Typer + Rich). Sub-commands live with their modules."""

from __future__ import annotations

import importlib
import sys
import traceback

import typer
from rich.markup import escape

from fangkong.kernel import cli_i18n
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

app = typer.Typer(
    help=_("Fangkong: outbreak prevention and control command platform."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(jobs_app, name="jobs")
app.add_typer(report_app, name="report")

#: modules that add commands to `app` or to the shared groups when imported (kernel first)
COMMAND_MODULES = [
    "fangkong.kernel.commands",
    "fangkong.kernel.bench",
    "fangkong.kernel.idempotency",  # its purge job
    "fangkong.kernel.messaging.service",  # the outbox's delivery job
    "fangkong.kernel.web.docs_cli",
]

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


def _load_commands() -> None:
    from fangkong.registry import CAPABILITIES

    # each capability's commands, and the labels of its codes (for messages in the reader's language)
    modules = COMMAND_MODULES + ["fangkong.kernel.labels"] + [f"fangkong.{c}.{m}" for c in CAPABILITIES
                                                             for m in ("cli", "labels")]
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def main() -> None:
    _help_in_the_readers_language()
    _load_commands()
    try:
        app(standalone_mode=False)
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


if __name__ == "__main__":
    # `python -m fangkong.cli`: run the canonical module, where the commands register themselves
    from fangkong.cli import main as _main

    _main()
