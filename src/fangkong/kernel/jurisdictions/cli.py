"""`fangkong import|export units`, `fangkong import addresses`, `fangkong units tree`,
`fangkong address match` (属地树与地址库)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel.cli_support import (
    HEADERS_HELP,
    cli_session,
    export_app,
    fail,
    import_app,
    out_console,
    print_rows,
    run_export,
)
from fangkong.kernel.i18n import _

units_app = typer.Typer(help=_("Jurisdiction units (city → grid)."), no_args_is_help=True)
address_app = typer.Typer(help=_("The address gazetteer."), no_args_is_help=True)
app.add_typer(units_app, name="units")
app.add_typer(address_app, name="address")

REPORT_HELP = _("Write a per-row report (CSV, UTF-8 with BOM) to this file.")


@import_app.command("units", help=_("Import jurisdiction units (code, name, level, parent_code)."))
def import_units_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with columns code, name, level, parent_code.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.kernel.jurisdictions import service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing units"), file, report, service.import_units, ["code"])


@import_app.command("addresses", help=_("Import addresses into the gazetteer, each on its grid."))
def import_addresses_cmd(
    file: Path = typer.Argument(..., help=_("CSV or XLSX with columns address and grid_code.")),
    report: Path = typer.Option(None, "--report", help=REPORT_HELP),
) -> None:
    from fangkong.kernel.jurisdictions import service
    from fangkong.kernel.tabular import run_import

    run_import(_("Importing addresses"), file, report, service.import_addresses, ["key"])


@export_app.command("units", help=_("Export the jurisdiction tree (code, name, level, parent_code) as CSV or XLSX."))
def export_units_cmd(
    out: Path = typer.Option(..., "--out", help=_("File to write, .csv or .xlsx.")),
    headers: str = typer.Option(None, "--headers", help=HEADERS_HELP),
) -> None:
    from fangkong.kernel.jurisdictions import exports as _kinds  # noqa: F401 (registers `units`)

    n = run_export("units", out, headers=headers)
    typer.echo(_("{n} units written to {path}").format(n=n, path=out))


@units_app.command("tree", help=_("Show the jurisdiction tree."))
def tree_cmd(
    depth: int = typer.Option(None, "--depth", min=0, help=_("Show this many levels below the root.")),
    root: str = typer.Option(None, "--root", help=_("Start at the unit with this code.")),
) -> None:
    from rich.tree import Tree

    from fangkong.kernel import scope
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions import service

    with cli_session() as session:
        top = scope.visible_unit_or_none(session, SYSTEM_ACTOR, code=root) if root else service.root_unit(session)
        if top is None:
            fail(_("unknown unit {code}").format(code=root), 1)
        assert top is not None
        units = service.subtree_units(session, top, max_depth=depth)
        rows = [(u.id, u.parent_id, u.depth, u.code, u.name, u.level) for u in units]
    if sys.stdout.isatty():
        nodes: dict[int, Tree] = {}
        tree: Tree | None = None
        for uid, pid, _d, code, name, level in rows:
            label = f"[bold]{name}[/bold] [dim]{code} · {level}[/dim]"
            if tree is None:
                tree = nodes[uid] = Tree(label)
            elif pid in nodes:
                nodes[uid] = nodes[pid].add(label)
        if tree is not None:
            out_console.print(tree)
    else:
        base = rows[0][2] if rows else 0
        for _uid, _pid, d, code, name, level in rows:
            typer.echo(f"{'  ' * (d - base)}{code}\t{name}\t{level}")


@address_app.command("match", help=_("Normalise addresses and place them on grids (or say why not)."))
def match_cmd(
    texts: list[str] = typer.Argument(..., help=_("Addresses to place on grids.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.kernel.jurisdictions import service

    with cli_session() as session:
        matches = service.match_addresses(session, texts)
        rows = [(m.text, m.key, m.unit.code if m.unit else "", m.unit.name if m.unit else "",
                 m.address.id if m.address else "", m.reason or "") for m in matches]
    print_rows(["text", "key", "grid_code", "grid_name", "address_id", "reason"], rows, as_json=as_json)
