"""Users, sign-in, lockout, sessions, API tokens and demo users, on the real database.

Each argon2 hash or verify costs ~0.1 s: tests create one or two users each.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit.models import AuditEvent
from fangkong.kernel.auth import demo, passwords, roles
from fangkong.kernel.auth import service as auth
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.models import ApiToken, User, WebSession
from fangkong.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.settings import get_settings

T0 = dt.datetime(2022, 4, 18, 8, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-1"


def make_unit(session: Session, parent: Unit, code: str, level: str) -> Unit:
    unit = Unit(code=code, name=f"{level} {code}", level=level, parent_id=parent.id, path="", depth=parent.depth + 1)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    session.flush()
    return unit


@pytest.fixture
def tree(session: Session) -> dict[str, Unit]:
    """root → d1 → s1 → c1 → g1, g2; root → d2 → s2 (a second branch)."""
    root = auth.root_unit(session)
    d1 = make_unit(session, root, "T-D1", "district")
    s1 = make_unit(session, d1, "T-S1", "street")
    c1 = make_unit(session, s1, "T-C1", "community")
    g1 = make_unit(session, c1, "T-G1", "grid")
    g2 = make_unit(session, c1, "T-G2", "grid")
    d2 = make_unit(session, root, "T-D2", "district")
    s2 = make_unit(session, d2, "T-S2", "street")
    return {"root": root, "d1": d1, "s1": s1, "c1": c1, "g1": g1, "g2": g2, "d2": d2, "s2": s2}


def manager_at(session: Session, unit: Unit, role: str = "district") -> Actor:
    """A user manager bound to `unit` with the permissions of `role` plus user.manage."""
    perms = roles.permissions_of(session, role) | {"user.manage"}
    return Actor(user_id=None, username=f"mgr-{unit.code}", role=role, unit_id=unit.id, unit_path=unit.path,
                 permissions=frozenset(perms))


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)).scalars())


# --- creating users -------------------------------------------------------------------------------

def test_create_user_reports_every_bad_field(session, system):
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(session, system, username="a b", role="nope", unit_code="no-such-unit", password="short")
    assert {f.field for f in err.value.fields} == {"username", "role", "unit_code", "password"}
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(session, system, username="x" * 65, role="grid", password="long enough")
    assert [f.field for f in err.value.fields] == ["username"]


def test_create_user_defaults_to_root_and_is_audited(session, system):
    user = auth.create_user(session, system, username="alice.w", role="grid", password=PASSWORD)
    assert user.unit_id == auth.root_unit(session).id
    assert user.display_name == "alice.w"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    created = events(session, "user.created")[-1]
    assert created.object_id == str(user.id)
    assert created.detail == {"username": "alice.w", "role": "grid", "unit": "000000"}


def test_duplicate_username_is_a_conflict_whatever_the_case(session, system):
    auth.create_user(session, system, username="bob", role="viewer", password=PASSWORD)
    with pytest.raises(Conflict):
        auth.create_user(session, system, username="BOB", role="viewer", password=PASSWORD)


def test_create_user_needs_user_manage(session, tree):
    grid_worker = Actor(user_id=None, username="g", role="grid", unit_id=tree["g1"].id,
                        unit_path=tree["g1"].path, permissions=roles.permissions_of(session, "grid"))
    with pytest.raises(PermissionDenied):
        auth.create_user(session, grid_worker, username="carol", role="grid", password=PASSWORD)


def test_manager_creates_only_in_own_subtree_and_grants_no_more_than_it_holds(session, tree):
    manager = manager_at(session, tree["d1"])
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(session, manager, username="dave", role="grid", unit_code="T-D2", password=PASSWORD)
    assert [f.field for f in err.value.fields] == ["unit_code"]
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(session, manager, username="dave", role="admin", unit_code="T-G1", password=PASSWORD)
    assert [f.field for f in err.value.fields] == ["role"]
    # no unit given: the manager's own unit, not the root
    user = auth.create_user(session, manager, username="dave", role="grid", password=PASSWORD)
    assert user.unit_id == tree["d1"].id
    assert [u.username for u in auth.list_users(session, manager)] == ["dave"]
    assert [u.username for u in auth.list_users(session, manager_at(session, tree["d2"]))] == []


# --- signing in -----------------------------------------------------------------------------------

def test_authenticate_ok_wrong_and_unknown_look_the_same_from_outside(session, system):
    user = auth.create_user(session, system, username="erin", role="grid", password=PASSWORD)
    with clock.frozen(T0):
        ok = auth.authenticate(session, username="erin", password=PASSWORD, ip="10.0.0.1")
    assert ok.ok and ok.user is user and ok.user_or_raise() is user
    assert user.last_login_at == T0
    wrong = auth.authenticate(session, username="erin", password="wrong-password", ip="10.0.0.2")
    unknown = auth.authenticate(session, username="nobody", password=PASSWORD, ip="10.0.0.3")
    assert (wrong.user, wrong.reason) == (None, "wrong_password")
    assert (unknown.user, unknown.reason) == (None, "unknown_user")
    messages = []
    for result in (wrong, unknown):
        with pytest.raises(auth.LoginFailed) as err:
            result.user_or_raise()
        assert err.value.status == 401 and err.value.code == "login_failed"
        messages.append(str(err.value))
    assert messages[0] == messages[1] == "wrong username or password"

    login = events(session, "auth.login")[-1]
    assert (login.actor_id, login.actor_name, login.ip) == (user.id, "erin", "10.0.0.1")
    failed = events(session, "auth.login_failed")[-2:]
    assert [(e.detail["username"], e.detail["reason"], e.detail["ip"]) for e in failed] == [
        ("erin", "wrong_password", "10.0.0.2"), ("nobody", "unknown_user", "10.0.0.3")]
    assert failed[0].object_id == str(user.id) and failed[1].object_id is None
    assert all(e.actor_id is None for e in failed)
    assert all(PASSWORD not in str(e.detail) and "wrong-password" not in str(e.detail) for e in failed)


def _throttle(session, user, address):
    from fangkong.kernel.auth.models import LoginThrottle

    return session.execute(select(LoginThrottle).where(LoginThrottle.user_id == user.id,
                                                       LoginThrottle.address == address)).scalar_one()


def test_lockout_after_max_failures_and_its_expiry(session, system):
    settings = get_settings()
    user = auth.create_user(session, system, username="frank", role="grid", password=PASSWORD)
    ip = "10.9.9.9"
    with clock.frozen(T0):
        for _ in range(settings.login_max_failures - 1):
            assert auth.authenticate(session, username="frank", password="nope-nope", ip=ip).reason == "wrong_password"
        throttle = _throttle(session, user, ip)
        assert throttle.failures == settings.login_max_failures - 1 and throttle.locked_until is None
        assert auth.authenticate(session, username="frank", password="nope-nope", ip=ip).reason == "wrong_password"
        assert throttle.locked_until == T0 + dt.timedelta(minutes=settings.login_lockout_minutes)
    # the right password during the lockout still fails from that address, with the same outward answer
    with clock.frozen(T0 + dt.timedelta(minutes=settings.login_lockout_minutes - 1)):
        locked = auth.authenticate(session, username="frank", password=PASSWORD, ip=ip)
    assert (locked.user, locked.reason) == (None, "locked")
    with clock.frozen(T0 + dt.timedelta(minutes=settings.login_lockout_minutes, seconds=1)):
        assert auth.authenticate(session, username="frank", password=PASSWORD, ip=ip).user is user
    assert (throttle.failures, throttle.locked_until, user.failed_logins, user.locked_until) == (0, None, 0, None)
    locking = [e for e in events(session, "auth.login_failed") if "locked_until" in e.detail]
    assert len(locking) == 1 and locking[0].object_id == str(user.id)


def test_a_name_guesser_cannot_lock_the_owner_out(session, system):
    """Wrong passwords from an attacker's address lock that address only: the owner, at their own
    address, signs in with the right password (no lockout denial of service)."""
    settings = get_settings()
    user = auth.create_user(session, system, username="olga", role="grid", password=PASSWORD)
    with clock.frozen(T0):
        for _ in range(settings.login_max_failures * 2):
            auth.authenticate(session, username="olga", password="guess-guess", ip="203.0.113.7")
        assert auth.authenticate(session, username="olga", password=PASSWORD, ip="203.0.113.7").reason == "locked"
        assert auth.authenticate(session, username="olga", password=PASSWORD, ip="192.168.1.20").user is user


def test_many_addresses_lock_the_account_until_an_audited_unlock(session, system):
    settings = get_settings()
    user = auth.create_user(session, system, username="pia", role="grid", password=PASSWORD)
    with clock.frozen(T0):
        for n in range(settings.login_account_max_failures):  # a botnet: one try per address
            auth.authenticate(session, username="pia", password="guess-guess", ip=f"198.51.100.{n % 250}")
        assert user.locked_until == T0 + dt.timedelta(hours=settings.login_account_lockout_hours)
        assert auth.authenticate(session, username="pia", password=PASSWORD, ip="192.168.1.20").reason == "locked"
        auth.unlock_user(session, system, user_id=user.id)
        assert auth.authenticate(session, username="pia", password=PASSWORD, ip="192.168.1.20").user is user
    unlocked = events(session, "user.unlocked")
    assert len(unlocked) == 1 and unlocked[0].detail["account_was_locked"] is True


def test_success_resets_the_failure_count(session, system):
    user = auth.create_user(session, system, username="gina", role="grid", password=PASSWORD)
    auth.authenticate(session, username="gina", password="nope-nope")
    auth.authenticate(session, username="gina", password="nope-nope")
    assert user.failed_logins == 2
    assert auth.authenticate(session, username="gina", password=PASSWORD).ok
    assert user.failed_logins == 0


def test_failed_login_is_kept_when_the_caller_commits_then_fails(session_factory, session, system):
    """The documented pattern: authenticate, commit, then raise LoginFailed (the request rolls back)."""
    user = auth.create_user(session, system, username="hank", role="grid", password=PASSWORD)
    session.commit()  # a savepoint release inside the test's outer transaction
    request_session = session_factory()
    result = auth.authenticate(request_session, username="hank", password="nope-nope", ip="10.9.9.9")
    request_session.commit()
    with pytest.raises(auth.LoginFailed):
        try:
            result.user_or_raise()
        except auth.LoginFailed:
            request_session.rollback()
            raise
    request_session.close()
    fresh = session_factory()
    assert fresh.get(User, user.id).failed_logins == 1
    row = fresh.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
                        .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    assert row.detail["username"] == "hank" and row.ip == "10.9.9.9"
    fresh.close()


def test_disabled_user_cannot_sign_in_and_password_reset_clears_lockout(session, system):
    user = auth.create_user(session, system, username="iris", role="grid", password=PASSWORD)
    user.locked_until = clock.now() + dt.timedelta(hours=1)
    auth.set_active(session, system, user_id=user.id, active=False)
    assert auth.authenticate(session, username="iris", password=PASSWORD).reason == "inactive"
    auth.set_active(session, system, user_id=user.id, active=True)
    assert auth.authenticate(session, username="iris", password=PASSWORD).reason == "locked"
    auth.set_password(session, system, user_id=user.id, password="another-password")
    assert user.locked_until is None
    assert auth.authenticate(session, username="iris", password="another-password").ok
    changes = [e.detail for e in events(session, "user.updated") if e.object_id == str(user.id)]
    assert changes == [{"username": "iris", "is_active": False}, {"username": "iris", "is_active": True},
                       {"username": "iris", "change": "password"}]


def test_actor_for_user_carries_role_permissions_and_unit_path(session, system, tree):
    user = auth.create_user(session, system, username="jack", role="street", unit_code="T-S1", password=PASSWORD)
    actor = auth.actor_for_user(session, user, ip="1.2.3.4")
    assert (actor.user_id, actor.role, actor.unit_id, actor.unit_path, actor.ip) == (
        user.id, "street", tree["s1"].id, tree["s1"].path, "1.2.3.4")
    assert actor.permissions == frozenset(roles.MATRIX["street"])
    assert actor.sees_path(tree["g1"].path) and not actor.sees_path(tree["s2"].path)


# --- web sessions ---------------------------------------------------------------------------------

def test_sessions_store_only_a_hash_slide_and_expire(session, system):
    user = auth.create_user(session, system, username="kate", role="grid", password=PASSWORD)
    timeout = dt.timedelta(minutes=get_settings().session_timeout_minutes)
    with clock.frozen(T0):
        token, csrf = auth.start_session(session, user)
    row = session.get(WebSession, hashlib.sha256(token.encode()).hexdigest())
    assert row is not None and row.csrf_token == csrf and token not in (row.token_hash, row.csrf_token)
    with clock.frozen(T0 + timeout - dt.timedelta(minutes=1)):
        assert auth.resolve_session(session, token) == (user, row)
    assert row.last_seen_at == T0 + timeout - dt.timedelta(minutes=1)  # sliding
    with clock.frozen(T0 + 2 * timeout - dt.timedelta(minutes=2)):
        assert auth.resolve_session(session, token) is not None
    with clock.frozen(T0 + 3 * timeout):
        assert auth.resolve_session(session, token) is None
    assert session.get(WebSession, row.token_hash) is None  # deleted when expired
    assert auth.resolve_session(session, "not-a-token") is None


def test_end_session_signs_out_and_is_audited(session, system):
    user = auth.create_user(session, system, username="liam", role="grid", password=PASSWORD)
    token, _ = auth.start_session(session, user)
    auth.end_session(session, token, ip="10.1.1.1")
    assert auth.resolve_session(session, token) is None
    logout = events(session, "auth.logout")[-1]
    assert (logout.actor_id, logout.object_id, logout.ip) == (user.id, str(user.id), "10.1.1.1")


# --- API tokens -----------------------------------------------------------------------------------

def test_tokens_are_hashed_at_rest_and_revocable(session, system):
    user = auth.create_user(session, system, username="mona", role="grid", password=PASSWORD)
    with clock.frozen(T0):
        token, plaintext = auth.create_token(session, system, username="mona", label="sync")
    assert plaintext.startswith("fk_") and len(plaintext) > 40
    stored = session.get(ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert stored.prefix == plaintext[:10] and plaintext not in stored.token_hash
    created = events(session, "token.created")[-1]
    assert plaintext not in str(created.detail) and created.detail["prefix"] == stored.prefix

    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        assert auth.resolve_token(session, plaintext) is user
    assert stored.last_used_at == T0 + dt.timedelta(minutes=5)
    assert auth.resolve_token(session, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert [t.id for t, u in auth.list_tokens(session, system, username="mona")] == [token.id]

    auth.set_active(session, system, user_id=user.id, active=False)
    assert auth.resolve_token(session, plaintext) is None
    auth.set_active(session, system, user_id=user.id, active=True)
    auth.revoke_token(session, system, token.id)
    auth.revoke_token(session, system, token.id)  # again: nothing more happens
    assert auth.resolve_token(session, plaintext) is None
    assert len([e for e in events(session, "token.revoked") if e.object_id == str(token.id)]) == 1


def test_tokens_outside_the_subtree_are_not_found(session, system, tree):
    auth.create_user(session, system, username="nina", role="grid", unit_code="T-G1", password=PASSWORD)
    token, _ = auth.create_token(session, system, username="nina")
    other = manager_at(session, tree["d2"])
    with pytest.raises(NotFound):
        auth.create_token(session, other, username="nina")
    with pytest.raises(NotFound):
        auth.revoke_token(session, other, token.id)
    assert auth.list_tokens(session, other) == []


# --- demo users -----------------------------------------------------------------------------------

def test_demo_users_are_idempotent_and_their_file_private(session, tree, tmp_path):
    path = tmp_path / "demo-users.txt"
    first = auth.ensure_demo_users(session, password_file=path)
    assert [d.username for d in first] == list(roles.ROLES)
    by_name = {d.username: d for d in first}
    assert by_name["admin"].unit_code == by_name["command"].unit_code == "000000"
    assert by_name["district"].unit_code == "T-D1"
    assert by_name["street"].unit_code == "T-S1"
    assert by_name["community"].unit_code == "T-C1"
    assert {by_name[r].unit_code for r in ("grid", "checkpoint", "sampler", "enterprise")} == {"T-G1"}
    assert all(d.password and len(d.password) >= 12 for d in first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# 防控") and all(d.password in text for d in first)

    path.chmod(0o644)
    second = auth.ensure_demo_users(session, password_file=path)
    assert second == first  # passwords read back, nothing recreated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len([e for e in events(session, "user.created") if e.detail["username"] == "grid"]) == 1
    assert auth.authenticate(session, username="grid", password=by_name["grid"].password).ok


def test_demo_units_fall_back_to_the_nearest_level(session):
    root = auth.root_unit(session)
    d = make_unit(session, root, "F-D1", "district")
    chosen = demo._demo_units(session)
    assert [chosen[level].code for level in ("city", "district", "street", "community", "grid")] == [
        root.code, "F-D1", "F-D1", "F-D1", "F-D1"]
    make_unit(session, d, "F-C1", "community")  # a community straight under the district
    chosen = demo._demo_units(session)
    assert (chosen["street"].code, chosen["community"].code, chosen["grid"].code) == ("F-D1", "F-C1", "F-C1")


# --- pure helpers ---------------------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=10))
@settings(max_examples=25)
def test_generated_passwords_are_long_and_readable(_n):
    pw = passwords.generate_password()
    assert len(pw) >= 12
    assert set(pw) <= set("bcdfghjkmnprstvwxzaeiu23456789-")
    assert pw[-4:].isdigit()


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@given(st.lists(st.tuples(st.sampled_from(list(roles.ROLES)), _text, _text), min_size=1, max_size=13,
                unique_by=lambda t: t[0]))
@settings(max_examples=50, deadline=None)
def test_password_file_round_trips(rows):
    users = [auth.DemoUser(username=code, role=code, role_name=role_name, unit_code="U1",
                           unit_name=unit_name, password=passwords.generate_password())
             for code, role_name, unit_name in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.txt"
        path.write_text("# 头\n" + demo.format_demo_table(users), encoding="utf-8")
        assert demo._read_password_file(path) == {u.username: u.password for u in users}


def test_each_administrative_level_holds_what_the_levels_below_hold():
    for lower, higher in itertools.pairwise(roles.ADMIN_CHAIN):
        assert roles.MATRIX[lower] <= roles.MATRIX[higher], (lower, higher)
    assert roles.MATRIX["admin"] == set(roles.PERMISSIONS)
