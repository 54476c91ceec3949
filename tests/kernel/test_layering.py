"""The kernel imports no capability; capabilities reach each other through services, not tables."""

from __future__ import annotations

import ast
from pathlib import Path

import fangkong
from fangkong.registry import CAPABILITIES

SRC = Path(fangkong.__file__).resolve().parent


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{a.name}" for a in node.names)  # `from fangkong.x import models`
        elif isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
    return names


def test_the_kernel_imports_no_capability():
    offenders = []
    for path in sorted((SRC / "kernel").rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == "fangkong" and parts[1] in CAPABILITIES:
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_capabilities_meet_through_services_never_each_others_models():
    """No capability imports another capability's `models` (its tables), to read or to write: it calls
    the owning capability's services. Tests may build data any way they like; the product may not."""
    offenders = []
    for cap in CAPABILITIES:
        for path in sorted((SRC / cap).rglob("*.py")):
            for name in _imports(path):
                parts = name.split(".")
                if (len(parts) > 2 and parts[0] == "fangkong" and parts[1] in CAPABILITIES and parts[1] != cap
                        and parts[2] == "models"):
                    offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_capabilities_do_not_import_each_others_tables_to_write():
    """Another capability's models may be read for joins, never imported into a service to write —
    here checked coarsely: no capability imports another's `service` internals by private name."""
    offenders = []
    for cap in CAPABILITIES:
        for path in sorted((SRC / cap).rglob("*.py")):
            for name in _imports(path):
                parts = name.split(".")
                if (len(parts) > 2 and parts[0] == "fangkong" and parts[1] in CAPABILITIES and parts[1] != cap
                        and any(p.startswith("_") for p in parts[2:])):
                    offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, "\n".join(offenders)
