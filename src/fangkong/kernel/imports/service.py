"""Page imports as jobs (页面导入任务).

A file submitted from a page is stored, recorded as a job and imported after the request has
committed, in a worker thread with a unit of work of its own, as the user who submitted it (their
permissions, their name on every audit row). The page shows the job's progress, polled every second,
then the per-row report, downloadable as CSV (the same report `fangkong import … --report` writes).
Web requests never import a file themselves, so a 100,000-row file never holds a request open.

A capability makes a kind of file importable from its pages with `register_import`:

    register_import("intake.leads", label=_("Lead import"), permission="lead.import",
                    run=run_leads,                 # (session, actor, path, *, progress, **options) -> rows
                    check=check_leads,             # (path) -> None, raises UnusableFile: at once, on the form
                    extra_columns=("lead_id",), record=("lead_id", "/leads/{}", _("Lead")),
                    back=("/leads", _("Leads")))

and its upload route hands the file over (`kernel.web.routes_imports.start` runs it after the commit):

    job = imports_service.submit(session, actor, kind="intake.leads", filename=file.filename,
                                 stream=file.file, options={"channel": channel})
    return routes_imports.start(request, job)      # 303 to /imports/<id>, the progress view

The running count lives in the process that runs the job (the row only gets the final one). The import
commits a chunk at a time (`tabular.checkpoint`), so it never holds SQLite's write lock for longer than
one chunk; a crash keeps the chunks stored so far, and importing the file again stores the rest once.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from fangkong.kernel import clock, scope, tabular
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import DomainError, FieldError, NotFound, ValidationFailed
from fangkong.kernel.i18n import LOCALES
from fangkong.kernel.imports.models import ImportJob
from fangkong.kernel.messages import FieldIssue, Message, _, labels, message, translate
from fangkong.kernel.people import service as people_service
from fangkong.kernel.tabular import ReportRow, UnusableFile, summarise, write_report
from fangkong.settings import get_settings

log = logging.getLogger("fangkong.imports")

MAX_UPLOAD = 20 * 1024 * 1024
#: report lines the page shows (the CSV has them all)
SHOWN_ROWS = 500
SUFFIXES = (".csv", ".xlsx")

FILE_TYPE = message("import.file_type", _("the file must be .csv or .xlsx"))
FILE_TOO_LARGE = message("import.file_too_large", _("at most 20 MB"))
FILE_EMPTY = message("import.file_empty", _("the file is empty"))
SUBMITTER_GONE = message("import.submitter_gone", _("the user who submitted the file can no longer sign in"))
labels("audit_action", {"import.submitted": _("File submitted for import"),
                        "import.finished": _("Page import finished")})
labels("record", {"importjob": _("import job")})
JOB_CRASHED = message("import.crashed", _("the import stopped on an unexpected error; nothing was stored"))
#: imports commit a chunk at a time: what a crash after the first chunk leaves, and how to finish
JOB_CRASHED_PART = message("import.crashed_partly", _(
    "the import stopped on an unexpected error; the rows read before it are stored. Import the same file "
    "again: stored rows are reported as duplicates and the rest is stored once"))

#: run(session, actor, path, *, progress, **options) -> report rows
Runner = Callable[..., list[ReportRow]]


@dataclass(frozen=True)
class ImportKind:
    """A kind of file a page may submit."""

    code: str
    label: str
    permission: str
    run: Runner
    check: Callable[[Path], Any] | None = None
    extra_columns: tuple[str, ...] = ()
    #: (report column, link pattern with `{}`, label) for the record a row made, e.g. a lead
    record: tuple[str, str, str] | None = None
    #: where the page offers to go back to: (url, label)
    back: tuple[str, str] = ("/", "Home")


_KINDS: dict[str, ImportKind] = {}
_progress: dict[int, int] = {}
_lock = threading.Lock()


def register_import(code: str, *, label: str, permission: str, run: Runner,
                    check: Callable[[Path], Any] | None = None, extra_columns: tuple[str, ...] = (),
                    record: tuple[str, str, str] | None = None, back: tuple[str, str] = ("/", "Home")) -> ImportKind:
    """Make a kind of file importable from the pages (idempotent for the same code)."""
    kind = ImportKind(code, label, permission, run, check, tuple(extra_columns), record, back)
    _KINDS[code] = kind
    return kind


def kind_of(code: str) -> ImportKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise NotFound(f"import kind {code}") from None


def _folder(job: ImportJob) -> Path:
    return get_settings().data_dir / "imports" / job.folder


def _safe_name(filename: str | None) -> tuple[str, str]:
    name = Path(filename or "upload").name
    suffix = Path(name).suffix.lower()
    stem = re.sub(r"[^\w.\-]", "_", Path(name).stem)[:80] or "upload"
    return stem + suffix, suffix


def submit(session: Session, actor: Actor, *, kind: str, filename: str | None, stream: BinaryIO,
           options: dict[str, Any] | None = None) -> ImportJob:
    """Store an uploaded file and queue its import (the caller starts it after the commit). Needs the
    kind's permission. A wrong type, an empty or too large file is a ValidationFailed on `file`; a file
    the kind's `check` cannot use raises UnusableFile; either way nothing is kept."""
    k = kind_of(kind)
    actor.require(k.permission)
    name, suffix = _safe_name(filename)
    if suffix not in SUFFIXES:
        raise ValidationFailed("unknown file type", [FieldError("file", FILE_TYPE())])
    data = stream.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed("file too large", [FieldError("file", FILE_TOO_LARGE())])
    if not data:
        raise ValidationFailed("empty file", [FieldError("file", FILE_EMPTY())])
    unit = scope.base_unit(session, actor)
    job = ImportJob(kind=kind, filename=Path(filename or name).name[:255], folder=secrets.token_hex(16),
                    options=dict(options or {}), status="queued", rows=0, counts={}, actor_id=actor.user_id,
                    actor_name=actor.username, actor_ip=actor.ip, created_at=clock.now(), unit_id=unit.id,
                    unit_path=unit.path)
    folder = _folder(job)
    (folder / "upload").mkdir(parents=True, exist_ok=True)
    path = folder / "upload" / name
    path.write_bytes(data)
    if k.check is not None:
        try:
            k.check(path)
        except UnusableFile:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    session.add(job)
    session.flush()
    audit.record(session, actor, "import.submitted", object_type="import_job", object_id=job.id, kind=kind,
                 file=job.filename, bytes=len(data))
    return job


def upload_path(job: ImportJob) -> Path | None:
    """The stored upload (None once the job has run)."""
    upload = _folder(job) / "upload"
    files = sorted(upload.glob("*")) if upload.exists() else []
    return files[0] if files else None


def _as_json(value: Any) -> dict[str, Any]:
    """A message as stored for the page: its code and parameters, its English text, and its text in
    every language of the platform, made now (parameters such as a pack's level names translate
    themselves and do not survive JSON)."""
    shown = {locale: translate(value, locale) for locale in LOCALES}
    if isinstance(value, Message):
        return {**value.as_json(), "text": str(value), "shown": shown}
    return {"text": str(value), "shown": shown}


def _issue_json(issue: Any) -> dict[str, Any]:
    item = FieldIssue.parse(issue) if not isinstance(issue, FieldIssue) else issue
    if not isinstance(issue, FieldIssue | Message):
        return {"field": item.field, "message": _as_json(str(item.message))}
    if isinstance(issue, Message):
        return {"field": "", "message": _as_json(issue)}
    return {"field": item.field, "message": _as_json(item.message)}


def _reason_of(exc: Exception) -> Any:
    """What to tell the submitter: a domain error's message (with its fields), a file's problem."""
    if isinstance(exc, DomainError):
        return exc.message if not exc.fields else str(exc)
    return exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)


def _actor_of(session: Session, job: ImportJob) -> Actor | None:
    from fangkong.kernel.auth import service as auth_service
    from fangkong.kernel.auth.models import User

    user = session.get(User, job.actor_id) if job.actor_id is not None else None
    if user is None or not user.is_active:
        return None
    return auth_service.actor_for_user(session, user, ip=job.actor_ip)


def run(job_id: int, session_factory: sessionmaker[Session]) -> None:
    """Run a queued job to its end (a worker thread calls this after the submitting request committed).

    The import is one unit of work, as the user who submitted the file; then the job row gets its
    status, counts and report. Never raises: a failure is the job's status and message."""
    try:
        _run(job_id, session_factory)
    except Exception:  # the worker thread must end, and the job say why
        log.exception("import job %s crashed", job_id)
        _finish(job_id, session_factory, rows=None, error=_as_json(JOB_CRASHED_PART()))
    finally:
        with _lock:
            _progress.pop(job_id, None)


def _run(job_id: int, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.status != "queued":
            return
        job.status, job.started_at = "running", clock.now()
        kind = kind_of(job.kind)
        options, path = dict(job.options or {}), upload_path(job)
        session.commit()
    with _lock:
        _progress[job_id] = 0

    def advance(n: int = 1) -> None:
        with _lock:
            _progress[job_id] = _progress.get(job_id, 0) + int(n)

    rows: list[ReportRow] | None = None
    error: dict[str, Any] | None = None
    with session_factory() as session:
        actor = _actor_of(session, job)
        try:
            if actor is None:
                raise DomainError(SUBMITTER_GONE(), status=403, code="forbidden")
            if path is None:
                raise UnusableFile(FILE_EMPTY())
            tabular.allow_chunk_commits(session)  # the API's writers get the lock between chunks
            rows = kind.run(session, actor, path, progress=advance, **options)
            # the report names only persons in the submitter's jurisdiction (existence oracle, issue #11)
            people_service.hide_foreign_persons(session, actor, rows)
            session.commit()
        except (UnusableFile, DomainError) as exc:
            session.rollback()
            rows, error = None, _as_json(_reason_of(exc))
    _finish(job_id, session_factory, rows=rows, error=error)


def _finish(job_id: int, session_factory: sessionmaker[Session], *, rows: list[ReportRow] | None,
            error: dict[str, Any] | None) -> None:
    with session_factory() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            return
        kind = _KINDS.get(job.kind)
        folder = _folder(job)
        folder.mkdir(parents=True, exist_ok=True)
        # the upload goes once imported (PIPL art. 19: keep personal data no longer than needed)
        shutil.rmtree(folder / "upload", ignore_errors=True)
        job.finished_at = clock.now()
        if rows is None:
            job.status, job.error = "failed", error or _as_json(JOB_CRASHED())
        else:
            job.status, job.rows, job.counts = "done", len(rows), summarise(rows)
            extra = list(kind.extra_columns) if kind else []
            write_report(folder / "report.csv", rows, extra)
            (folder / "report.json").write_text(json.dumps([
                {"row": r.row, "status": r.status, "person_id": r.person_id,
                 "issues": [_issue_json(i) for i in r.issues],
                 "extra": {c: r.extra.get(c) for c in extra}} for r in itertools.islice(rows, SHOWN_ROWS)],
                ensure_ascii=False, default=str), encoding="utf-8")
        actor = _actor_of(session, job)
        if actor is not None:
            audit.record(session, actor, "import.finished", object_type="import_job", object_id=job.id,
                         kind=job.kind, status=job.status, rows=job.rows, **(job.counts or {}))
        session.commit()


def get_job(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """A job the actor may follow: one they submitted, or one in their jurisdiction of a kind they may
    import themselves (PermissionDenied without that permission); NotFound outside the jurisdiction."""
    job = scope.get_visible(session, actor, ImportJob, job_id)
    kind = _KINDS.get(job.kind)
    if job.actor_id != actor.user_id:
        actor.require(kind.permission if kind is not None else "data.import")
    return job


def progress(job: ImportJob) -> int:
    """Rows handled so far: the worker's running count while it runs, the report's length after."""
    with _lock:
        running = _progress.get(job.id)
    return running if running is not None and job.status in ("queued", "running") else job.rows


def report_csv(job: ImportJob) -> Path | None:
    path = _folder(job) / "report.csv"
    return path if job.status == "done" and path.exists() else None


def report_rows(job: ImportJob, *, limit: int = SHOWN_ROWS) -> list[dict[str, Any]]:
    """The first `limit` report lines as stored for the page (issues as messages to translate)."""
    path = _folder(job) / "report.json"
    if job.status != "done" or not path.exists():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return list(rows[:limit])


def shown(stored: dict[str, Any] | None, locale: str) -> str:
    """A stored message in the reader's language."""
    if not stored:
        return ""
    text = (stored.get("shown") or {}).get(locale)
    return text if text is not None else translate(message_of(stored), locale)


def message_of(stored: dict[str, Any] | None) -> Message | str:
    """A stored message back into a Message (or its text)."""
    if not stored:
        return ""
    return Message.from_json(stored) if stored.get("code") else str(stored.get("text", ""))
