"""No role grants itself or others more than it holds (OWASP ASVS V4.1/V4.2): users (create, change role,
change unit, passwords, enabling, unlocking), tokens, policy activation and unmask — on every service
path, since the command line and any future page call the same functions.

A user manager here is a district user whose role is edited in the database to also hold user.manage
(roles are data: an administrator can do that); it must not reach what its role lacks."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth import roles, scopes
from fangkong.kernel.auth import service as auth
from fangkong.kernel.auth.actor import SYSTEM_ACTOR, Actor
from fangkong.kernel.auth.models import Role, RolePermission, User
from fangkong.kernel.errors import PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.people import service as people_service
from fangkong.kernel.policy import service as policy_service

PASSWORD = "correct-horse-1"


def _unit(session: Session, parent: Unit, code: str, level: str) -> Unit:
    unit = Unit(code=code, name=code, level=level, parent_id=parent.id, path="", depth=parent.depth + 1)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    session.flush()
    return unit


def _account(session: Session, username: str, role: str, unit: Unit) -> User:
    """A user row as `create_user` leaves it, without the argon2 hash (0.1 s each): nobody signs in."""
    user = User(username=username, display_name=username, role_code=role, unit_id=unit.id,
                password_hash="-", failed_logins=0, is_active=True, created_at=clock.now())
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    root = auth.root_unit(session)
    d1 = _unit(session, root, "P-D1", "district")
    g1 = _unit(session, _unit(session, d1, "P-S1", "street"), "P-G1", "grid")
    d2 = _unit(session, root, "P-D2", "district")
    session.add(Role(code="usermgr", name_zh="用户管理", name_en="User manager"))
    session.flush()
    for perm in sorted(roles.permissions_of(session, "district") | {"user.manage"}):
        session.add(RolePermission(role_code="usermgr", permission=perm))
    session.flush()
    mgr = _account(session, "p-mgr", "usermgr", d1)
    grid = _account(session, "p-grid", "grid", g1)
    chief = _account(session, "p-chief", "command", d1)
    return {"d1": d1, "g1": g1, "d2": d2, "mgr": auth.actor_for_user(session, mgr), "grid": grid,
            "chief": chief}


def _fields(err: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [f.field for f in err.value.fields]


def test_the_manager_holds_no_audit_or_policy_right(session, world):
    mgr = world["mgr"]
    assert isinstance(mgr, Actor) and mgr.can("user.manage")
    assert not mgr.can("audit.view") and not mgr.can("policy.manage")


def test_creating_a_user_grants_no_more_than_the_creator_holds(session, world):
    mgr = world["mgr"]
    for role in ("command", "admin", "usermgr"):
        if role == "usermgr":  # its own role: nothing more than it holds, so allowed
            auth.create_user(session, mgr, username="p-peer", role=role, unit_code="P-G1", password=PASSWORD)
            continue
        with pytest.raises(ValidationFailed) as err:
            auth.create_user(session, mgr, username=f"p-{role}", role=role, unit_code="P-G1", password=PASSWORD)
        assert _fields(err) == ["role"]
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(session, mgr, username="p-far", role="grid", unit_code="P-D2", password=PASSWORD)
    assert _fields(err) == ["unit_code"]


def test_changing_a_role_or_unit_follows_the_same_rule(session, world):
    mgr, grid = world["mgr"], world["grid"]
    with pytest.raises(ValidationFailed) as err:
        auth.change_user(session, mgr, user_id=grid.id, role="command")
    assert _fields(err) == ["role"]
    with pytest.raises(ValidationFailed) as err:
        auth.change_user(session, mgr, user_id=grid.id, unit_code="P-D2")
    assert _fields(err) == ["unit_code"]
    with pytest.raises(ValidationFailed) as err:
        auth.change_user(session, mgr, user_id=grid.id, role="no-such-role")
    assert _fields(err) == ["role"]
    assert (grid.role_code, grid.unit_id) == ("grid", world["g1"].id)

    auth.change_user(session, mgr, user_id=grid.id, role="street", unit_code="P-D1")
    assert (grid.role_code, grid.unit_id) == ("street", world["d1"].id)
    event = session.query(AuditEvent).filter(AuditEvent.action == "user.updated").order_by(AuditEvent.id.desc()).first()
    assert event is not None and event.detail["role"] == ["grid", "street"]
    assert event.detail["unit"] == ["P-G1", "P-D1"] and event.actor_name == "p-mgr"


def test_nobody_raises_their_own_role(session, world):
    mgr = world["mgr"]
    assert mgr.user_id is not None
    with pytest.raises(ValidationFailed):
        auth.change_user(session, mgr, user_id=mgr.user_id, role="admin")
    with pytest.raises(ValidationFailed):  # the root lies outside its subtree: no climbing the tree either
        auth.change_user(session, mgr, user_id=mgr.user_id, unit_code=auth.root_unit(session).code)
    me = session.get(User, mgr.user_id)
    assert me is not None and me.role_code == "usermgr" and me.unit_id == world["d1"].id


def test_a_more_privileged_user_is_out_of_reach(session, world):
    """Resetting the password of someone who holds more would be taking their rights: refused, as are
    disabling, unlocking, changing them and issuing them a token."""
    mgr, chief = world["mgr"], world["chief"]
    calls = [
        lambda: auth.set_password(session, mgr, user_id=chief.id, password="another-pass-1"),
        lambda: auth.set_active(session, mgr, user_id=chief.id, active=False),
        lambda: auth.unlock_user(session, mgr, user_id=chief.id),
        lambda: auth.change_user(session, mgr, user_id=chief.id, role="grid"),
        lambda: auth.create_token(session, mgr, username="p-chief"),
    ]
    for call in calls:
        with pytest.raises(auth.CannotManageUser):
            call()
    assert chief.is_active and chief.role_code == "command"


def test_tokens_record_their_creator_and_its_rights(session, world):
    mgr, grid = world["mgr"], world["grid"]
    row, _plain = auth.create_token(session, mgr, username="p-grid")
    assert row.created_by_id == mgr.user_id and row.ceiling is not None
    assert set(row.ceiling.split()) == set(mgr.permissions)
    # a token's actor holds the owner's rights, bounded by the creator's
    session.flush()
    assert scopes.effective_permissions(session, row, grid) == roles.permissions_of(session, "grid")


def test_a_scoped_actor_mints_no_broader_token(session, world):
    """A read-only token's actor (were a route to let it issue tokens) holds no unmask: it cannot issue a
    token for a user who has unmask, and what it issues carries its own limits."""
    _row, plain = auth.create_token(session, SYSTEM_ACTOR, username="p-mgr", read_only=True)
    session.flush()
    found = auth.token_actor(session, plain)
    assert found is not None
    token_actor, _row = found
    assert not token_actor.can("person.unmask") and not token_actor.can("data.export")
    assert token_actor.can("user.manage") and world["mgr"].can("person.unmask")
    with pytest.raises(auth.CannotManageUser):
        auth.create_token(session, token_actor, username="p-grid")
    viewer = _account(session, "p-viewer2", "viewer", world["d1"])
    minted, _ = auth.create_token(session, token_actor, username="p-viewer2")
    session.flush()
    assert minted.ceiling is not None and "person.unmask" not in minted.ceiling.split()
    assert scopes.effective_permissions(session, minted, viewer) == roles.permissions_of(session, "viewer")


def test_policy_activation_needs_policy_manage(session, world):
    pack = next(p for p in policy_service.list_packs(session) if not p.is_active)
    for actor in (world["mgr"], auth.actor_for_user(session, world["grid"])):
        with pytest.raises(PermissionDenied):
            policy_service.activate_pack(session, actor, code=pack.code, version=pack.version)
        with pytest.raises(PermissionDenied):
            policy_service.store_pack(session, actor, pack.content)
    chief = auth.actor_for_user(session, world["chief"])
    assert chief.can("policy.manage")
    assert policy_service.activate_pack(session, chief, code=pack.code, version=pack.version).is_active


def test_unmask_needs_person_unmask(session, world):
    person = people_service.register_person(session, SYSTEM_ACTOR, name="孙八", phone="13812345679",
                                            unit_id=world["g1"].id)
    viewer = _account(session, "p-viewer", "viewer", world["d1"])
    with pytest.raises(PermissionDenied):
        people_service.unmask(session, auth.actor_for_user(session, viewer), person.id, field="phone")
    grid = auth.actor_for_user(session, world["grid"])
    assert people_service.unmask(session, grid, person.id, field="phone") == "13812345679"
