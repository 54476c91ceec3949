"""Users, roles as data, the permission matrix, web sessions and API tokens (认证与授权)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.kernel.db import Base, UTCDateTime


class Role(Base):
    """A role (角色): command centre, district, street, community, grid worker, checkpoint …"""

    __tablename__ = "role"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))


class RolePermission(Base):
    """One cell of the permission matrix: this role may do this."""

    __tablename__ = "role_permission"
    role_code: Mapped[str] = mapped_column(ForeignKey("role.code", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class User(Base):
    """A person who signs in (用户), bound to exactly one jurisdiction unit."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role_code: Mapped[str] = mapped_column(ForeignKey("role.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser session; the cookie carries a random token whose hash is the key."""

    __tablename__ = "web_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for machine clients (接口令牌), stored as a SHA-256 hash; shown once at creation.

    It acts as its user, but never with more than its creator held: `ceiling` keeps the creator's
    permissions at creation and `created_by_id` names the creator, whose current permissions bound the
    token again at every use. `read_only` and `operations` narrow it further (`kernel.auth.scopes`).
    """

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the user who created it; None for the command line (the system). Deleting the creator deletes
    #: the token: it must never outlive the limit its creator set.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    #: the creator's permissions at creation, space-separated; None when the system created it
    ceiling: Mapped[str | None] = mapped_column(Text)
    #: no unsafe method, no unmask, no export
    read_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: named operations it may call, space-separated (`kernel.auth.scopes.OPERATIONS`); None = any
    operations: Mapped[str | None] = mapped_column(String(500))


class LoginThrottle(Base):
    """Failed sign-ins of one account from one client address (登录失败计数).

    Wrong passwords from one address lock the account *for that address* only, so an attacker who
    knows a user name cannot lock its owner out from the owner's own machine (a lockout denial of
    service). The state lives in the database, so several server workers share it.
    """

    __tablename__ = "login_throttle"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "address", name="uq_login_throttle_user_address"),)
