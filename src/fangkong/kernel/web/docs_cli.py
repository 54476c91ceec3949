"""`fangkong docs permissions` (权限表): the permission table rendered from the routes themselves."""

from __future__ import annotations

from pathlib import Path

import typer

from fangkong.cli import app
from fangkong.kernel.i18n import _

docs_app = typer.Typer(help=_("Documents generated from the code."), no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@docs_app.command("permissions", help=_("Roles × permissions and every operation's permission, as Markdown."))
def permissions_cmd(
    out: Path = typer.Option(None, "--out", help=_("Write to this file instead of standard output.")),
) -> None:
    from sqlalchemy.orm import sessionmaker

    from fangkong.app import create_app
    from fangkong.kernel.web.permissions import render_markdown

    text = render_markdown(create_app(session_factory=sessionmaker()))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))
