"""Retention (数据保存期限): every kind of data deleted or anonymised when the policy pack says, audited.

One nightly job (`retention.run`) asks the active pack how long each registered kind is kept
(`retention.*`, `venues.retention_days`), computes the cut-off from the platform clock, and lets the
kind's owner delete or anonymise what is older. The kernel's own kinds:

- `persons` (anonymise): ID number, phone, name, address and birth date dropped from a person whom no
  registered hold names (no open lead, no measure in force or recently ended, no key group, no kept
  scan, no open task …) and whom nothing changed for `retention.person_days`. The row stays, so
  counts and history still add up.
- `sessions` (delete): sign-in sessions past their idle timeout.
- `import_files` (delete): a page import's folder (its report; the upload is gone once it ran)
  `retention.import_file_days` after the import finished, or after it was submitted when it never
  finished (its upload stays otherwise) — nothing cleaned them before.
- `exports` (delete): files left in `<data dir>/exports/` older than `retention.export_days`.
- `audit` (keep): the audit log is append-only and kept at least six months (the pack schema refuses
  less, 网络安全法 第21条); its events are never deleted here.

One audit event (`retention.run`) records the counts per kind and the cut-offs — never values.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select, union, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.people.models import Person
from fangkong.kernel.policy import service as policy_service
from fangkong.kernel.retention.registry import HOLDS, KINDS, register_hold, register_kind
from fangkong.kernel.tasks.models import Task
from fangkong.settings import get_settings


@dataclass
class RetentionRun:
    at: dt.datetime
    #: kind → {"action", "days", "cutoff", "count"}
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": clock.iso_local(self.at), "kinds": self.kinds}


def cutoffs(session: Session, now: dt.datetime | None = None) -> dict[str, tuple[int | None, dt.datetime | None]]:
    """Per registered kind: (days kept, cut-off) under the active pack; (None, None) when kept."""
    now = now or clock.now()
    pack = policy_service.active_pack(session)
    out: dict[str, tuple[int | None, dt.datetime | None]] = {}
    for code, kind in sorted(KINDS.items()):
        days = kind.days(pack)
        out[code] = (days, None if days is None else now - dt.timedelta(days=days))
    return out


def run(session: Session, actor: Actor, *, kinds: list[str] | None = None) -> RetentionRun:
    """Apply every registered kind's retention now (the job's one call); audited with the counts."""
    now = clock.now()
    result = RetentionRun(now)
    for code, (days, cutoff) in cutoffs(session, now).items():
        if kinds and code not in kinds:
            continue
        kind = KINDS[code]
        count = 0 if kind.purge is None or cutoff is None else kind.purge(session, cutoff, now)
        result.kinds[code] = {"action": kind.action, "days": days, "count": count,
                              "cutoff": None if cutoff is None else clock.iso_local(cutoff)}
    session.flush()
    audit.record(session, actor, "retention.run", object_type="retention",
                 counts={c: k["count"] for c, k in result.kinds.items()},
                 cutoffs={c: k["cutoff"] for c, k in result.kinds.items()})
    return result


# --- the kernel's own kinds -------------------------------------------------------------------------

#: what anonymising a person drops: every identifying column (the row and its links stay)
ANONYMISED = {"name": None, "name_key": None, "id_number_enc": None, "id_number_bidx": None,
              "id_number_masked": None, "id_number_valid": False, "phone_enc": None, "phone_bidx": None,
              "phone_masked": None, "birth_date": None, "sex": None, "address_text": None, "address_id": None}


def held_persons(session: Session, now: dt.datetime) -> Any:
    """The union of every registered hold: person ids that keep their identity."""
    pack = policy_service.active_pack(session)
    return union(*(hold(session, now, pack) for _code, hold in sorted(HOLDS.items())))


def anonymise_persons(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Drop the identity of persons no hold names and nothing changed since `cutoff`."""
    held = held_persons(session, now).subquery()
    identifying = or_(Person.name.is_not(None), Person.id_number_enc.is_not(None), Person.phone_enc.is_not(None),
                      Person.address_text.is_not(None))
    # NULLs dropped: one NULL in a NOT IN list would keep everybody (three-valued logic)
    keep = select(held.c[0]).where(held.c[0].is_not(None))
    stmt = (update(Person).where(Person.updated_at < cutoff, identifying, Person.id.not_in(keep))
            .values(**ANONYMISED, updated_at=now).execution_options(synchronize_session=False))
    return int(session.execute(stmt).rowcount or 0)


def _open_task_subjects(session: Session, now: dt.datetime, pack: Any) -> Any:
    return select(Task.subject_id).where(Task.subject_type == "person", Task.subject_id.is_not(None),
                                         Task.status == "open")


def _purge_sessions(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    from fangkong.kernel.auth import service as auth_service

    return auth_service.purge_expired_sessions(session)


def _purge_import_files(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Remove the folders of page imports finished (done or failed) before the cut-off, and of imports
    submitted before it that never finished (their process died: the upload would stay forever)."""
    root = get_settings().data_dir / "imports"
    done = 0
    for folder in session.execute(select(ImportJob.folder).where(or_(
            and_(ImportJob.finished_at.is_not(None), ImportJob.finished_at < cutoff),
            and_(ImportJob.finished_at.is_(None), ImportJob.created_at < cutoff)))).scalars():
        path = root / folder
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            done += 1
    return done


def _purge_exports(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Delete export files left in `<data dir>/exports/` last written before the cut-off."""
    root = get_settings().data_dir / "exports"
    if not root.is_dir():
        return 0
    done = 0
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            done += 1
    return done


register_kind("persons", days=lambda p: p.retention.person_days, purge=anonymise_persons, action="anonymise")
register_kind("sessions", days=lambda p: 0, purge=_purge_sessions, action="delete")
register_kind("import_files", days=lambda p: p.retention.import_file_days, purge=_purge_import_files,
              action="delete")
register_kind("exports", days=lambda p: p.retention.export_days, purge=_purge_exports, action="delete")
register_kind("audit", days=lambda p: None, purge=None, action="keep")
register_hold("tasks", _open_task_subjects)
