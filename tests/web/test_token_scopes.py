"""API tokens through the whole app: a token holds at most its creator's rights (recomputed at every
use), and a read-only or named-operation scope is enforced for every route (`kernel.auth.scopes`)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from web_world import World, bearer

from fangkong.app import create_app
from fangkong.kernel import clock
from fangkong.kernel.auth import roles, scopes
from fangkong.kernel.auth import service as auth_service
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.models import Role, RolePermission, User
from fangkong.kernel.errors import ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def add_user(session: Session, username: str, role: str, unit: Unit) -> str:
    """A user row as `create_user` leaves it, without the argon2 hash (tokens need no password)."""
    session.add(User(username=username, display_name=username, role_code=role, unit_id=unit.id,
                     password_hash="-", failed_logins=0, is_active=True, created_at=clock.now()))
    session.flush()
    return username


def _token(session: Session, username: str, actor=SYSTEM_ACTOR, **scope) -> str:
    _row, plaintext = auth_service.create_token(session, actor, username=username, **scope)
    session.flush()
    return plaintext


def _code(response) -> str:
    return response.json()["error"]["code"]


def _user_actor(session: Session, username: str):
    return auth_service.actor_for(session, username)


@pytest.fixture
def token_manager(session: Session, world: World) -> str:
    """A user manager at the district who holds the district's permissions and user.manage — not audit."""
    session.add(Role(code="tokmgr", name_zh="令牌管理", name_en="Token manager"))
    session.flush()
    for perm in sorted(roles.permissions_of(session, "district") | {"user.manage"}):
        session.add(RolePermission(role_code="tokmgr", permission=perm))
    session.flush()
    return add_user(session, "tokmgr1", "tokmgr", world.district)


def test_a_read_only_token_reads_but_changes_unmasks_and_exports_nothing(client, session, world):
    add_user(session, "chief", "command", world.district)
    full, read_only = _token(session, "chief"), _token(session, "chief", read_only=True)
    person = f"/api/v1/persons/{world.person_a_id}"

    for token in (full, read_only):
        assert client.get("/api/v1/persons", headers=bearer(token)).status_code == 200
        assert client.get(person, headers=bearer(token)).status_code == 200
    assert client.post(f"{person}/unmask", json={"field": "phone"}, headers=bearer(full)).status_code == 200
    assert client.get("/api/v1/exports/tasks", headers=bearer(full)).status_code == 200

    refused = client.post(f"{person}/unmask", json={"field": "phone"}, headers=bearer(read_only))
    assert refused.status_code == 403 and _code(refused) == "token_scope"
    assert refused.json()["error"]["reason"] == "token.out_of_scope"
    created = client.post("/api/v1/persons", json={"name": "钱七"}, headers=bearer(read_only))
    assert created.status_code == 403 and _code(created) == "token_scope"
    # a GET that exports: the permission is withheld from the token, so the route's own check refuses
    exported = client.get("/api/v1/exports/tasks", headers=bearer(read_only))
    assert exported.status_code == 403 and _code(exported) == "forbidden"
    masked = client.get("/api/v1/exports/tasks", params={"unmasked": "true"}, headers=bearer(read_only))
    assert masked.status_code == 403
    me = client.get("/api/v1/me", headers=bearer(read_only)).json()
    assert me["username"] == "chief" and "person.view" in me["permissions"]
    assert not {"person.unmask", "data.export", "person.export", "lead.export"} & set(me["permissions"])


def test_a_named_operation_token_reaches_its_endpoint_and_nothing_else(client, session, world):
    add_user(session, "venue_sys", "street", world.street)
    token = _token(session, "venue_sys", operations=["scans.upload"])
    sent = client.post("/api/v1/scans", json={"items": []}, headers=bearer(token))
    assert sent.status_code == 200, sent.text
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # who am I: always allowed
    for method, path in [("GET", "/api/v1/persons"), ("GET", f"/api/v1/persons/{world.person_a_id}"),
                         ("POST", "/api/v1/leads"), ("POST", "/api/v1/persons"), ("GET", "/api/v1/tasks")]:
        response = client.request(method, path, json={}, headers=bearer(token))
        assert response.status_code == 403, (method, path, response.status_code)
        assert _code(response) == "token_scope", (method, path)
    assert client.get("/units", headers=bearer(token)).status_code == 403  # pages too
    # the same user's unscoped token reads what the role allows
    assert client.get("/api/v1/persons", headers=bearer(_token(session, "venue_sys"))).status_code == 200


def test_a_token_never_exceeds_its_creator_even_when_its_owner_is_promoted(client, session, world, token_manager):
    owner = add_user(session, "clerk", "district", world.district)
    by_manager = _token(session, owner, actor=_user_actor(session, token_manager))
    by_system = _token(session, owner)
    auth_service.change_user(session, SYSTEM_ACTOR, user_id=auth_service.actor_for(session, owner).user_id,
                             role="command")
    session.flush()
    # the owner now holds audit.view; the manager who made the first token never did
    assert client.get("/api/v1/audit", headers=bearer(by_system)).status_code == 200
    denied = client.get("/api/v1/audit", headers=bearer(by_manager))
    assert denied.status_code == 403 and _code(denied) == "forbidden"
    assert client.get("/api/v1/persons", headers=bearer(by_manager)).status_code == 200


def test_demoting_or_disabling_the_creator_lowers_its_tokens_at_once(client, session, world, token_manager):
    owner = add_user(session, "analyst", "district", world.district)
    token = _token(session, owner, actor=_user_actor(session, token_manager))
    unmask = f"/api/v1/persons/{world.person_a_id}/unmask"
    assert client.post(unmask, json={"field": "phone"}, headers=bearer(token)).status_code == 200
    manager_id = auth_service.actor_for(session, token_manager).user_id
    assert manager_id is not None
    auth_service.change_user(session, SYSTEM_ACTOR, user_id=manager_id, role="viewer")
    session.flush()
    assert client.post(unmask, json={"field": "phone"}, headers=bearer(token)).status_code == 403
    assert client.get("/api/v1/persons", headers=bearer(token)).status_code == 200  # viewer reads people
    auth_service.set_active(session, SYSTEM_ACTOR, user_id=manager_id, active=False)
    session.flush()
    assert client.get("/api/v1/persons", headers=bearer(token)).status_code == 403


def test_demoting_the_owner_lowers_its_tokens(client, session, world):
    owner = add_user(session, "gridder", "grid", world.grid_a)
    token = _token(session, owner)
    unmask = f"/api/v1/persons/{world.person_a_id}/unmask"
    assert client.post(unmask, json={"field": "phone"}, headers=bearer(token)).status_code == 200
    user_id = auth_service.actor_for(session, owner).user_id
    assert user_id is not None
    auth_service.change_user(session, SYSTEM_ACTOR, user_id=user_id, role="viewer")
    session.flush()
    assert client.post(unmask, json={"field": "phone"}, headers=bearer(token)).status_code == 403


def test_unknown_operations_are_refused_at_creation(session, world):
    add_user(session, "lab_sys", "lab", world.district)
    with pytest.raises(ValidationFailed) as err:
        auth_service.create_token(session, SYSTEM_ACTOR, username="lab_sys", operations=["results.upload", "nope"])
    assert [f.field for f in err.value.fields] == ["operations"]
    row, _plain = auth_service.create_token(session, SYSTEM_ACTOR, username="lab_sys", read_only=True,
                                            operations=["results.upload"])
    assert (row.read_only, row.operations, row.ceiling, row.created_by_id) == (True, "results.upload", None, None)
    assert scopes.describe(row).translated("zh_CN") == "只读，仅限：上传检测结果"


def test_every_named_operation_is_an_unsafe_route_of_the_app():
    """Operation names point at real routes: renaming a path without its operation fails here."""
    from fastapi.routing import APIRoute, iter_route_contexts
    from sqlalchemy.orm import sessionmaker

    app = create_app(session_factory=sessionmaker())
    routes = {(m, rc.path) for rc in iter_route_contexts(app.routes)
              if isinstance(rc.original_route, APIRoute) for m in rc.original_route.methods}
    for op in scopes.OPERATIONS.values():
        for method, path in op.routes:
            assert (method, path) in routes, (op.name, method, path)
            assert method in UNSAFE


def test_no_route_manages_users_roles_tokens_or_policy_over_http():
    """Users, roles, tokens and policy packs change only through the services' checks (`_may_grant`,
    `policy.manage`), reached from the command line today. A route that changes them must come with its
    privilege tests (tests/kernel/test_privilege.py): this trips when one appears."""
    from fastapi.routing import APIRoute, iter_route_contexts
    from sqlalchemy.orm import sessionmaker

    app = create_app(session_factory=sessionmaker())
    found = [(sorted(rc.original_route.methods), rc.path) for rc in iter_route_contexts(app.routes)
             if isinstance(rc.original_route, APIRoute) and set(rc.original_route.methods) & set(UNSAFE)
             and any(word in (rc.path or "") for word in ("/users", "/roles", "/tokens", "/policy", "/permissions"))]
    assert found == []
