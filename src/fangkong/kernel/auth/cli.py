"""`fangkong users …` and `fangkong token …`: accounts and API tokens, run by an operator on the server
(as the system actor)."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.orm import Session

from fangkong.cli import app
from fangkong.kernel import clock
from fangkong.kernel.auth import passwords, scopes
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.cli_support import (
    EXIT_UNUSABLE,
    EXIT_USAGE,
    cli_session,
    err_console,
    fail,
    job,
    print_created,
    print_rows,
)
from fangkong.kernel.i18n import _, cli_locale
from fangkong.kernel.messages import _ as N_  # marks the job's label for the catalog
from fangkong.kernel.messages import translate

users_app = typer.Typer(help=_("User accounts: add, list, disable, demo accounts."), no_args_is_help=True)
token_app = typer.Typer(help=_("API tokens for machine clients (Authorization: Bearer)."),
                        no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(token_app, name="token")




def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """(password, generated): the first line of stdin, a twice-typed prompt on a terminal, or a
    generated one when neither is possible."""
    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail(_("No password on standard input."), EXIT_UNUSABLE)
        return line, False
    if sys.stdin.isatty():
        value = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=_("Repeat the password"))
        return value, False
    return passwords.generate_password(), True


@users_app.command("add", help=_(
    "Add a user. Without --password-stdin: asks twice on a terminal, otherwise generates a password "
    "and prints it once."))
def users_add(
    username: str = typer.Argument(..., help=_("Login name: 3 to 64 letters, digits, '_', '.' or '-'.")),
    role: str = typer.Option(..., "--role", help=_(
        "Role code (admin, command, district, street, community, grid, checkpoint, sampler, lab, "
        "epidemiologist, inspector, enterprise, viewer).")),
    unit: str = typer.Option(None, "--unit", help=_("Code of the user's unit (default: the root unit).")),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help=_("Read the password from the first line of standard input.")),
    display_name: str = typer.Option(None, "--display-name", help=_("Name shown in the interface.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Add a user. Without --password-stdin: asks twice on a terminal, otherwise generates a password and
    prints it once."""
    password, generated = _read_password(password_stdin)
    with cli_session() as session:
        user = auth_service.create_user(session, SYSTEM_ACTOR, username=username, role=role, unit_code=unit,
                                        password=password, display_name=display_name)
        unit_row = auth_service.unit_of(session, user)
        ids = {"id": user.id, "username": user.username, "role": user.role_code, "unit_code": unit_row.code}
    message = _("User {username} created (id {id}, role {role}, unit {unit}).").format(
        username=ids["username"], id=ids["id"], role=ids["role"], unit=ids["unit_code"])
    if generated:
        ids["password"] = password
        message += "\n" + _("Password (shown only this once): {password}").format(password=password)
    print_created(message, ids, as_json=as_json)


@users_app.command("list", help=_("List users (a table on a terminal, TSV when piped)."))
def users_list(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    """List users (a table on a terminal, TSV when piped)."""
    with cli_session() as session:
        rows = []
        for u in auth_service.list_users(session, SYSTEM_ACTOR):
            unit = auth_service.unit_of(session, u)
            rows.append([u.id, u.username, u.display_name, u.role_code, unit.code, unit.name,
                         "yes" if u.is_active else "no", clock.iso_local(u.last_login_at)])
    headers = ["id", "username", "display_name", "role", "unit_code", "unit_name", "active", "last_login_at"]
    print_rows(headers, rows, as_json=as_json, title=_("Users"))


@users_app.command("set-password", help=_(
    "Set a user's password; clears a lockout and ends the user's sessions."))
def users_set_password(
    username: str = typer.Argument(..., help=_("Login name.")),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help=_("Read the password from the first line of standard input.")),
) -> None:
    """Set a user's password; clears a lockout and ends the user's sessions."""
    password, generated = _read_password(password_stdin)
    with cli_session() as session:
        user = auth_service.get_user(session, SYSTEM_ACTOR, username=username)
        auth_service.set_password(session, SYSTEM_ACTOR, user_id=user.id, password=password)
    typer.echo(_("Password of {username} changed.").format(username=username))
    if generated:
        typer.echo(_("Password (shown only this once): {password}").format(password=password))


def _set_active(username: str, active: bool) -> None:
    with cli_session() as session:
        user = auth_service.get_user(session, SYSTEM_ACTOR, username=username)
        auth_service.set_active(session, SYSTEM_ACTOR, user_id=user.id, active=active)
    typer.echo((_("User {username} enabled.") if active else _("User {username} disabled.")).format(
        username=username))


@users_app.command("disable", help=_("Disable a user: signed out at once, tokens stop working."))
def users_disable(username: str = typer.Argument(..., help=_("Login name."))) -> None:
    """Disable a user: signed out at once, tokens stop working."""
    _set_active(username, False)


@users_app.command("enable", help=_("Enable a disabled user again."))
def users_enable(username: str = typer.Argument(..., help=_("Login name."))) -> None:
    """Enable a disabled user again."""
    _set_active(username, True)


@users_app.command("update", help=_(
    "Change a user's role or unit (the new role grants no more than the one who changes it holds)."))
def users_update(
    username: str = typer.Argument(..., help=_("Login name.")),
    role: str = typer.Option(None, "--role", help=_("New role code.")),
    unit: str = typer.Option(None, "--unit", help=_("Code of the user's new unit.")),
) -> None:
    """Change a user's role or unit (the new role grants no more than the one who changes it holds)."""
    if role is None and unit is None:
        fail(_("Give --role or --unit."), EXIT_USAGE)
    with cli_session() as session:
        user = auth_service.get_user(session, SYSTEM_ACTOR, username=username)
        auth_service.change_user(session, SYSTEM_ACTOR, user_id=user.id, role=role, unit_code=unit)
        ids = {"role": user.role_code, "unit": auth_service.unit_of(session, user).code}
    typer.echo(_("User {username}: role {role}, unit {unit}.").format(username=username, **ids))


@users_app.command("unlock", help=_("Lift a user's sign-in lockout (of the account and of every address)."))
def users_unlock(username: str = typer.Argument(..., help=_("Login name."))) -> None:
    """Lift a user's sign-in lockout (of the account and of every address)."""
    with cli_session() as session:
        user = auth_service.get_user(session, SYSTEM_ACTOR, username=username)
        auth_service.unlock_user(session, SYSTEM_ACTOR, user_id=user.id)
    typer.echo(_("User {username} unlocked.").format(username=username))


@users_app.command("demo", help=_(
    "Create one demo user per role (named after the role) and save their passwords in demo-users.txt "
    "in the data directory (mode 0600). Running it again keeps existing passwords."))
def users_demo(as_json: bool = typer.Option(False, "--json", help=_("Print JSON."))) -> None:
    """Create one demo user per role (named after the role) and save their passwords in
    demo-users.txt in the data directory (mode 0600). Running it again keeps existing passwords."""
    from fangkong.settings import get_settings

    path = get_settings().data_dir / "demo-users.txt"
    with cli_session() as session:
        mode = clock.mode()
        users = auth_service.ensure_demo_users(session, password_file=path)
    if mode == "production":
        err_console.print(_("Warning: demo users in a production database; disable them before going live."))
    print_rows(["role", "username", "password", "unit"],
               [[u.role_name, u.username, u.password or _("(unknown: unchanged)"),
                 f"{u.unit_name} ({u.unit_code})"] for u in users],
               as_json=as_json, title=_("Demo users"))
    err_console.print(_("Passwords saved to {path} (readable only by you).").format(path=path.resolve()))


@token_app.command("create", help=_(
    "Create an API token; it is printed once and only its hash is kept. A token holds at most its "
    "user's permissions; --read-only and --only narrow it."))
def token_create(
    username: str = typer.Argument(..., help=_("The user the token acts as.")),
    label: str = typer.Option(None, "--label", help=_("What the token is for (shown in lists).")),
    read_only: bool = typer.Option(False, "--read-only", help=_(
        "Reads only: no change of any kind, no full ID or phone numbers, no exports.")),
    only: list[str] = typer.Option(None, "--only", metavar="OPERATION", help=_(
        "Only this operation (repeatable), e.g. a venue system's scans: --only scans.upload. "
        "Operations: {operations}.").format(operations=", ".join(scopes.OPERATIONS))),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    unknown = [o for o in only or [] if o not in scopes.OPERATIONS]
    if unknown:
        fail(_("Unknown operation {operation}; one of: {known}.").format(
            operation=", ".join(unknown), known=", ".join(scopes.OPERATIONS)), EXIT_USAGE)
    with cli_session() as session:
        token, plaintext = auth_service.create_token(session, SYSTEM_ACTOR, username=username, label=label,
                                                     read_only=read_only, operations=only or None)
        ids = {"id": token.id, "username": username, "label": token.label, "prefix": token.prefix,
               "read_only": token.read_only, "operations": (token.operations or "").split(),
               "token": plaintext}
        scope = translate(scopes.describe(token), cli_locale())
    message = _("Token {id} for {username} created ({scope}). Store it now; it is not shown again:").format(
        id=ids["id"], username=username, scope=scope) + "\n" + plaintext
    print_created(message, ids, as_json=as_json)


@token_app.command("revoke", help=_("Revoke an API token."))
def token_revoke(
    token_id: int = typer.Argument(..., help=_("Token id (see `fangkong token list`).")),
) -> None:
    """Revoke an API token."""
    with cli_session() as session:
        auth_service.revoke_token(session, SYSTEM_ACTOR, token_id)
    typer.echo(_("Token {id} revoked.").format(id=token_id))


@token_app.command("list", help=_(
    "List API tokens (prefix only; the token itself is never stored)."))
def token_list(
    username: str = typer.Option(None, "--user", help=_("Only this user's tokens.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print JSON.")),
) -> None:
    """List API tokens (prefix only; the token itself is never stored)."""
    with cli_session() as session:
        rows = [[t.id, u.username, t.label, t.prefix + "…", scopes.describe(t), "yes" if t.read_only else "no",
                 t.operations or "", clock.iso_local(t.created_at), clock.iso_local(t.last_used_at),
                 clock.iso_local(t.revoked_at)]
                for t, u in auth_service.list_tokens(session, SYSTEM_ACTOR, username=username)]
    print_rows(["id", "username", "label", "prefix", "scope", "read_only", "operations", "created_at",
                "last_used_at", "revoked_at"], rows, as_json=as_json, title=_("API tokens"))


@job("auth.purge_sessions", schedule="0 * * * *",
     label=N_("Remove expired sign-in sessions"))
def purge_sessions(session: Session) -> int:
    """Delete web sessions idle longer than the session timeout."""
    return auth_service.purge_expired_sessions(session)
