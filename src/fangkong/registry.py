"""Where capabilities are listed: their tables (for migrations), routers (for the app) and CLI apps.

The kernel never imports this module; the application shell (app.py, cli.py, migrations) does.
"""

from __future__ import annotations

import importlib

#: capability packages, in dependency order
CAPABILITIES: list[str] = ["control", "intake", "testing", "venues", "tracing", "checkpoints", "zones",
                           "surveillance", "drill", "command"]


#: route modules that are parts of a capability, beside its routes.py/pages.py (the drill's run report)
EXTRA_ROUTE_MODULES: list[str] = ["fangkong.drill.report.routes"]


def import_all_models() -> None:
    importlib.import_module("fangkong.kernel.models")
    for name in CAPABILITIES:
        try:
            importlib.import_module(f"fangkong.{name}.models")
        except ModuleNotFoundError as exc:  # a capability without tables
            if exc.name != f"fangkong.{name}.models":
                raise
