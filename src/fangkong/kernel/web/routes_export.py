"""Downloads of every export kind (导出), for pages and for the API: one route each, through the one
writer (`kernel/export.py`).

- `GET /export/{kind}.xlsx?…filters` — a page's 导出 button: the people's XLSX, masked, carrying the
  page's current filters (`.csv` gives the machine CSV; `headers=zh|en` switches the layout).
- `POST /export/{kind}` — the same from a form (with the CSRF token), where a person allowed to may
  ask for full ID and phone numbers (`unmasked=1`; audited).
- `GET /api/v1/exports/{kind}?format=csv|xlsx&headers=en|zh&unmasked=…&…filters` — for machines.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from fangkong.kernel import export
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import CurrentActor
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.export import INVALID_EXPORT, ONE_OF
from fangkong.kernel.web.deps import DbSession
from fangkong.kernel.web.schemas import ERROR_RESPONSES

pages = APIRouter(include_in_schema=False)
api = APIRouter(responses=ERROR_RESPONSES, tags=["exports"])

KindName = Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")]
#: query parameters that choose the file, not the rows
_CONTROL = {"format", "headers", "unmasked", "csrf_token", "lang"}


def _load_kernel_kinds() -> None:
    # the kernel's own kinds register on import (capabilities import theirs with their routes)
    from fangkong.kernel.jurisdictions import exports as _units  # noqa: F401
    from fangkong.kernel.tasks import exports as _tasks  # noqa: F401


_load_kernel_kinds()


def _params(items: Any) -> dict[str, str]:
    return {k: v for k, v in items if k not in _CONTROL and isinstance(v, str)}


def _send(session: Session, actor: Actor, kind: str, fmt: str, params: dict[str, str], *, unmasked: bool,
          headers: str) -> Response:
    if headers not in ("", "en", "zh"):
        raise ValidationFailed(INVALID_EXPORT(), [FieldError("headers", ONE_OF(choices="en, zh"))])
    file = export.download(session, actor, kind, fmt=fmt, params=params, unmasked=unmasked,
                           headers=headers or None)
    return FileResponse(file.path, media_type=file.media_type, filename=file.filename,
                        background=BackgroundTask(file.cleanup))


@pages.get("/export/{kind}.{fmt}")
def export_download(request: Request, kind: KindName, fmt: Annotated[str, Path(pattern="^(csv|xlsx)$")],
                    session: DbSession, actor: CurrentActor,
                    headers: Annotated[str, Query(max_length=2)] = "") -> Response:
    """A page's 导出 button: masked; the filters are the page's query parameters."""
    return _send(session, actor, kind, fmt, _params(request.query_params.multi_items()), unmasked=False,
                 headers=headers)


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (read once; Starlette caches the parsed form for the CSRF check)."""
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]


@pages.post("/export/{kind}")
def export_form(kind: KindName, session: DbSession, actor: CurrentActor, form: FormFields) -> Response:
    """The export form (CSRF-checked like every form): a format, a layout, and full numbers if allowed."""
    fmt = form.get("format") or "xlsx"
    if fmt not in export.FORMATS:
        raise ValidationFailed(INVALID_EXPORT(), [FieldError("format", ONE_OF(choices="csv, xlsx"))])
    return _send(session, actor, kind, fmt, _params(form.items()),
                 unmasked=form.get("unmasked", "") in ("1", "on", "true"), headers=form.get("headers", ""))


@api.get("/exports/{kind}", summary="Export a list as CSV (machine columns) or XLSX (for people); audited",
         response_class=Response,
         responses={200: {"content": {export.CSV_MEDIA: {}, export.XLSX_MEDIA: {}},
                          "description": "the file"}})
def export_api(request: Request, kind: KindName, session: DbSession, actor: CurrentActor,
               format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
               headers: Annotated[str, Query(pattern="^(en|zh)?$")] = "",
               unmasked: Annotated[bool, Query(description="full ID and phone numbers (person.unmask)")] = False,
               ) -> Response:
    """Kinds: `leads`, `compliance`, `coverage`, `clearance`, `reconciliation`, `tasks`, `units` … (each
    needs its own permissions). Other query parameters are the kind's filters, as on its page."""
    return _send(session, actor, kind, format, _params(request.query_params.multi_items()), unmasked=unmasked,
                 headers=headers)
