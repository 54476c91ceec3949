"""The permission table (权限表): every operation of the app — each API operation and page, by method
and path template — and what it needs, in one place.

Most of it is read from the routes themselves: `requires("lead.view")` is one cached dependency per
permission, named `requires_lead_view`, so walking a route's dependency tree finds every permission the
route checks before its handler runs. What the routes cannot say — public forms, pages any signed-in
user may open, exports whose permission depends on the export kind, one's own import jobs — is the
reviewed table `EXPLICIT` below, with the reason. A route that neither names a permission nor has an
entry here is an error (`unlisted`), and so is an entry whose route is gone (`stale`):
`tests/test_authorization_matrix.py` fails on both, so a new route cannot arrive without an answer to
"who may call this".

Roles → permissions is `kernel.auth.roles.MATRIX` (seeded by `fangkong init`; an administrator may
edit the database's copy). `render_markdown` writes both tables into `docs/permissions.md`
(`fangkong docs permissions --out docs/permissions.md`); a test fails when the committed file differs.

Jurisdiction is not in this table: every row is narrowed by `kernel/scope.py` (a row outside the
caller's subtree is a 404), which the matrix test checks for every operation with a row parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from fangkong.kernel.auth.roles import PERMISSIONS

#: access kinds beside a permission
PERMISSION = "permission"  # every permission in `permissions`
PUBLIC = "public"  # no sign-in (a citizen's form, the check-in page, the sign-in form)
SIGNED_IN = "signed_in"  # any signed-in user; what they see is narrowed inside
SELF = "self"  # the caller's own record (who they are, their own import job)
EXPORT_KIND = "export_kind"  # the export kind's own permissions (`kernel.export.REGISTRY`)

ACCESS_ZH = {PUBLIC: "公开(无需登录)", SIGNED_IN: "任何已登录用户", SELF: "本人",
             EXPORT_KIND: "按导出类型所需权限"}
ACCESS_EN = {PUBLIC: "public (no sign-in)", SIGNED_IN: "any signed-in user", SELF: "self",
             EXPORT_KIND: "the export kind's permissions"}

#: (method, path) → (access, why): the reviewed part of the table, for routes that name no permission
EXPLICIT: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/healthz"): (PUBLIC, "health check for a load balancer; says nothing about data"),
    ("GET", "/api/v1/openapi.json"): (PUBLIC, "the API's description"),
    ("GET", "/api/v1/docs"): (PUBLIC, "the API's documentation page"),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, "part of the API documentation page"),
    ("GET", "/login"): (PUBLIC, "the sign-in form"),
    ("POST", "/login"): (PUBLIC, "signing in (login CSRF token, throttled)"),
    ("POST", "/logout"): (SIGNED_IN, "ends the caller's own session"),
    ("GET", "/"): (SIGNED_IN, "home: counts and links of what the caller's permissions show"),
    ("GET", "/api/v1/me"): (SELF, "who the caller is and what they may do"),
    ("GET", "/report"): (PUBLIC, "a citizen's self-report form (主动报备), throttled"),
    ("POST", "/report"): (PUBLIC, "a citizen's self-report (主动报备), throttled"),
    ("GET", "/tip"): (PUBLIC, "the public tip form (群众举报), throttled"),
    ("POST", "/tip"): (PUBLIC, "a public tip (群众举报), throttled"),
    ("GET", "/my-test"): (PUBLIC, "a citizen's own test results form"),
    ("POST", "/my-test"): (PUBLIC, "a citizen's own results, by their own ID and phone number, throttled"),
    ("GET", "/help-me"): (PUBLIC, "a sealed household's own help form (封控区求助)"),
    ("POST", "/help-me"): (PUBLIC, "a resident's own help request, by their own ID and phone number, throttled"),
    ("GET", "/self-test"): (PUBLIC, "a citizen's own antigen self-test form (抗原自测上报)"),
    ("POST", "/self-test"): (PUBLIC, "a citizen's own antigen self-test, by their own ID and phone number, throttled"),
    ("GET", "/help-me/{token}"): (PUBLIC, "the state of one's own help request, by the unguessable token of its link"),
    ("GET", "/c/{link}"): (PUBLIC, "a person's own check-in page, from the signed link of their SMS (健康打卡)"),
    ("POST", "/c/{link}"): (PUBLIC, "a person's own check-in through the signed link of their SMS, throttled"),
    ("GET", "/v/{token}"): (PUBLIC, "a venue's QR code opens its check-in page"),
    ("POST", "/v/{token}"): (PUBLIC, "checking in at a venue (场所码扫码)"),
    ("POST", "/v/{token}/forget"): (PUBLIC, "forgetting the phone remembered on this device"),
    ("GET", "/public/exposure"): (PUBLIC, "the public exposure list (曝光台): venues and findings, nothing personal"),
    ("GET", "/public/exposure.json"): (PUBLIC, "the public exposure list as JSON"),
    ("GET", "/api/v1/exports/{kind}"): (EXPORT_KIND, "unmasked=true also needs person.unmask"),
    ("GET", "/export/{kind}.{fmt}"): (EXPORT_KIND, "always masked"),
    ("POST", "/export/{kind}"): (EXPORT_KIND, "unmasked=1 also needs person.unmask"),
    ("GET", "/imports/{job_id}"): (SELF, "one's own import job; another's in the jurisdiction needs the "
                                         "permission to import its kind"),
    ("GET", "/imports/{job_id}/status"): (SELF, "as the import job's page"),
    ("GET", "/imports/{job_id}/report.csv"): (SELF, "as the import job's page"),
}


@dataclass(frozen=True)
class Operation:
    """One row of the permission table."""

    method: str
    path: str
    access: str
    permissions: tuple[str, ...] = ()
    derived: bool = True
    note: str = ""

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    def allowed(self, role_permissions: Iterable[str], kind_permissions: Sequence[str] = ()) -> bool:
        """Whether a role holding `role_permissions` passes the table's check (for EXPORT_KIND, with the
        kind's permissions; SELF and SIGNED_IN: any signed-in user)."""
        held = set(role_permissions)
        if self.access == PERMISSION:
            return set(self.permissions) <= held
        if self.access == EXPORT_KIND:
            return set(kind_permissions) <= held
        return True


def _permissions_of(dependant: Dependant) -> tuple[list[str], bool]:
    """Permissions named by `requires_*` dependencies anywhere in the tree, and whether a signed-in
    actor is asked for at all."""
    perms: list[str] = []
    signed_in = False
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        name = getattr(dep.call, "__name__", "")
        if name.startswith("requires_"):
            code = next((p for p in PERMISSIONS if f"requires_{p.replace('.', '_')}" == name), None)
            perms.append(code or name.removeprefix("requires_"))
        if name in ("current_actor", "optional_actor"):
            signed_in = True
        stack.extend(dep.dependencies)
    return sorted(set(perms)), signed_in


@dataclass(frozen=True)
class Table:
    operations: list[Operation]
    unlisted: list[tuple[str, str]]  # routes with no permission and no entry in EXPLICIT
    stale: list[tuple[str, str]]  # EXPLICIT entries whose route is gone
    contradicting: list[tuple[str, str]]  # EXPLICIT entries for routes that name a permission themselves


def build(app: Any) -> Table:
    """The permission table of `app` (its routes, walked; static files left out)."""
    ops: list[Operation] = []
    unlisted: list[tuple[str, str]] = []
    contradicting: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for rc in iter_route_contexts(app.routes):
        route = getattr(rc, "original_route", rc)
        if isinstance(route, Mount) or not isinstance(route, Route | APIRoute):
            continue
        methods = sorted((route.methods or set()) - {"HEAD"})
        perms, _signed_in = _permissions_of(route.dependant) if isinstance(route, APIRoute) else ([], False)
        for method in methods:
            key = (method, rc.path)
            if key in seen:
                continue
            seen.add(key)
            if perms:
                if key in EXPLICIT:
                    contradicting.append(key)
                ops.append(Operation(method, rc.path, PERMISSION, tuple(perms)))
            elif key in EXPLICIT:
                access, note = EXPLICIT[key]
                ops.append(Operation(method, rc.path, access, derived=False, note=note))
            else:
                unlisted.append(key)
    stale = sorted(set(EXPLICIT) - seen)
    ops.sort(key=lambda o: (o.path, o.method))
    return Table(ops, sorted(unlisted), stale, sorted(contradicting))


def _cell(items: Iterable[str]) -> str:
    return "<br>".join(items) or "—"


def render_markdown(app: Any) -> str:
    """docs/permissions.md: roles × permissions, export kinds, and every operation with what it needs."""
    from fangkong.kernel import export
    from fangkong.kernel.auth.roles import MATRIX, ROLES

    table = build(app)
    roles = list(ROLES)
    lines = [
        "# 权限表 Permissions",
        "",
        "<!-- Generated by `fangkong docs permissions --out docs/permissions.md` from the routes and",
        "     `kernel/auth/roles.py`; tests/test_authorization_matrix.py fails when this file is stale. -->",
        "",
        "Who may call what. A role's permissions are the defaults `fangkong init` seeds "
        "(`kernel/auth/roles.py`); every row is further narrowed to the caller's jurisdiction "
        "(属地): a record outside it answers 404, never 403, and lists and exports never hold it.",
        "",
        "## 角色 Roles",
        "",
        "| Code | 角色 | Role |",
        "|---|---|---|",
        *[f"| `{code}` | {zh} | {en} |" for code, (zh, en) in ROLES.items()],
        "",
        "## 角色 × 权限 Roles × permissions",
        "",
        "| Permission | 说明 | " + " | ".join(f"`{r}`" for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for perm, zh in PERMISSIONS.items():
        marks = " | ".join("✓" if perm in MATRIX.get(r, set()) else "" for r in roles)
        lines.append(f"| `{perm}` | {zh} | {marks} |")
    lines += ["", "## 导出类型 Export kinds", "",
              "`/export/{kind}.{fmt}`, `POST /export/{kind}` and `/api/v1/exports/{kind}` need the kind's "
              "permissions; full ID and phone numbers (`unmasked`) also need `person.unmask`.", "",
              "| Kind | 名称 | Needs | Roles |", "|---|---|---|---|"]
    for name in sorted(export.REGISTRY):
        kind = export.REGISTRY[name]
        holders = [r for r in roles if set(kind.permissions) <= MATRIX.get(r, set())]
        lines.append(f"| `{name}` | {kind.title_zh} | {_cell(f'`{p}`' for p in kind.permissions)} | "
                     f"{', '.join(holders)} |")
    lines += ["", "## 操作 Operations", "",
              "Derived from each route's `requires(…)` dependencies unless marked *(table)*: those come from "
              "the reviewed table `EXPLICIT` in `kernel/web/permissions.py`.", "",
              "| Method | Path | Needs | 说明 | Roles |", "|---|---|---|---|---|"]
    for op in table.operations:
        if op.access == PERMISSION:
            needs = _cell(f"`{p}`" for p in op.permissions)
            zh = _cell(PERMISSIONS.get(p, p) for p in op.permissions)
            holders = ", ".join(r for r in roles if op.allowed(MATRIX.get(r, set())))
        else:
            needs = f"{ACCESS_EN[op.access]} *(table)*"
            zh = ACCESS_ZH[op.access]
            holders = "see export kinds" if op.access == EXPORT_KIND else (
                "everyone" if op.access == PUBLIC else "every role")
        if op.note:
            zh = f"{zh}: {op.note}"
        lines.append(f"| {op.method} | `{op.path}` | {needs} | {zh} | {holders} |")
    lines += ["", f"{len(table.operations)} operations, {len(roles)} roles, {len(PERMISSIONS)} permissions.", ""]
    return "\n".join(lines)
