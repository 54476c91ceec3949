"""`fangkong audit …`: check the hash chain of the audit log (审计) and read it, as an operator on the
server (the system actor)."""

from __future__ import annotations

import json

import typer

from fangkong.cli import app
from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import EXIT_UNUSABLE, cli_session, fail, print_rows
from fangkong.kernel.i18n import _

audit_app = typer.Typer(help=_("Audit log: verify the hash chain, list events."), no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify", help=_(
    "Walk the hash chain. Exit 0 when intact; exit 1 naming the first broken event."))
def audit_verify() -> None:
    """Walk the hash chain. Exit 0 when intact; exit 1 naming the first broken event."""

    with cli_session() as session:
        result = audit_service.verify(session)
    if result.ok:
        typer.echo(_("Audit chain intact: {count} events checked.").format(count=result.checked))
        return
    fail(_("Audit chain broken at event {id}: {reason}. {count} events before it are intact.").format(
        id=result.broken_id, reason=_(result.reason) if result.reason else "", count=result.checked), EXIT_UNUSABLE)


@audit_app.command("list", help=_("List audit events, newest first."))
def audit_list(
    action: str = typer.Option(None, "--action", help=_("Only this action; a trailing * matches a prefix "
                                                         "(auth.*).")),
    actor_name: str = typer.Option(None, "--actor", help=_("Only events by this user name.")),
    object_type: str = typer.Option(None, "--object-type", help=_("Only events on this kind of object.")),
    object_id: str = typer.Option(None, "--object-id", help=_("Only events on this object id.")),
    before: int = typer.Option(None, "--before", help=_("Only events with a smaller id (paging).")),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help=_("At most this many events.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """List audit events, newest first."""

    with cli_session() as session:
        events = audit_service.list_events(
            session, SYSTEM_ACTOR, action=action, actor_name=actor_name, object_type=object_type,
            object_id=object_id, limit=limit, before_id=before)
        rows = [[e.id, clock.iso_local(e.at), e.actor_name, e.action, e.object_type, e.object_id, e.ip,
                 e.detail if as_json else json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True)]
                for e in events]
    print_rows(["id", "at", "actor", "action", "object_type", "object_id", "ip", "detail"], rows,
               as_json=as_json, title=_("Audit log"))
