"""Control's files importable from the pages and the API (隔离点、房间、在管措施、健康打卡导入).

Pages submit them as import jobs (`fangkong.kernel.imports`: progress view, per-row report as CSV); the
API runs the same runner in the request (`run_now`, the file bounded by the kernel's upload limit).
Either way each kind runs the very service `fangkong import sites|rooms|measures|checkins` runs, with
its permission and its idempotency."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.imports import service as imports_service
from fangkong.kernel.imports.service import register_import
from fangkong.kernel.messages import _
from fangkong.kernel.tabular import ReportRow, read_table

SITES = "control.sites"
ROOMS = "control.rooms"
MEASURES = "control.measures"
CHECKINS = "control.checkins"


def _check_sites(path: Path) -> None:
    from fangkong.control.sites.service.sites import SITE_COLUMNS

    read_table(path, SITE_COLUMNS, required_any=["ref", "name"])


def _run_sites(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None],
               **_options: Any) -> list[ReportRow]:
    from fangkong.control.sites.service import sites

    return list(sites.import_sites_file(session, actor, path, progress=progress))


def _check_rooms(path: Path) -> None:
    from fangkong.control.sites.service.sites import ROOM_COLUMNS

    read_table(path, ROOM_COLUMNS, required_any=["site_ref", "room"])


def _run_rooms(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None],
               **_options: Any) -> list[ReportRow]:
    from fangkong.control.sites.service import sites

    return list(sites.import_rooms_file(session, actor, path, progress=progress))


def _check_measures(path: Path) -> None:
    from fangkong.control.service.imports import MEASURE_COLUMNS

    read_table(path, MEASURE_COLUMNS, required_any=["category"])


def _run_measures(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None],
                  anchor: str = "start", **_options: Any) -> Sequence[ReportRow]:
    from fangkong.control.service import imports

    return imports.import_measures(session, actor, path, anchor=anchor, progress=progress)


def _check_checkins(path: Path) -> None:
    from fangkong.control.service.checkins import CHECKIN_COLUMNS

    read_table(path, CHECKIN_COLUMNS, required_any=["checked_at", "temperature"])


def _run_checkins(session: Session, actor: Actor, path: Path, *, progress: Callable[[int], None],
                  **_options: Any) -> Sequence[ReportRow]:
    from fangkong.control.service import checkins

    return checkins.import_checkins(session, actor, path, progress=progress)


register_import(SITES, label=_("Quarantine site import report"), permission="place.manage", run=_run_sites,
                check=_check_sites, extra_columns=("site_id",),
                record=("site_id", "/quarantine-sites/{}", _("Quarantine site")),
                back=("/quarantine-sites", _("Quarantine sites")))
register_import(ROOMS, label=_("Room import report"), permission="place.manage", run=_run_rooms,
                check=_check_rooms, extra_columns=("room_id",), back=("/quarantine-sites", _("Quarantine sites")))
register_import(MEASURES, label=_("Measure import report"), permission="measure.start", run=_run_measures,
                check=_check_measures, extra_columns=("measure_id",),
                back=("/releases", _("Release from measures")))
register_import(CHECKINS, label=_("Check-in import report"), permission="measure.checkin", run=_run_checkins,
                check=_check_checkins, extra_columns=("measure_id", "alert"), back=("/checkins", _("Check-ins")))


def run_now(session: Session, actor: Actor, *, kind: str, filename: str | None, stream: BinaryIO,
            options: dict[str, Any] | None = None) -> Sequence[ReportRow]:
    """Import an uploaded file in this unit of work (the API's answer is its report): the kind's
    permission first, the kernel's limits on type and size, then the kind's runner — the service the
    command line runs. A file without a usable header raises UnusableFile, nothing stored."""
    k = imports_service.kind_of(kind)
    actor.require(k.permission)
    name, suffix = imports_service._safe_name(filename)
    if suffix not in imports_service.SUFFIXES:
        raise ValidationFailed("unknown file type", [FieldError("file", imports_service.FILE_TYPE())])
    data = stream.read(imports_service.MAX_UPLOAD + 1)
    if len(data) > imports_service.MAX_UPLOAD:
        raise ValidationFailed("file too large", [FieldError("file", imports_service.FILE_TOO_LARGE())])
    if not data:
        raise ValidationFailed("empty file", [FieldError("file", imports_service.FILE_EMPTY())])
    with tempfile.TemporaryDirectory(prefix="fangkong-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return k.run(session, actor, path, progress=lambda _n: None, **dict(options or {}))
