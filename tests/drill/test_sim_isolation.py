"""The simulator keeps the truth apart (真实与平台分离): `drill/` imports no capability's models, and
the simulator (`drill/sim/`, the scenario schema) reaches no capability and no table at all, even
through the modules it imports. The platform is reached only by a `Response`, through the interfaces
real senders use. Read from the source (AST), so a new import fails here before it lands."""

from __future__ import annotations

import ast
from pathlib import Path

from fangkong.registry import CAPABILITIES

SRC = Path(__file__).resolve().parents[2] / "src"
DRILL = SRC / "fangkong" / "drill"


def _module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.exists():
            return p
    return None


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in out if m.startswith("fangkong") and _module_path(m) is not None}


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _closure(roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_path(name)
        if path is not None:
            todo.extend(_imports(path, name) - seen)
    return seen


def _is_capability(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[1] in CAPABILITIES and parts[1] != "drill"


def test_drill_imports_no_capabilitys_models() -> None:
    bad = {}
    for path in sorted(DRILL.rglob("*.py")):
        found = {m for m in _imports(path, _module(path)) if _is_capability(m) and m.split(".")[-1] == "models"}
        if found:
            bad[str(path.relative_to(SRC))] = sorted(found)
    assert not bad, bad


def test_the_simulator_reaches_no_capability_and_no_table() -> None:
    roots = [_module(p) for p in sorted((DRILL / "sim").rglob("*.py"))] + ["fangkong.drill.scenario_schema"]
    reached = _closure(roots)
    assert "fangkong.drill.generator" in reached  # the demo city's generator is reused
    assert not sorted(m for m in reached if _is_capability(m)), "the simulator imports a capability"
    assert not sorted(m for m in reached if m.endswith(".models")), "the simulator imports tables"


def test_the_walk_finds_a_models_import() -> None:
    """The check can fail: the demo city loader (drill/city.py) does import tables."""
    assert any(m.endswith(".models") for m in _closure(["fangkong.drill.city"]))
