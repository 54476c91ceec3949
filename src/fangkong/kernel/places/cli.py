"""`fangkong places list` (场所)."""

from __future__ import annotations

import typer
from sqlalchemy import select

from fangkong.cli import app
from fangkong.kernel.cli_support import cli_session, fail, print_rows
from fangkong.kernel.i18n import _

places_app = typer.Typer(help=_("Places: employers, venues, checkpoints, sampling points, sentinels, quarantine sites."),
                         no_args_is_help=True)
app.add_typer(places_app, name="places")


@places_app.command("list", help=_("List places."))
def list_cmd(
    kind: str = typer.Option(None, "--kind", help=_("Only places of this kind.")),
    category: str = typer.Option(None, "--category", help=_("Only places of this category.")),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help=_("At most this many rows.")),
    after: int = typer.Option(None, "--after", help=_("Start after this place id (paging).")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    from fangkong.kernel.auth.actor import SYSTEM_ACTOR
    from fangkong.kernel.jurisdictions.models import Unit
    from fangkong.kernel.places import service
    from fangkong.kernel.places.models import KINDS

    if kind is not None and kind not in KINDS:
        fail(_("unknown kind {kind}; use one of {kinds}").format(kind=kind, kinds=", ".join(KINDS)), 2)
    with cli_session() as session:
        places = service.list_places(session, SYSTEM_ACTOR, kind=kind, category=category, limit=limit,
                                     after_id=after)
        ids = {p.unit_id for p in places}
        units = dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(ids))).tuples().all())
        rows = [(p.id, p.code, p.kind, p.category, p.name, p.address_text, p.capacity, units.get(p.unit_id))
                for p in places]
    print_rows(["id", "code", "kind", "category", "name", "address", "capacity", "unit_code"], rows,
               as_json=as_json)
