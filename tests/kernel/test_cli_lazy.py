"""`fangkong --help` lists every command from `cli.COMMANDS` without importing the capabilities, and a
command imports only the modules the table names for it: the table must say what the modules register
(its order, its help lines, where each command lives)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import typer

from fangkong import cli
from fangkong.kernel.i18n import gettext


def test_the_table_lists_every_top_level_command_in_order_with_its_help() -> None:
    cli._load_commands()
    root = typer.main.get_command(cli.app)
    registered = {name: cmd.help for name, cmd in root.commands.items()}  # pyright: ignore[reportAttributeAccessIssue]
    # the same commands (their order here follows which modules this test process imported first, so
    # another test run before it in the same worker reorders them; `--help` lists the table's order)
    assert sorted(registered) == sorted(cli.COMMANDS), "add the command to cli.COMMANDS"
    # a help line is translated when its module is imported, in the language of that moment (a test run
    # before this one in the worker may have set LANG=en_US): the table's msgid in either language
    differ = {name: registered[name] for name, (_m, msgid) in cli.COMMANDS.items()
              if registered[name] not in {inspect.cleandoc(gettext(msgid, loc)) for loc in ("en", "zh_CN")}}
    assert not differ, f"help lines other than cli.COMMANDS says: {differ}"


# one process of its own: nothing of the command line is imported yet there
SCRIPT = """
import json, sys
from fangkong import cli
where = {}
add_typer, command = cli.app.add_typer, cli.app.command
def caller():
    return sys._getframe(2).f_globals["__name__"]
def recording_add_typer(typer_instance, *args, name=None, **kwargs):
    where[name] = caller()
    return add_typer(typer_instance, *args, name=name, **kwargs)
def recording_command(name=None, *args, **kwargs):
    where[name] = caller()
    return command(name, *args, **kwargs)
cli.app.add_typer, cli.app.command = recording_add_typer, recording_command

def run(*argv):
    sys.argv = ["fangkong", *argv]
    try:
        cli.main()
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    return sorted(m for m in sys.modules if m.endswith((".cli", ".labels")) and m.startswith("fangkong.") and m != "fangkong.cli")

out = {"help": run("--help"), "users": run("users", "--help"), "leads": run("leads", "--help")}
cli._load_commands()
out["where"] = where
print(json.dumps(out))
"""


def test_help_imports_no_command_module_and_a_command_only_its_own() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["help"] == []
    assert out["users"] == ["fangkong.kernel.auth.cli"]
    assert out["leads"] == ["fangkong.intake.cli", "fangkong.intake.labels", "fangkong.kernel.auth.cli"]
    for name, (modules, _help) in cli.COMMANDS.items():
        if modules != cli.ALL:  # the table names the module that registers the command
            assert out["where"][name] in modules, (name, out["where"][name])
