"""`fangkong policy show|list|load|activate|export` and `fangkong groups` (政策包与重点人群)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import (
    cli_session,
    fail,
    out_console,
    print_created,
    print_rows,
)
from fangkong.kernel.errors import DomainError
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.policy.schema import Category, Pack

policy_app = typer.Typer(help=_("Policy packs: the rules and numbers the platform applies."), no_args_is_help=True)
app.add_typer(policy_app, name="policy")


def _en() -> bool:
    return cli_locale() == "en"


def _name(obj: object) -> str:
    return getattr(obj, "name_en") if _en() else getattr(obj, "name_zh")  # noqa: B009


def _measures_text(pack: Pack, cat: Category) -> str:
    parts = []
    for phase in cat.phases:
        days = f"{phase.days}d" if phase.days is not None else _("until negative")
        parts.append(f"{_name(pack.measure(phase.measure))} {days}")
    text = " + ".join(parts)
    if cat.until_negatives is not None:
        u = cat.until_negatives
        text += " " + (_("(ends after {count} negatives ≥{gap:g} h apart)").format(count=u.count, gap=u.min_gap_hours)
                       if u.count > 1 else _("(ends after a negative test)"))
    return text


def _tests_text(cat: Category) -> str:
    return " | ".join(",".join(str(d) for d in p.test_days) or "-" for p in cat.phases)


def _error(exc: DomainError) -> None:
    lines = [exc.message] + [f"  {f.field}: {f.message}" for f in exc.fields]
    fail("\n".join(lines))


@policy_app.command("show", help=_("Show the active pack: categories with measures, days and test days, and the time limits."))
def show_cmd(
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
    version: str = typer.Option(None, "--version", help=_("code@version (default: the active pack).")),
    sources: bool = typer.Option(False, "--sources", help=_("List every number with its source and kind of source.")),
) -> None:
    """Show the active pack: categories with measures, days and test days, and the time limits."""
    from fangkong.kernel.policy import service
    from fangkong.kernel.policy.schema import numbers_with_sources

    with cli_session() as session:
        try:
            pack = service.get_pack(session, version) if version else service.active_pack(session)
        except DomainError as exc:
            _error(exc)
    if sources:
        print_rows(["number", "value", "source_kind", "source"],
                   [[path, value if not isinstance(value, list) else ",".join(map(str, value)), kind, src]
                    for path, value, src, kind in numbers_with_sources(pack)],
                   as_json=as_json, title=_("Sources") + f" ({pack.version_tag})")
        return
    if as_json:
        typer.echo(json.dumps({"version_tag": pack.version_tag, **pack.model_dump(mode="json")},
                              ensure_ascii=False))
        return
    header = (f"{pack.version_tag}  {pack.name}\n{_('Effective from')}: {pack.effective_from}  "
              f"{_('Source')}: {pack.source}")
    if sys.stdout.isatty():
        out_console.print(header, highlight=False)
    else:
        typer.echo(f"# {header.replace(chr(10), ' ')}")
    print_rows(["category", "name", "measures", "test_days"],
               [[code, _name(c), _measures_text(pack, c), _tests_text(c)] for code, c in pack.categories.items()],
               title=_("Categories"))
    typer.echo("")
    print_rows(["level", "name", "stay_window_days", "category"],
               [[lv, _name(pack.risk_level(lv)), pack.risk_level(lv).stay_window_days, pack.risk_level(lv).category]
                for lv in pack.levels], title=_("Risk levels"))
    typer.echo("")
    sla = [[f"sla_hours.{k}", f"{v.hours:g}", v.source] for k, v in pack.sla_hours.items()]
    sla += [[f"turnaround_hours.{k}", f"{v.hours:g}", v.source] for k, v in pack.turnaround_hours.items()]
    sla.append(["daily_clearance_cutoff", pack.daily_clearance_cutoff, ""])
    print_rows(["limit", "hours", "source"], sla, title=_("Time limits"))


@policy_app.command("list", help=_("List every stored pack version; one is active."))
def list_cmd(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    """List every stored pack version; one is active."""
    from fangkong.kernel.policy import service

    with cli_session() as session:
        rows = [[r.version_tag, r.name, "yes" if r.is_active else "", clock.iso_local(r.loaded_at),
                 clock.iso_local(r.activated_at), r.sha256[:12]] for r in service.list_packs(session)]
    print_rows(["version", "name", "active", "loaded_at", "activated_at", "sha256"], rows, as_json=as_json)


@policy_app.command("load", help=_("Validate and store a policy pack (and optionally activate it)."))
def load_cmd(
    file: Path = typer.Argument(..., help=_("A policy pack in YAML.")),
    activate: bool = typer.Option(False, "--activate", help=_("Make it the active pack.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Validate and store a policy pack (and optionally activate it)."""
    from fangkong.kernel.policy import service

    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(_("cannot read {file}: {error}").format(file=file, error=exc))
    try:
        with cli_session() as session:
            row = service.store_pack(session, SYSTEM_ACTOR, text)
            if activate:
                row = service.activate_pack(session, SYSTEM_ACTOR, code=row.code, version=row.version)
            ids = {"id": row.id, "version": row.version_tag, "active": row.is_active}
    except DomainError as exc:
        _error(exc)
    message = _("Stored policy pack {version} (id {id})").format(**ids)
    if ids["active"]:
        message += _(", active")
    print_created(message, ids, as_json=as_json)


@policy_app.command("activate", help=_("Make a stored pack the active one."))
def activate_cmd(
    code: str = typer.Argument(..., help=_("Pack code, e.g. cn-2022-v9.")),
    version: str = typer.Argument(..., help=_("Pack version, e.g. 1.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Make a stored pack the active one."""
    from fangkong.kernel.policy import service

    try:
        with cli_session() as session:
            row = service.activate_pack(session, SYSTEM_ACTOR, code=code, version=version)
            ids = {"id": row.id, "version": row.version_tag, "active": True}
    except DomainError as exc:
        _error(exc)
    print_created(_("Active policy pack: {version}").format(**ids), ids, as_json=as_json)


@policy_app.command("export", help=_("Write a stored pack's YAML, exactly as it was loaded."))
def export_cmd(
    out: Path = typer.Option(..., "--out", help=_("Write the YAML here.")),
    version: str = typer.Option(None, "--version", help=_("code@version (default: the active pack).")),
) -> None:
    """Write a stored pack's YAML, exactly as it was loaded."""
    from fangkong.kernel.policy import service

    try:
        with cli_session() as session:
            text = service.export_pack_text(session, version)
    except DomainError as exc:
        _error(exc)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(_("cannot write {file}: {error}").format(file=out, error=exc))
    typer.echo(_("Wrote {file}").format(file=out))


@app.command("groups", help=_("List the key groups of the active policy pack and their test frequency in days."))
def groups_cmd(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    """List the key groups of the active policy pack and their test frequency in days."""
    from fangkong.kernel.policy import service

    with cli_session() as session:
        try:
            pack = service.active_pack(session)
        except DomainError as exc:
            _error(exc)
    print_rows(["code", "name", "frequency_days"],
               [[g.code, _name(g), g.frequency_days] for g in pack.key_groups], as_json=as_json,
               title=_("Key groups") + f" ({pack.version_tag})")
