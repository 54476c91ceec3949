"""Tracing reaches intake, venues, testing and control through their services: no module in
`tracing/` imports another capability's tables (`models`)."""

from __future__ import annotations

import ast
from pathlib import Path

import fangkong
from fangkong.registry import CAPABILITIES

SRC = Path(fangkong.__file__).resolve().parent


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
    return names


def test_tracing_imports_no_other_capabilitys_models() -> None:
    offenders = []
    for path in sorted((SRC / "tracing").rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if (len(parts) > 2 and parts[0] == "fangkong" and parts[1] in CAPABILITIES and parts[1] != "tracing"
                    and "models" in parts[2:]):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, "\n".join(offenders)
