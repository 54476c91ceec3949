"""Jurisdiction scope is decided in one place (`fangkong.kernel.scope`): no path check anywhere else.

Scope checks written at each call site are how lists leak (see docs/architecture.md, "Jurisdiction
scope"); this test reads the source and fails on `sees_path`, `subtree(` and hand-written path prefix
tests outside `kernel/scope.py` (and the Actor's own definition).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import fangkong

SRC = Path(fangkong.__file__).resolve().parent
ALLOWED = {SRC / "kernel" / "scope.py", SRC / "kernel" / "auth" / "actor.py"}
PATHISH = re.compile(r"(unit_path|\.path)$")


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "sees_path":
            out.append(f"{node.lineno}: .sees_path (use scope.sees / scope.check / scope.visible_or_none)")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "subtree":
                out.append(f"{node.lineno}: subtree(...) (use scope.visible / scope.within / scope.under)")
            elif (name == "startswith" and isinstance(func, ast.Attribute) and node.args
                  and not isinstance(node.args[0], ast.Constant)):
                receiver, arg = ast.unparse(func.value), ast.unparse(node.args[0])
                if PATHISH.search(receiver) or re.search(r"(unit_path|\.path)\b", arg):
                    out.append(f"{node.lineno}: {receiver}.startswith({arg}) (use scope.inside / scope.sees)")
    return out


def test_no_path_checks_outside_the_scope_module():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path in ALLOWED or "migrations" in path.parts:
            continue
        found += [f"{path.relative_to(SRC)}:{v}" for v in _violations(path)]
    for path in sorted(SRC.rglob("templates/**/*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "sees_path" in line or "startswith(actor" in line:
                found.append(f"{path.relative_to(SRC)}:{n}: path check in a template (use sees(actor, row))")
    assert not found, "jurisdiction checks outside kernel/scope.py:\n" + "\n".join(found)


def test_the_lint_sees_what_it_should(tmp_path):
    """The checker itself: each banned form is found, the allowed ones are not."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f(actor, row, scope, unit):\n"
        "    a = actor.sees_path(row.unit_path)\n"
        "    b = scope.subtree(row.unit_path, unit.path)\n"
        "    c = row.unit_path.startswith(actor.unit_path)\n"
        "    d = other.path.startswith(unit.path)\n", encoding="utf-8")
    assert len(_violations(bad)) == 4
    good = tmp_path / "good.py"
    good.write_text(
        "def f(request, scope, actor, row, path, i):\n"
        "    a = request.url.path.startswith('/api/')\n"
        "    b = scope.sees(actor, row)\n"
        "    c = path.startswith(i.url.rstrip('/') + '/')\n", encoding="utf-8")
    assert _violations(good) == []
