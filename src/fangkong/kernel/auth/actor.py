"""Who is acting: a user bound to one unit, with the permissions of their role."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    #: set on an actor carrying out the consequences of an action (`acting_for`): the action's permission
    via: str | None = None

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(permission)

    def sees_path(self, path: str | None) -> bool:
        """Prefer `fangkong.kernel.scope.sees` (the one place scope is decided)."""
        return path is not None and path.startswith(self.unit_path)

    def acting_for(self, permission: str, *grants: str) -> Actor:
        """This same user carrying out what an action of theirs sets off in other capabilities (后续处置):
        a lab's positive pool puts its members under control, hands them to intake and gives their grids
        a retest task; a grid worker's "not at this address" re-pushes the search to the parent unit.

        Needs `permission`, the action's own (`testing.result`), so a user who may not take the action
        reaches none of its consequences. The actor returned is the same user — every audit row names
        them, with `acting_for` = `permission` — holding their own permissions plus `grants` (what the
        consequences need: `lead.import`, `measure.start`, `task.work` …) and placing rows wherever the
        consequence belongs (a pool's members live anywhere). Use it only to carry out the consequence,
        never to answer the user's own reads. Jobs and the command line act as `SYSTEM_ACTOR`.
        """
        self.require(permission)
        return replace(self, permissions=self.permissions | frozenset(grants), unit_path="/", via=permission)


#: jobs, imports run by an operator on the server, migrations
SYSTEM_ACTOR = Actor(user_id=None, username="system", role="admin", unit_id=None, unit_path="/",
                     permissions=frozenset({"*"}))
