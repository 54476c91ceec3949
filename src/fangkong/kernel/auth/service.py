"""Users, sign-in, web sessions, API tokens and demo users (用户与认证).

Service functions flush, never commit. One exception in spirit: a failed sign-in must leave its
audit row and its failure count behind even though the caller shows an error, so `authenticate`
does not raise — it returns a `LoginResult`, and the caller commits before showing the failure:

    result = auth_service.authenticate(session, username=u, password=p, ip=ip)
    if not result.ok:
        session.commit()              # keep the failed-login audit row and the counter
        raise LoginFailed()           # or render the form with LoginFailed().message
    token, csrf = auth_service.start_session(session, result.user)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth import passwords, roles, scopes
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.models import ApiToken, LoginThrottle, Role, User, WebSession
from fangkong.kernel.errors import (
    TOO_LONG,
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    ValidationFailed,
    record_not_found,
)
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import _, message
from fangkong.settings import get_settings

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,64}")
MIN_PASSWORD_LENGTH = 8
#: bounded input for argon2 and forms
MAX_PASSWORD_LENGTH = 256
TOKEN_PREFIX = "fk_"
#: last_seen_at / last_used_at are written at most this often: a write on every request would
#: serialise SQLite writers for nothing (the session timeout is counted in minutes).
TOUCH_EVERY = dt.timedelta(seconds=30)

LOGIN_FAILED_MESSAGE = message("auth.login_failed", _("wrong username or password"))()
CANNOT_MANAGE = message("user.cannot_manage", _("you cannot manage a user with permissions you do not hold"))
NO_ROOT = message("unit.no_root_init", _("no root unit; run `fangkong init` first"))
PASSWORD_SHORT = message("password.too_short", _("at least 8 characters"))
PASSWORD_LONG = message("password.too_long", _("at most 256 characters"))
BAD_USERNAME = message("user.bad_username", _("3 to 64 letters, digits, '_', '.' or '-'"))
UNKNOWN_ROLE = message("user.unknown_role", _("unknown role"))
CANNOT_GRANT = message("user.cannot_grant", _("you cannot grant permissions you do not hold"))
UNKNOWN_UNIT_PLAIN = message("user.unknown_unit", _("unknown unit"))
INVALID_USER = message("user.invalid", _("invalid user"))
USERNAME_TAKEN = message("user.username_taken", _("username already taken"))
INVALID_PASSWORD = message("password.invalid", _("invalid password"))
INVALID_CHANGE = message("user.invalid_change", _("invalid change"))
CANNOT_DISABLE_SELF = message("user.cannot_disable_self", _("you cannot disable yourself"))
INVALID_TOKEN = message("token.invalid", _("invalid token"))
UNKNOWN_OPERATION = message("token.unknown_operation", _("unknown operation %(operation)s; one of %(known)s"))

#: who an unauthenticated sign-in attempt is recorded as; its path is a prefix of no unit path
ANONYMOUS = Actor(user_id=None, username="anonymous", role="", unit_id=None, unit_path="-",
                  permissions=frozenset())


class LoginFailed(DomainError):
    """Sign-in refused (登录失败). One message for every cause, so nobody learns which users exist."""

    def __init__(self) -> None:
        super().__init__(LOGIN_FAILED_MESSAGE, status=401, code="login_failed")


class CannotManageUser(DomainError):
    """The actor may manage users, but not this one (it holds permissions the actor lacks)."""

    def __init__(self) -> None:
        super().__init__(CANNOT_MANAGE(), status=403, code="forbidden")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- units -------------------------------------------------------------------------------------------

def root_unit(session: Session) -> Unit:
    """The root of the jurisdiction tree: the lowest id without a parent."""
    unit = session.execute(
        select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)
    ).scalar_one_or_none()
    if unit is None:
        raise NotFound(NO_ROOT())
    return unit


def unit_of(session: Session, user: User) -> Unit:
    """The unit a user is bound to."""
    unit = session.get(Unit, user.unit_id)
    assert unit is not None  # foreign key
    return unit


# --- users -------------------------------------------------------------------------------------------

def _password_errors(password: str | None, field: str = "password") -> list[FieldError]:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return [FieldError(field, PASSWORD_SHORT())]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [FieldError(field, PASSWORD_LONG())]
    return []


def _may_grant(session: Session, actor: Actor, role_code: str) -> bool:
    """An actor hands out no permission it does not hold itself (no escalation through user.manage)."""
    return "*" in actor.permissions or roles.permissions_of(session, role_code) <= actor.permissions


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    role: str,
    unit_code: str | None = None,
    password: str,
    display_name: str | None = None,
) -> User:
    """Create a user (新建用户) bound to one unit in the actor's subtree.

    Without `unit_code` the user gets the actor's own unit (the root unit for the system actor).
    """
    actor.require("user.manage")
    username = (username or "").strip()
    errors: list[FieldError] = []
    if not USERNAME_RE.fullmatch(username):
        errors.append(FieldError("username", BAD_USERNAME()))
    if not role or session.get(Role, role) is None:
        errors.append(FieldError("role", UNKNOWN_ROLE()))
    elif not _may_grant(session, actor, role):
        errors.append(FieldError("role", CANNOT_GRANT()))
    unit: Unit | None
    if unit_code:
        unit = scope.visible_unit_or_none(session, actor, code=unit_code)
        if unit is None:
            errors.append(FieldError("unit_code", UNKNOWN_UNIT_PLAIN()))
    elif actor.unit_id is not None:
        unit = session.get(Unit, actor.unit_id)
    else:
        unit = root_unit(session)
    errors += _password_errors(password)
    display_name = (display_name or "").strip()
    if len(display_name) > 64:
        errors.append(FieldError("display_name", TOO_LONG(max=64)))
    if errors:
        raise ValidationFailed(INVALID_USER(), errors)
    assert unit is not None
    taken = session.execute(
        select(User.id).where(func.lower(User.username) == username.lower())
    ).first()
    if taken is not None:
        raise Conflict(USERNAME_TAKEN())
    user = User(
        username=username,
        display_name=display_name or username,
        role_code=role,
        unit_id=unit.id,
        password_hash=passwords.hash_password(password),
        failed_logins=0,
        is_active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", object_type="user", object_id=user.id,
                 username=username, role=role, unit=unit.code)
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    """Users whose unit lies in the actor's subtree (用户列表), by username."""
    actor.require("user.manage")
    stmt = scope.visible(select(User).join(Unit, Unit.id == User.unit_id), actor, Unit)
    return list(session.execute(stmt.order_by(User.username)).scalars())


def _visible_user(session: Session, actor: Actor, user: User | None, ref: object) -> User:
    if user is None or not scope.sees(actor, unit_of(session, user)):
        raise NotFound(record_not_found("user", ref))
    return user


def get_user(
    session: Session, actor: Actor, *, username: str | None = None, user_id: int | None = None
) -> User:
    """One user in the actor's subtree, by username or id; NotFound otherwise."""
    actor.require("user.manage")
    if user_id is not None:
        return _visible_user(session, actor, session.get(User, user_id), user_id)
    user = session.execute(select(User).where(User.username == (username or "").strip())).scalar_one_or_none()
    return _visible_user(session, actor, user, username)


def _managed_user(session: Session, actor: Actor, user_id: int) -> User:
    user = get_user(session, actor, user_id=user_id)
    if not _may_grant(session, actor, user.role_code):
        raise CannotManageUser()
    return user


def _end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def unlock_user(session: Session, actor: Actor, *, user_id: int) -> User:
    """Lift a sign-in lockout (解除锁定), of the account and of every address; audited."""
    user = _managed_user(session, actor, user_id)
    cleared = session.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id)).rowcount
    was_locked = user.locked_until is not None
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit.record(session, actor, "user.unlocked", object_type="user", object_id=user.id,
                 username=user.username, account_was_locked=was_locked, addresses_cleared=cleared or 0)
    return user


def set_password(session: Session, actor: Actor, *, user_id: int, password: str) -> User:
    """Set a user's password (重置口令); clears any lockout and signs the user out everywhere."""
    user = _managed_user(session, actor, user_id)
    errors = _password_errors(password)
    if errors:
        raise ValidationFailed(INVALID_PASSWORD(), errors)
    user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id))
    _end_all_sessions(session, user.id)
    session.flush()
    audit.record(session, actor, "user.updated", object_type="user", object_id=user.id,
                 username=user.username, change="password")
    return user


def set_active(session: Session, actor: Actor, *, user_id: int, active: bool) -> User:
    """Enable or disable a user (启用/停用); a disabled user is signed out and its tokens stop working."""
    user = _managed_user(session, actor, user_id)
    if not active and actor.user_id == user.id:
        raise ValidationFailed(INVALID_CHANGE(), [FieldError("is_active", CANNOT_DISABLE_SELF())])
    if user.is_active != active:
        user.is_active = active
        if not active:
            _end_all_sessions(session, user.id)
        session.flush()
        audit.record(session, actor, "user.updated", object_type="user", object_id=user.id,
                     username=user.username, is_active=active)
    return user


def change_user(
    session: Session, actor: Actor, *, user_id: int, role: str | None = None, unit_code: str | None = None
) -> User:
    """Give a user another role or unit (调整角色/所属单位). The same rule as creating one: the actor
    manages the user as it is (no permission the actor lacks) and as it will be (the new role's
    permissions are all the actor's, the new unit lies in the actor's subtree). Audited."""
    user = _managed_user(session, actor, user_id)
    errors: list[FieldError] = []
    if role is not None:
        if session.get(Role, role) is None:
            errors.append(FieldError("role", UNKNOWN_ROLE()))
        elif not _may_grant(session, actor, role):
            errors.append(FieldError("role", CANNOT_GRANT()))
    unit: Unit | None = None
    if unit_code is not None:
        unit = scope.visible_unit_or_none(session, actor, code=unit_code)
        if unit is None:
            errors.append(FieldError("unit_code", UNKNOWN_UNIT_PLAIN()))
    if errors:
        raise ValidationFailed(INVALID_CHANGE(), errors)
    changes: dict[str, object] = {}
    if role is not None and role != user.role_code:
        changes["role"] = [user.role_code, role]
        user.role_code = role
    if unit is not None and unit.id != user.unit_id:
        changes["unit"] = [unit_of(session, user).code, unit.code]
        user.unit_id = unit.id
    if changes:
        session.flush()
        audit.record(session, actor, "user.updated", object_type="user", object_id=user.id,
                     username=user.username, **changes)
    return user


def actor_for_user(session: Session, user: User, *, ip: str | None = None) -> Actor:
    """The Actor a signed-in user acts as: role permissions from the matrix, unit path from the unit."""
    unit = unit_of(session, user)
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role_code,
        unit_id=unit.id,
        unit_path=unit.path,
        permissions=roles.permissions_of(session, user.role_code),
        ip=ip,
    )


def actor_for(session: Session, username: str, *, ip: str | None = None) -> Actor:
    """The Actor of an active user by name (`--as USER` on the command line); NotFound otherwise."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.is_active:
        raise NotFound(record_not_found("user", username))
    return actor_for_user(session, user, ip=ip)


# --- sign-in -----------------------------------------------------------------------------------------

@dataclass
class LoginResult:
    """What a sign-in attempt came to. `reason` (None on success) is for the audit log and tests,
    never for the person signing in: they see `LoginFailed().message` whatever it is."""

    user: User | None
    #: None | "unknown_user" | "wrong_password" | "inactive" | "locked"
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None

    def user_or_raise(self) -> User:
        """The user, or LoginFailed. Commit the session before calling this on a failure."""
        if self.user is None:
            raise LoginFailed()
        return self.user


def _find_login_user(session: Session, username: str) -> User | None:
    if not username or len(username) > 64:
        return None
    rows = list(session.execute(select(User).where(func.lower(User.username) == username.lower())).scalars())
    exact = [u for u in rows if u.username == username]
    if exact:
        return exact[0]
    return rows[0] if len(rows) == 1 else None


def _login_failed(session: Session, user: User | None, attempted: str, reason: str, ip: str | None,
                  **extra: object) -> LoginResult:
    audit.record(
        session,
        replace(ANONYMOUS, ip=ip),
        "auth.login_failed",
        object_type="user" if user is not None else None,
        object_id=user.id if user is not None else None,
        username=attempted[:64],
        reason=reason,
        ip=ip,
        **extra,
    )
    session.flush()
    return LoginResult(None, reason)


def _throttle(session: Session, user: User, address: str) -> LoginThrottle:
    row = session.execute(select(LoginThrottle).where(LoginThrottle.user_id == user.id,
                                                      LoginThrottle.address == address)).scalar_one_or_none()
    if row is None:
        row = LoginThrottle(user_id=user.id, address=address, failures=0, updated_at=clock.now())
        session.add(row)
        session.flush()
    return row


def authenticate(session: Session, *, username: str, password: str, ip: str | None = None) -> LoginResult:
    """Check a username and password (登录校验). Never raises for a refusal: see the module docstring.

    Unknown user, wrong password, disabled user and locked user all take one password verification
    (a dummy hash for unknown users) and give one outward answer.

    Lockout is per account *and client address*: after `login_max_failures` wrong passwords in a row
    from one address, that address is locked out of that account for `login_lockout_minutes` — the
    owner signs in from their own address meanwhile (no lockout denial of service by a name-guesser).
    After `login_account_max_failures` wrong passwords in a row from any addresses the account itself
    is locked for `login_account_lockout_hours`, or until an administrator unlocks it (audited). State
    is in the database, shared by every server worker. Success resets the address's counter and the
    account's, and sets `last_login_at`.
    """
    settings = get_settings()
    now = clock.now()
    attempted = (username or "").strip()
    password = password or ""
    address = (ip or "-")[:64]
    user = _find_login_user(session, attempted)
    if user is None:
        passwords.burn_verify(password)
        return _login_failed(session, None, attempted, "unknown_user", ip)
    password_ok = passwords.verify_password(user.password_hash, password)
    if not user.is_active:
        return _login_failed(session, user, attempted, "inactive", ip)
    if user.locked_until is not None and user.locked_until > now:
        return _login_failed(session, user, attempted, "locked", ip, scope="account")
    throttle = _throttle(session, user, address)
    if throttle.locked_until is not None and throttle.locked_until > now:
        return _login_failed(session, user, attempted, "locked", ip, scope="address")
    if not password_ok:
        # increment in the database, so parallel attempts cannot each read the same old count
        session.execute(
            update(LoginThrottle).where(LoginThrottle.id == throttle.id)
            .values(failures=LoginThrottle.failures + 1, updated_at=now),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1),
            execution_options={"synchronize_session": False},
        )
        session.refresh(throttle, ["failures"])
        session.refresh(user, ["failed_logins"])
        extra: dict[str, object] = {"failures": throttle.failures}
        if throttle.failures >= settings.login_max_failures:
            throttle.locked_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
            throttle.failures = 0
            extra["locked_until"] = clock.iso_local(throttle.locked_until)
        if user.failed_logins >= settings.login_account_max_failures:
            user.locked_until = now + dt.timedelta(hours=settings.login_account_lockout_hours)
            user.failed_logins = 0
            extra["account_locked_until"] = clock.iso_local(user.locked_until)
        return _login_failed(session, user, attempted, "wrong_password", ip, **extra)
    throttle.failures, throttle.locked_until, throttle.updated_at = 0, None, now
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    audit.record(session, actor_for_user(session, user, ip=ip), "auth.login", object_type="user",
                 object_id=user.id, ip=ip)
    return LoginResult(user, None)


# --- web sessions ------------------------------------------------------------------------------------

def start_session(session: Session, user: User, *, replacing: str | None = None) -> tuple[str, str]:
    """Open a browser session (会话): returns (cookie token, CSRF token). Only the token's hash is stored.

    The token is always new (never one the browser brought: no session fixation), and `replacing` —
    the session cookie the browser presented while signing in, whoever it belonged to — is ended."""
    if replacing and len(replacing) <= 200:
        session.execute(delete(WebSession).where(WebSession.token_hash == _sha256(replacing)))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(WebSession(token_hash=_sha256(token), user_id=user.id, csrf_token=csrf,
                           created_at=now, last_seen_at=now))
    session.flush()
    return token, csrf


def _session_timeout() -> dt.timedelta:
    return dt.timedelta(minutes=get_settings().session_timeout_minutes)


def _session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=get_settings().session_max_hours)


def resolve_session(session: Session, token: str | None) -> tuple[User, WebSession] | None:
    """The user behind a cookie token, or None. Sliding expiry: `session_timeout_minutes` without
    activity ends the session (the row is deleted); activity moves `last_seen_at` (at most every 30 s).
    Absolute expiry: `session_max_hours` after sign-in the session ends however active it is."""
    if not token or len(token) > 200:
        return None
    ws = session.get(WebSession, _sha256(token))
    if ws is None:
        return None
    now = clock.now()
    user = session.get(User, ws.user_id)
    # a read-only request (a progress poll while an import holds SQLite's write lock) writes nothing
    writes = not session.info.get("read_only")
    if (user is None or not user.is_active or now - ws.last_seen_at > _session_timeout()
            or now - ws.created_at > _session_lifetime()):
        if writes:
            session.delete(ws)
            session.flush()
        return None
    if writes and now - ws.last_seen_at >= TOUCH_EVERY:
        ws.last_seen_at = now
        session.flush()
    return user, ws


def end_session(session: Session, token: str | None, *, ip: str | None = None) -> None:
    """Sign out (退出登录): delete the session; audited as auth.logout. Unknown tokens are ignored."""
    if not token:
        return
    ws = session.get(WebSession, _sha256(token))
    if ws is None:
        return
    user = session.get(User, ws.user_id)
    session.delete(ws)
    session.flush()
    if user is not None:
        audit.record(session, actor_for_user(session, user, ip=ip), "auth.logout", object_type="user",
                     object_id=user.id)


def purge_expired_sessions(session: Session) -> int:
    """Delete sessions idle longer than the timeout or older than their lifetime; returns how many."""
    now = clock.now()
    result = session.execute(delete(WebSession).where(or_(WebSession.last_seen_at < now - _session_timeout(),
                                                          WebSession.created_at < now - _session_lifetime())))
    return int(getattr(result, "rowcount", 0) or 0)


# --- API tokens --------------------------------------------------------------------------------------

def create_token(
    session: Session,
    actor: Actor,
    *,
    username: str,
    label: str | None = None,
    read_only: bool = False,
    operations: Iterable[str] | None = None,
) -> tuple[ApiToken, str]:
    """Issue a bearer token (接口令牌) for a user; returns (row, plaintext). The plaintext is shown
    once: only its SHA-256 and a short prefix (for recognising it in lists) are stored.

    The token never carries more than `actor` holds: the actor's permissions are stored as its ceiling
    and the actor as its creator (`kernel.auth.scopes`). `read_only` and `operations` (names from
    `scopes.OPERATIONS`) narrow it further."""
    user = get_user(session, actor, username=username)
    if not _may_grant(session, actor, user.role_code):
        raise CannotManageUser()
    label = (label or "").strip() or None
    errors: list[FieldError] = []
    if label is not None and len(label) > 100:
        errors.append(FieldError("label", TOO_LONG(max=100)))
    ops = sorted({o.strip() for o in operations or () if o.strip()})
    unknown = [o for o in ops if o not in scopes.OPERATIONS]
    if unknown:
        errors.append(FieldError("operations", UNKNOWN_OPERATION(operation=unknown,
                                                                 known=sorted(scopes.OPERATIONS))))
    if errors:
        raise ValidationFailed(INVALID_TOKEN(), errors)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, label=label, token_hash=_sha256(plaintext), prefix=plaintext[:10],
                     created_at=clock.now(), created_by_id=actor.user_id,
                     ceiling=None if "*" in actor.permissions else " ".join(sorted(actor.permissions)),
                     read_only=read_only, operations=" ".join(ops) or None)
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.created", object_type="api_token", object_id=token.id,
                 username=user.username, label=label, prefix=token.prefix, read_only=read_only,
                 operations=ops or None)
    return token, plaintext


def _live_token(session: Session, plaintext: str | None) -> tuple[ApiToken, User] | None:
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _sha256(plaintext))
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    now = clock.now()
    if not session.info.get("read_only") and (token.last_used_at is None
                                              or now - token.last_used_at >= TOUCH_EVERY):
        token.last_used_at = now
        session.flush()
    return token, user


def resolve_token(session: Session, plaintext: str | None) -> User | None:
    """The active user behind a bearer token, or None (unknown, revoked, or the user is disabled)."""
    found = _live_token(session, plaintext)
    return found[1] if found is not None else None


def token_actor(session: Session, plaintext: str | None, *, ip: str | None = None) -> tuple[Actor, ApiToken] | None:
    """The Actor a bearer token acts as — its user with the token's effective permissions (never more
    than its creator's, recomputed now) — and the token, for its scope; None for a dead token."""
    found = _live_token(session, plaintext)
    if found is None:
        return None
    token, user = found
    actor = actor_for_user(session, user, ip=ip)
    return replace(actor, permissions=scopes.effective_permissions(session, token, user, actor.permissions)), token


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token (吊销令牌); revoking it again changes nothing."""
    actor.require("user.manage")
    token = session.get(ApiToken, token_id)
    user = session.get(User, token.user_id) if token is not None else None
    if token is None or user is None or not scope.sees(actor, unit_of(session, user)):
        raise NotFound(record_not_found("token", token_id))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.flush()
        audit.record(session, actor, "token.revoked", object_type="api_token", object_id=token.id,
                     username=user.username, prefix=token.prefix)
    return token


def list_tokens(
    session: Session, actor: Actor, *, username: str | None = None
) -> list[tuple[ApiToken, User]]:
    """Tokens of users in the actor's subtree (newest first), with their users."""
    actor.require("user.manage")
    stmt = scope.visible(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                         .join(Unit, Unit.id == User.unit_id), actor, Unit).order_by(ApiToken.id.desc())
    if username:
        stmt = stmt.where(User.username == username)
    return [(t, u) for t, u in session.execute(stmt)]


# --- demo users --------------------------------------------------------------------------------------

@dataclass
class DemoUser:
    """One demo account (演示账号); `password` is None when the user existed and its password is unknown."""

    username: str
    role: str
    role_name: str
    unit_code: str
    unit_name: str
    password: str | None


def ensure_demo_users(session: Session, *, password_file: Path) -> list[DemoUser]:
    """One demo user per role (演示账号); see `fangkong.kernel.auth.demo.ensure_demo_users`."""
    from fangkong.kernel.auth import demo

    return demo.ensure_demo_users(session, password_file=password_file)
