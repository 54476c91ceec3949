"""`fangkong init`: a fresh database made ready (migrations, key, root unit, roles, default pack).

Running it again changes nothing (decisions.md, "A fresh database").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.auth.roles import seed_roles
from fangkong.kernel.db import get_setting, migrate, put_setting
from fangkong.kernel.jurisdictions.models import Unit
from fangkong.kernel.messages import Term, _, message
from fangkong.kernel.people import crypto
from fangkong.settings import get_settings


@dataclass
class InitReport:
    key_created: bool
    mode: str
    root_unit_created: bool
    roles_added: int


class ModeMismatch(RuntimeError):
    pass


UNKNOWN_MODE = message("mode.unknown", _("unknown mode %(mode)s; choose one of %(modes)s"))
FIXED_CLOCK_IN_PRODUCTION = message("mode.fixed_clock", _(
    "FANGKONG_NOW is set, but this is a production database: unset it (a fixed clock works only in a "
    "database made by `fangkong init --mode test` or `--mode drill`)"))
OTHER_MODE = message("mode.mismatch", _("this database was initialised in %(stored)s mode, not %(mode)s"))


def ensure_root_unit(session: Session) -> tuple[Unit, bool]:
    root = session.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).scalars().first()
    if root is not None:
        return root, False
    settings = get_settings()
    root = Unit(code=settings.root_unit_code, name=settings.root_unit_name, level="city", path="", depth=0)
    session.add(root)
    session.flush()
    root.path = f"/{root.id}/"
    session.flush()
    return root, True


def initialise(engine: Engine, session: Session, *, mode: str | None = None) -> InitReport:
    """Migrate to head, then seed. `mode` is fixed at the first init; a different one later is an error."""
    from fangkong.kernel.files import private_dir
    from fangkong.settings import get_settings

    private_dir(get_settings().data_dir)  # key, database, exports: 0700
    key_created = crypto.ensure_key_file()
    migrate(engine)
    stored = get_setting(session, "mode")
    if stored is None:
        stored = mode or "production"
        if stored not in clock.MODES:
            raise ModeMismatch(UNKNOWN_MODE(mode=repr(stored), modes=list(clock.MODES)))
        put_setting(session, "mode", stored)
    elif mode is not None and mode != stored:
        raise ModeMismatch(OTHER_MODE(stored=Term(stored, kind="mode"), mode=Term(mode, kind="mode")))
    clock.configure(stored)
    _, root_created = ensure_root_unit(session)
    from fangkong.kernel.policy import service as policy_service  # here: every command reads the mode

    added = seed_roles(session)
    policy_service.ensure_default_pack(session)
    return InitReport(key_created, stored, root_created, added)


def load_mode(session: Session) -> str:
    """Read the stored mode into the clock (app and CLI start-up). A production database refuses to
    start with `FANGKONG_NOW` set (decisions.md, "Clock and modes"): a fixed clock there would date
    real records wrongly."""
    from fangkong.settings import get_settings

    mode = get_setting(session, "mode") or "production"
    if mode == "production" and get_settings().now:
        raise ModeMismatch(FIXED_CLOCK_IN_PRODUCTION())
    clock.configure(mode)
    return mode
