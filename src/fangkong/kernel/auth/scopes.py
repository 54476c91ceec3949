"""What an API token may do (令牌权限范围): at most its creator's rights, optionally read-only or
limited to named operations.

A token acts as its user (the owner), but its permissions at each use are

    owner's role now  ∩  creator's permissions at creation (`ceiling`)  ∩  creator's role now
    (minus unmask and export when read-only)

so a token is never more than the person who made it held, and demoting (or disabling) the owner or
the creator lowers every token at once. Tokens made on the command line have no creator (the operator
on the server holds every right anyway) and are bounded by the owner alone.

Scopes are enforced in `kernel.auth.deps` for every route, so no route opts in:

- read-only: no unsafe method (POST, PUT, PATCH, DELETE) and no unmask or export permission;
- named operations: only the routes of those operations (a machine sender gets its import endpoint and
  nothing else). `GET /api/v1/me` stays open to every token, so a client can check who it is.

Operation names are stable identifiers of an API route (method and path template), kept in
`OPERATIONS`; scripts and `fangkong token create --only NAME` use them. A capability that adds an
endpoint for machine senders adds its operation with `declare_operation`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel.auth import roles
from fangkong.kernel.auth.models import ApiToken, RolePermission, User
from fangkong.kernel.errors import DomainError
from fangkong.kernel.messages import Message, _, labels, message

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: routes every token may call, whatever its scope (who am I)
ALWAYS_ALLOWED = frozenset({("GET", "/api/v1/me")})

OUT_OF_SCOPE = message("token.out_of_scope", _("this token is not allowed to do that (token scope: %(scope)s)"))
SCOPE_FULL = message("token.scope_full", _("all of its user's permissions"))
SCOPE_READ_ONLY = message("token.scope_read_only", _("read-only"))
SCOPE_ONLY = message("token.scope_only", _("only: %(operations)s"))
SCOPE_READ_ONLY_ONLY = message("token.scope_read_only_only", _("read-only, only: %(operations)s"))


@dataclass(frozen=True)
class Operation:
    """A named API operation a token can be limited to: its label and the routes it opens."""

    name: str
    label: Message
    routes: frozenset[tuple[str, str]]


_LABELS = labels("token_operation", {
    "scans.upload": _("Upload venue scans (batch)"),
    "results.upload": _("Upload lab results"),
    "samples.upload": _("Upload sampling records"),
    "leads.import": _("Send leads"),
    "roster.enrol": _("Enrol an employer's roster"),
    "releases.apply": _("Release persons from measures (one or a cohort)"),
    "checkins.upload": _("Upload check-ins of persons under measures"),
    "sites.import": _("Import quarantine sites and rooms (files)"),
    "measures.import": _("Import measures already running (files)"),
})

#: the token list's columns (on a terminal)
labels("field", {"scope": _("Scope"), "read_only": _("Read-only"), "operations": _("Operations"),
                 "created_by": _("Created by")})

#: name → operation; names are stable (scripts and stored tokens use them)
OPERATIONS: dict[str, Operation] = {}


def declare_operation(name: str, label: Message, *routes: tuple[str, str]) -> Operation:
    """Name an API operation (method, full path template) that a token may be limited to."""
    op = Operation(name, label, frozenset((m.upper(), p) for m, p in routes))
    known = OPERATIONS.get(name)
    if known is not None and known != op:
        raise ValueError(f"token operation {name!r} declared twice with different routes")
    OPERATIONS[name] = op
    return op


declare_operation("scans.upload", _LABELS["scans.upload"], ("POST", "/api/v1/scans"))
declare_operation("results.upload", _LABELS["results.upload"], ("POST", "/api/v1/results"))
declare_operation("samples.upload", _LABELS["samples.upload"], ("POST", "/api/v1/samples"))
declare_operation("leads.import", _LABELS["leads.import"], ("POST", "/api/v1/leads"))
declare_operation("roster.enrol", _LABELS["roster.enrol"], ("POST", "/api/v1/groups/{group}/members"))
#: another system (a quarantine site's own system, a hospital's) releasing persons and reporting check-ins
declare_operation("releases.apply", _LABELS["releases.apply"], ("POST", "/api/v1/measures/{measure_id}/release"),
                  ("POST", "/api/v1/releases"))
declare_operation("checkins.upload", _LABELS["checkins.upload"], ("POST", "/api/v1/checkins"),
                  ("POST", "/api/v1/checkins/import"))
declare_operation("sites.import", _LABELS["sites.import"], ("POST", "/api/v1/quarantine-sites/import"),
                  ("POST", "/api/v1/rooms/import"))
declare_operation("measures.import", _LABELS["measures.import"], ("POST", "/api/v1/measures/import"))


def is_withheld_from_read_only(permission: str) -> bool:
    """Unmask and every export (`person.unmask`, `data.export`, `lead.export` …): a read-only token
    reads masked lists and nothing in bulk."""
    action = permission.rsplit(".", 1)[-1]
    return action in {"unmask", "export"}


class TokenOutOfScope(DomainError):
    """A token called something outside its scope (read-only, or other operations): 403 `token_scope`."""

    def __init__(self, scope: Message) -> None:
        super().__init__(OUT_OF_SCOPE(scope=scope), status=403, code="token_scope")


def parse_operations(value: str | None) -> frozenset[str] | None:
    return frozenset(value.split()) if value else None


def describe(token: ApiToken) -> Message:
    """The token's scope in words (全部权限 / 只读 / 仅限: 上传扫码记录) for lists."""
    ops = parse_operations(token.operations)
    if ops is None:
        return SCOPE_READ_ONLY() if token.read_only else SCOPE_FULL()
    names = [OPERATIONS[o].label if o in OPERATIONS else o for o in sorted(ops)]
    return SCOPE_READ_ONLY_ONLY(operations=names) if token.read_only else SCOPE_ONLY(operations=names)


def _every_permission(session: Session) -> frozenset[str]:
    stored = session.execute(select(RolePermission.permission).distinct()).scalars()
    return frozenset(roles.PERMISSIONS) | {p for p in stored if p != "*"}


def _meet(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    """a ∩ b, where `*` stands for every permission."""
    if "*" in a:
        return b
    if "*" in b:
        return a
    return a & b


def effective_permissions(session: Session, token: ApiToken, owner: User,
                          owner_permissions: frozenset[str] | None = None) -> frozenset[str]:
    """What the token may do now (see the module docstring). Read from the database at every use;
    `owner_permissions` when the caller has just read them."""
    perms = roles.permissions_of(session, owner.role_code) if owner_permissions is None else owner_permissions
    if token.ceiling is not None:
        perms = _meet(perms, frozenset(token.ceiling.split()))
    if token.created_by_id is not None:
        creator = session.get(User, token.created_by_id)
        creator_now = (roles.permissions_of(session, creator.role_code)
                       if creator is not None and creator.is_active else frozenset[str]())
        perms = _meet(perms, creator_now)
    if token.read_only:
        if "*" in perms:
            perms = _every_permission(session)
        perms = frozenset(p for p in perms if not is_withheld_from_read_only(p))
    return perms


def check_request(token: ApiToken, method: str, route_path: str | None) -> None:
    """Refuse (TokenOutOfScope) a request outside the token's scope; `route_path` is the matched
    route's path template (`/api/v1/groups/{group}/members`), None when no route matched."""
    method = method.upper()
    ops = parse_operations(token.operations)
    if (method, route_path) in ALWAYS_ALLOWED:
        return
    if token.read_only and method in UNSAFE_METHODS:
        raise TokenOutOfScope(describe(token))
    if ops is not None:
        allowed = set().union(*(OPERATIONS[o].routes for o in ops if o in OPERATIONS))
        if (method, route_path) not in allowed:
            raise TokenOutOfScope(describe(token))
