"""Who is acting: a user bound to one unit, with the permissions of their role."""

from __future__ import annotations

from dataclasses import dataclass, field

from fangkong.kernel.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    unit_id: int | None
    #: materialised path of the actor's unit, e.g. "/1/4/"; "/" for the system
    unit_path: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(permission)

    def sees_path(self, path: str | None) -> bool:
        return path is not None and path.startswith(self.unit_path)


#: jobs, imports run by an operator on the server, migrations
SYSTEM_ACTOR = Actor(user_id=None, username="system", role="admin", unit_id=None, unit_path="/",
                     permissions=frozenset({"*"}))
