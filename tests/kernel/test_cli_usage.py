"""The command line speaks Chinese unless LANG asks for English — Typer's own words included ("Usage:",
"Options", "Missing option") — and a usage error exits 2 (README, decisions.md "Command line").

The usage test is generated over the whole Typer app: every command with a required option is run
without it, every command with a required argument without its arguments."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from cli_runner import CliRun, run_cli

from fangkong import cli

CJK = re.compile(r"[\u4e00-\u9fff]")


def _env(**lang: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    env.update(lang)
    return env


def _run(*args: str, **lang: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fangkong", *args], env=_env(**lang), capture_output=True,
                          text=True, timeout=120)


def _commands() -> Iterator[tuple[list[str], Any]]:
    cli._load_commands()
    root = typer.main.get_command(cli.app)

    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    yield from walk(root, [])


def _cases() -> list[tuple[list[str], str]]:
    """(argv, what is missing) for every command with a required parameter."""
    cases = []
    for path, cmd in _commands():
        arguments = [p for p in cmd.params if p.required and p.param_type_name == "argument"]
        options = [p for p in cmd.params if p.required and p.param_type_name == "option"]
        for omitted in options:
            argv = list(path) + ["1"] * sum(max(1, p.nargs) for p in arguments)
            for p in options:
                if p is not omitted:
                    argv += [p.opts[0], "1"]
            cases.append((argv, f"缺少选项 '{omitted.opts[0]}'"))
        if arguments:
            argv = list(path)
            for p in options:
                argv += [p.opts[0], "1"]
            cases.append((argv, "缺少参数"))
    return cases


CASES = _cases()


def test_the_generated_cases_cover_the_commands() -> None:
    names = {" ".join(argv[:2]) for argv, _missing in CASES}
    assert {"users add", "import leads", "export leads", "leads verify", "venues flag"} <= names
    assert len(CASES) >= 30


@pytest.mark.parametrize(("argv", "missing"), CASES, ids=[" ".join(a) for a, _m in CASES])
def test_a_missing_required_parameter_is_a_usage_error(argv: list[str], missing: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setattr(sys, "argv", ["fangkong", *argv])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    err = " ".join(capsys.readouterr().err.split())
    assert exited.value.code == 2, err
    assert missing in err and "用法：" in err and "错误：" in err, err
    assert "Missing" not in err and "Usage" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [["venues", "rotate"], ["people", "find"],
                                  ["colocation", "--since", "2022-04-18", "--until", "2022-04-19"]])
def test_options_checked_by_hand_are_usage_errors_too(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Commands that need one of several options check it themselves: still exit 2, in Chinese."""
    monkeypatch.setenv("LANG", "C.UTF-8")
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "argv", ["fangkong", *argv])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and CJK.search(err) and "Traceback" not in err, err


def test_help_is_chinese_without_lang_and_under_c_utf8() -> None:
    """The entry point itself, `python -m fangkong`, in processes of their own: help texts are worded
    when a module is imported, in the locale the process starts with."""
    for lang in ({}, {"LANG": "C.UTF-8"}, {"LANG": "C", "LC_ALL": "C.UTF-8"}, {"LANG": "POSIX"}):
        top = _run("--help", **lang)
        assert top.returncode == 0, top.stderr
        assert "用法：" in top.stdout and "选项" in top.stdout and "命令" in top.stdout
        assert "显示此帮助并退出" in top.stdout and "启动网页平台" in top.stdout
        for english in ("Usage:", "Options", "Commands", "Show this message and exit", "Serve the web"):
            assert english not in top.stdout, (lang, english)
        sub = _run("users", "add", "--help", **lang)
        assert "参数" in sub.stdout and "[必填]" in sub.stdout and "Arguments" not in sub.stdout
    english = _run("users", "add", "--help", LANG="en_US.UTF-8")
    assert "Usage:" in english.stdout and "[required]" in english.stdout and "用法" not in english.stdout


def test_usage_errors_are_chinese_and_exit_2() -> None:
    """In-process (usage errors are worded when they happen, in the locale of the moment); the help test
    above runs the entry point itself."""

    def _run(*args: str, **lang: str) -> CliRun:
        return run_cli(*args, env=_env(**lang))

    zh = _run("users", "add", "someone", LANG="C.UTF-8")
    assert zh.returncode == 2 and "缺少选项 '--role'" in zh.stderr and "用法：" in zh.stderr
    assert _run("users", "add", "someone", "--rolex", "grid").stderr.count("没有此选项") == 1
    bad = _run("serve", "--port", "abc")
    assert bad.returncode == 2 and "'--port' 的值无效：须为整数" in bad.stderr
    unknown = _run("users", "ad")
    assert unknown.returncode == 2 and "没有此命令：'ad'" in unknown.stderr and "'add'" in unknown.stderr
    en = _run("users", "add", "someone", LANG="en_US.UTF-8")
    assert en.returncode == 2 and "Missing option '--role'." in en.stderr and "Usage:" in en.stderr


def test_every_command_and_option_has_chinese_help() -> None:
    """Each command's and option's help, read under LANG=C.UTF-8, is Chinese (a docstring or a help
    text outside the catalog shows in English)."""
    script = (
        "import json, re, typer\n"
        "from fangkong import cli\n"
        "cli._load_commands()\n"
        "cjk = re.compile(r'[\\u4e00-\\u9fff]')\n"
        "out = []\n"
        "def walk(cmd, path):\n"
        "    texts = [(' '.join(path), cmd.help or '')] + [(' '.join(path) + ' ' + p.name, getattr(p, 'help', '')"
        " or '') for p in cmd.params]\n"
        "    out.extend(t for t in texts if t[1] and not cjk.search(t[1]))\n"
        "    for name, sub in sorted((getattr(cmd, 'commands', None) or {}).items()):\n"
        "        walk(sub, path + [name])\n"
        "walk(typer.main.get_command(cli.app), ['fangkong'])\n"
        "print(json.dumps(out, ensure_ascii=False))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=_env(LANG="C.UTF-8"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
