"""Demo users (演示账号): one per role, bound to sensible units of the current tree, with their
passwords kept in a private file (mode 0600) for whoever runs the demonstration."""

from __future__ import annotations

import os
from pathlib import Path

from rich.cells import cell_len
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.auth import passwords, roles
from fangkong.kernel.auth.actor import SYSTEM_ACTOR
from fangkong.kernel.auth.models import Role, User
from fangkong.kernel.auth.service import DemoUser, create_user, root_unit, unit_of
from fangkong.kernel.jurisdictions.models import Unit

#: role → the level of the unit its demo user is bound to (other roles: the root)
DEMO_LEVEL: dict[str, str] = {
    "district": "district",
    "street": "street",
    "community": "community",
    "grid": "grid",
    "checkpoint": "grid",
    "sampler": "grid",
    "enterprise": "grid",
}
_UNKNOWN_PASSWORD = "(未记录)"


def _demo_units(session: Session) -> dict[str, Unit]:
    """The root, its first district, that district's first street … (units ordered by path); a level
    missing from the tree falls back to the nearest ancestor chosen."""
    current = root_unit(session)
    chosen = {"city": current}
    for level in ("district", "street", "community", "grid"):
        child = session.execute(
            scope.within(select(Unit).where(Unit.level == level), current, Unit)
            .order_by(Unit.path).limit(1)
        ).scalar_one_or_none()
        if child is not None:
            current = child
        chosen[level] = current
    return chosen


def _read_password_file(path: Path) -> dict[str, str]:
    """username → password from a file written by `_write_password_file` (columns split on spaces;
    the username column is the first token that names a role, the password the token after it)."""
    if not path.exists():
        return {}
    known: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens = line.split()
        for i, tok in enumerate(tokens[1:-1], start=1):
            if tok in roles.ROLES:
                if not tokens[i + 1].startswith("("):
                    known[tok] = tokens[i + 1]
                break
    return known


def _pad(text: str, width: int) -> str:
    """Left-align in `width` terminal cells (a Chinese character takes two)."""
    return text + " " * max(0, width - cell_len(text))


def _one_word(text: str) -> str:
    """A role name as one token that cannot start a comment, so the file reads back unambiguously."""
    return "_".join(text.split()).lstrip("#")


def format_demo_table(users: list[DemoUser]) -> str:
    """The aligned table (role, username, password, unit) written to the password file and printed."""
    rows = [("角色", "用户名", "密码", "单位")] + [
        (_one_word(u.role_name) or u.role, u.username, u.password or _UNKNOWN_PASSWORD,
         " ".join(f"{u.unit_name} ({u.unit_code})".split()))
        for u in users
    ]
    widths = [max(cell_len(r[i]) for r in rows) + 2 for i in range(3)]
    return "\n".join(
        "".join(_pad(cell, widths[i]) for i, cell in enumerate(r[:3])) + r[3] for r in rows
    ) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (mode 0600), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)  # the mode given to os.open applies only when the file is new
    os.replace(tmp, path)


def ensure_demo_users(session: Session, *, password_file: Path) -> list[DemoUser]:
    """One demo user per role (演示账号), named after the role, bound to a unit of the current tree.

    Idempotent: existing users are left as they are (their passwords are read back from the password
    file when it has them); new users get random readable passwords. The file (mode 0600) is rewritten
    with the whole table.
    """
    known = _read_password_file(password_file)
    units = _demo_units(session)
    role_rows = {r.code: r for r in session.execute(select(Role)).scalars()}
    result: list[DemoUser] = []
    for code in roles.ROLES:
        role = role_rows.get(code)
        if role is None:  # removed by an administrator
            continue
        user = session.execute(select(User).where(User.username == code)).scalar_one_or_none()
        password: str | None
        if user is None:
            password = passwords.generate_password()
            unit = units[DEMO_LEVEL.get(code, "city")]
            user = create_user(session, SYSTEM_ACTOR, username=code, role=code, unit_code=unit.code,
                               password=password, display_name=f"{role.name_zh}(演示)")
        else:
            password = known.get(code)
        unit = unit_of(session, user)
        user_role = role_rows.get(user.role_code, role)
        result.append(DemoUser(username=user.username, role=user.role_code, role_name=user_role.name_zh,
                               unit_code=unit.code, unit_name=unit.name, password=password))
    header = (f"# 防控平台演示账号(仅供演示和培训,切勿用于生产)生成于 {clock.iso_local(clock.now())}\n"
              "# Fangkong demo accounts (for demonstrations and training only)\n")
    _write_private(password_file, header + format_demo_table(result))
    return result
