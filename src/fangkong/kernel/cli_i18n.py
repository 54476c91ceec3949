"""The command line's own words in the reader's language (命令行界面文字).

Typer (and the Click it vendors) prints "Usage:", "Options", "Show this message and exit.",
"[required]" and its usage errors ("Missing option '--role'.") in English, and has no catalog of its
own. `localise()` puts our catalog's words in their place — the panel titles and fixed strings Typer
keeps as module constants, the usage line's prefix, the help option's text — and `usage_error()`
words a usage error from the exception's parts (its class, the parameter, the option name) instead of
showing Click's sentence. Both follow `kernel.i18n.cli_locale()`: Chinese unless LANG asks for English.

Click builds a few messages as plain English sentences with nothing else to go on (extra arguments,
an unknown command); those three are recognised by their fixed beginning, here and nowhere else.
"""

from __future__ import annotations

import re
from typing import Any

from fangkong.kernel.i18n import gettext
from fangkong.kernel.messages import _, message

MISSING_OPTION = message("cli.missing_option", _("Missing option %(name)s."))
MISSING_ARGUMENT = message("cli.missing_argument", _("Missing argument %(name)s."))
NO_SUCH_OPTION = message("cli.no_such_option", _("No such option: %(name)s."))
NO_SUCH_OPTION_HINT = message("cli.no_such_option_hint", _("No such option: %(name)s (did you mean %(possible)s?)"))
OPTION_NEEDS_VALUE = message("cli.option_needs_value", _("Option %(name)s needs a value."))
OPTION_TAKES_NO_VALUE = message("cli.option_takes_no_value", _("Option %(name)s does not take a value."))
BAD_VALUE = message("cli.bad_value", _("Invalid value for %(name)s: %(reason)s"))
EXTRA_ARGUMENTS = message("cli.extra_arguments", _("Unexpected extra arguments: %(args)s."))
MISSING_COMMAND = message("cli.missing_command", _("Missing command."))
NO_SUCH_COMMAND = message("cli.no_such_command", _("No such command %(name)s."))
NO_SUCH_COMMAND_HINT = message("cli.no_such_command_hint", _("No such command %(name)s (did you mean %(possible)s?)"))
TRY_HELP = message("cli.try_help", _("Try '%(command)s --help' for help."))

#: why a value was refused, by the pydantic error type Typer's conversion raised
REASONS = {
    "int_parsing": message("cli.reason.int", _("not a whole number")),
    "int_from_float": message("cli.reason.int", _("not a whole number")),
    "float_parsing": message("cli.reason.float", _("not a number")),
    "bool_parsing": message("cli.reason.bool", _("not yes or no (true/false)")),
    "greater_than_equal": message("cli.reason.ge", _("must be at least %(ge)s")),
    "greater_than": message("cli.reason.gt", _("must be more than %(gt)s")),
    "less_than_equal": message("cli.reason.le", _("must be at most %(le)s")),
    "less_than": message("cli.reason.lt", _("must be less than %(lt)s")),
    "date_from_datetime_parsing": message("cli.reason.date", _("not a date like 2022-04-18")),
    "date_parsing": message("cli.reason.date", _("not a date like 2022-04-18")),
}

#: Typer's fixed strings (its English msgids) → ours; the keys stay as Typer spells them
TYPER_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": _("Arguments"),
    "OPTIONS_PANEL_TITLE": _("Options"),
    "COMMANDS_PANEL_TITLE": _("Commands"),
    "ERRORS_PANEL_TITLE": _("Error"),
    "REQUIRED_LONG_STRING": _("[required]"),
    "DEFAULT_STRING": _("[default: {}]"),
    "ENVVAR_STRING": _("[env var: {}]"),
    "DEPRECATED_STRING": _("(deprecated) "),
    "ABORTED_TEXT": _("Aborted."),
}
USAGE_PREFIX = _("Usage: ")
HELP_OPTION = _("Show this message and exit.")

_localised = False


def _click_modules() -> tuple[Any, Any, Any]:
    """(core, formatting, exceptions) of the Click that Typer uses: its own vendored copy since
    Typer 0.22, the `click` package before."""
    try:
        from typer._click import core, exceptions, formatting
    except ImportError:  # pragma: no cover - older Typer
        from click import core, exceptions, formatting  # type: ignore[no-redef]
    return core, formatting, exceptions


def localise() -> None:
    """Put our words into Typer's help screens and messages (once per process; the words follow the
    command line's locale when each screen is drawn)."""
    global _localised
    if _localised:
        return
    _localised = True
    from typer import rich_utils

    click_core, click_formatting, _exceptions = _click_modules()
    for name, text in TYPER_TEXTS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, gettext(text))

    write_usage = click_formatting.HelpFormatter.write_usage

    def localised_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, gettext(USAGE_PREFIX) if prefix is None else prefix)

    click_formatting.HelpFormatter.write_usage = localised_usage

    get_help_option = click_core.Command.get_help_option

    def localised_help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = gettext(HELP_OPTION)
        return option

    click_core.Command.get_help_option = localised_help_option
    # the usage line is highlighted by its English prefix: teach the highlighter ours too
    highlights = getattr(getattr(rich_utils, "highlighter", None), "highlights", None)
    if isinstance(highlights, list):
        highlights.append(rf"(?P<usage>{re.escape(gettext(USAGE_PREFIX))})")


def usage_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes a usage error can have (Typer's vendored Click, and `click` if installed)."""
    types: list[type[BaseException]] = [_click_modules()[2].UsageError]
    try:
        import click

        types.append(click.exceptions.UsageError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(dict.fromkeys(types))


def _reason(exc: BaseException) -> Any:
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
        except Exception:  # not pydantic's: keep Click's words
            first = None
        if first and first.get("type") in REASONS:
            return REASONS[first["type"]](**{k: v for k, v in (first.get("ctx") or {}).items()
                                             if isinstance(v, int | float | str)})
    return getattr(exc, "message", str(exc))


def usage_error(exc: Any) -> str:
    """The message of a Click usage error, in our words (a `Message`: English text, translatable)."""
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    hint = None
    if param is not None:
        try:
            hint = param.get_error_hint(exc.ctx) if _takes_ctx(param) else param.get_error_hint()
        except Exception:
            hint = None
    hint = hint or _joined_hint(getattr(exc, "param_hint", None))
    if kind == "MissingParameter":
        param_type = getattr(exc, "param_type", None) or getattr(param, "param_type_name", "option")
        return (MISSING_ARGUMENT if param_type == "argument" else MISSING_OPTION)(name=hint or "?")
    if kind == "NoSuchOption":
        possible = ", ".join(sorted(exc.possibilities or []))
        return NO_SUCH_OPTION_HINT(name=exc.option_name, possible=possible) if possible \
            else NO_SUCH_OPTION(name=exc.option_name)
    if kind == "BadOptionUsage":
        text = str(getattr(exc, "message", ""))
        return (OPTION_TAKES_NO_VALUE if "does not take" in text else OPTION_NEEDS_VALUE)(name=repr(exc.option_name))
    if kind == "BadParameter" or (hint and hasattr(exc, "param")):
        return BAD_VALUE(name=hint or "?", reason=_reason(exc))
    text = str(getattr(exc, "message", exc))
    if text.startswith("Got unexpected extra argument"):
        extra = re.search(r"\(([^()]*)\)$", text)
        return EXTRA_ARGUMENTS(args=extra.group(1) if extra else text)
    if text in ("Missing command.", gettext("Missing command.")):
        return MISSING_COMMAND()
    m = re.match(r"No such command ('[^']*')\.?(?: Did you mean (.+)\?)?$", text)
    if m is not None:
        return NO_SUCH_COMMAND_HINT(name=m.group(1), possible=m.group(2)) if m.group(2) \
            else NO_SUCH_COMMAND(name=m.group(1))
    return text


def _takes_ctx(param: Any) -> bool:
    import inspect

    try:
        return len(inspect.signature(param.get_error_hint).parameters) >= 1
    except (TypeError, ValueError):
        return False


def _joined_hint(param_hint: Any) -> str | None:
    if param_hint is None:
        return None
    if isinstance(param_hint, str):
        return param_hint
    return " / ".join(repr(x) for x in param_hint)


def show_usage_error(exc: Any, console: Any) -> None:
    """Print a usage error as Click would — the usage line, where to get help, the error — in our words."""
    from rich.markup import escape

    from fangkong.kernel.i18n import cli_locale
    from fangkong.kernel.messages import translate

    locale = cli_locale()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        try:
            console.print(escape(ctx.get_usage()), highlight=False, soft_wrap=True)
            console.print(escape(translate(TRY_HELP(command=ctx.command_path), locale)), highlight=False)
            console.print()
        except Exception:  # a context without a command: the error alone
            pass
    console.print(f"[red]{escape(gettext('Error'))}[/red]{escape(_colon(locale))}"
                  f"{escape(translate(usage_error(exc), locale))}", highlight=False, soft_wrap=True)


def _colon(locale: str) -> str:
    return "：" if locale == "zh_CN" else ": "
