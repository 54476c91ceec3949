"""E-pass routes: the JSON API (issue, verify, revoke, look up, the key ring) and the pages — issue and
look up (`/epasses`), one pass (`/epasses/{no}`), and the verify page (`/epasses/verify`, also `/v`,
which a QR's `https://HOST/v#TOKEN` opens: the token stays in the fragment, read by the page)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fangkong.checkpoints.epass import keys as keys_service
from fangkong.checkpoints.epass import service
from fangkong.checkpoints.epass.models import Epass
from fangkong.kernel import clock
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.errors import INVALID_TIME, FieldError, ValidationFailed
from fangkong.kernel.jurisdictions.regions import full_name
from fangkong.kernel.web.deps import DbSession, FormFields
from fangkong.kernel.web.nav import N_, register_nav
from fangkong.kernel.web.schemas import ERROR_RESPONSES
from fangkong.kernel.web.templating import add_template_dir, render

api = APIRouter(tags=["epass"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).resolve().parent / "templates")

CanIssue = Annotated[Actor, Depends(requires("epass.issue"))]
CanVerify = Annotated[Actor, Depends(requires("epass.verify"))]
CanRevoke = Annotated[Actor, Depends(requires("epass.revoke"))]

register_nav("epasses", N_("Truck e-passes"), "/epasses", "epass.issue", 60, group="places")
register_nav("epass_verify", N_("Verify e-pass"), "/epasses/verify", "epass.verify", 61, group="places")


# ------------------------------------------------------------------------------------------------ API

class ApplicationIn(BaseModel):
    """One application (通行证申请): the columns of `fangkong epass issue`."""

    request_id: str = Field(min_length=1, max_length=80)
    plate: str = Field(max_length=32)
    cargo: str = Field("", max_length=40)
    origin: str = Field(max_length=100)
    destination: str = Field(max_length=100)
    receiver: str = Field("", max_length=60)
    valid_from: str = Field(max_length=40)
    valid_until: str = Field("", max_length=40)
    driver_name: str = Field(max_length=40)
    driver_id_number: str = Field(max_length=40)
    driver_phone: str = Field("", max_length=40)
    driver_tested_at: str = Field("", max_length=40)
    crew1_name: str = Field("", max_length=40)
    crew1_id_number: str = Field("", max_length=40)
    crew1_phone: str = Field("", max_length=40)
    crew1_tested_at: str = Field("", max_length=40)
    crew2_name: str = Field("", max_length=40)
    crew2_id_number: str = Field("", max_length=40)
    crew2_phone: str = Field("", max_length=40)
    crew2_tested_at: str = Field("", max_length=40)


class IssuedOut(BaseModel):
    status: str
    issues: list[str]
    request_id: str
    pass_no: str | None = None
    token: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None


class VerifyIn(BaseModel):
    token: str = Field(max_length=4000, description="the QR text: a token or https://HOST/v#TOKEN")
    plate: str | None = Field(None, max_length=32)
    at: str | None = Field(None, max_length=40, description="check at this time (default now)")


class CrewOut(BaseModel):
    role: str
    role_label: str
    name: str
    id: str
    tested_at: str


class VerdictOut(BaseModel):
    verdict: str
    reason: str | None
    label: str
    pass_no: str | None
    valid_until: str | None
    plate: str | None
    from_: str | None = Field(None, alias="from")
    to: str | None
    cargo: str | None
    receiver: str | None
    kid: str | None
    crew: list[CrewOut]
    at: str

    model_config = {"populate_by_name": True}


class RevokeIn(BaseModel):
    reason: str = Field("", max_length=200, description="why (required; checked after the pass is found)")


class PassOut(BaseModel):
    pass_no: str
    plate: str
    origin: str
    destination: str
    cargo: str | None
    receiver: str | None
    valid_from: str
    valid_until: str
    crew: list[dict[str, Any]]
    issued_at: str
    revoked_at: str | None
    revoke_reason: str | None
    token: str


def _pass_out(p: Epass) -> PassOut:
    return PassOut(pass_no=p.no, plate=p.plate, origin=p.origin, destination=p.destination, cargo=p.cargo,
                   receiver=p.receiver, valid_from=clock.iso_local(p.valid_from), valid_until=clock.iso_local(p.valid_until),
                   crew=[{k: c.get(k) for k in ("role", "name", "id", "phone", "tested_at")} for c in p.crew],
                   issued_at=clock.iso_local(p.issued_at),
                   revoked_at=clock.iso_local(p.revoked_at) if p.revoked_at else None, revoke_reason=p.revoke_reason,
                   token=p.token)


def _issued_out(issued: service.Issued) -> IssuedOut:
    rep, p = issued.report, issued.epass
    return IssuedOut(status=rep.status, issues=[str(i) for i in rep.issues], request_id=rep.extra.get("request_id", ""),
                     pass_no=p.no if p else None, token=p.token if p else None,
                     valid_from=clock.iso_local(p.valid_from) if p else None,
                     valid_until=clock.iso_local(p.valid_until) if p else None)


def _at(text: str | None) -> dt.datetime | None:
    try:
        return clock.parse_time(text or "")
    except clock.BadTime:
        raise ValidationFailed(INVALID_TIME(), [FieldError("at", INVALID_TIME())]) from None


@api.post("/epasses", response_model=IssuedOut, summary="Issue an e-pass from one application (idempotent by request_id)")
def issue_api(body: ApplicationIn, session: DbSession, actor: CanIssue) -> IssuedOut:
    [issued] = service.issue_passes(session, actor, [service.Application(1, body.model_dump())])
    return _issued_out(issued)


@api.post("/epasses/verify", response_model=VerdictOut, summary="Verify a scanned e-pass")
def verify_api(body: VerifyIn, session: DbSession, actor: CanVerify) -> Any:
    checked = service.verify(session, actor, text=body.token, plate=body.plate, at=_at(body.at))
    return checked.as_dict()


@api.post("/epasses/{no}/revoke", response_model=PassOut, summary="Revoke an e-pass")
def revoke_api(no: Annotated[str, PathParam(max_length=12)], body: RevokeIn, session: DbSession, actor: CanRevoke) -> PassOut:
    return _pass_out(service.revoke(session, actor, no=no, reason=body.reason))


@api.get("/epasses/{no}", response_model=PassOut, summary="One e-pass by number")
def get_api(no: Annotated[str, PathParam(max_length=12)], session: DbSession, actor: CanIssue) -> PassOut:
    return _pass_out(service.get_pass(session, actor, no))


@api.get("/epass-keys", summary="The key ring (JWK Set) verifiers elsewhere load")
def keys_api(session: DbSession, actor: CanVerify) -> dict[str, Any]:
    return keys_service.export_ring(session)


# ---------------------------------------------------------------------------------------------- pages

def _county(code: str | None) -> str:
    return f"{full_name(code) or code} ({code})" if code else ""


def _list_page(request: Request, session: Any, actor: Actor, *, q: str = "", issued: service.Issued | None = None,
               form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    passes = service.find_passes(session, actor, q=q, limit=100)
    return render(request, "epass/epasses.html", actor=actor, passes=passes, q=q, issued=issued, form=form or {},
                  county=_county, local=clock.format_local, can_revoke=actor.can("epass.revoke"),
                  status_code=status_code)


@pages.get("/epasses")
def epasses_page(request: Request, session: DbSession, actor: CanIssue,
                 q: Annotated[str, Query(max_length=64)] = "") -> Response:
    """Issue a pass and look passes up by number, plate or request id (签发与查询)."""
    return _list_page(request, session, actor, q=q)


FORM_FIELDS = list(ApplicationIn.model_fields)


@pages.post("/epasses")
def epasses_issue_form(request: Request, session: DbSession, actor: CanIssue, form: FormFields) -> Response:
    """Issue one pass from the form (the file's columns)."""
    values = {k: str(form.get(k) or "")[:100] for k in FORM_FIELDS}
    [issued] = service.issue_passes(session, actor, [service.Application(1, values)])
    ok = issued.report.status in ("accepted", "duplicate")
    return _list_page(request, session, actor, issued=issued, form={} if ok else values,
                      status_code=200 if ok else 422)


@pages.get("/epasses/verify")
def verify_page(request: Request, session: DbSession, actor: CanVerify) -> Response:
    """The verify form (核验): scan or paste the QR text, optionally the plate seen."""
    return render(request, "epass/verify.html", actor=actor, checked=None, token="", plate="")


@pages.get("/v")
def verify_link_page(request: Request, session: DbSession, actor: CanVerify) -> Response:
    """What a pass's QR link opens: the verify form; the page moves the token from the fragment into it."""
    return render(request, "epass/verify.html", actor=actor, checked=None, token="", plate="")


@pages.post("/epasses/verify")
def verify_submit(request: Request, session: DbSession, actor: CanVerify,
                  token: Annotated[str, Form(max_length=4000)] = "",
                  plate: Annotated[str, Form(max_length=32)] = "") -> Response:
    checked = service.verify(session, actor, text=token, plate=plate or None)
    return render(request, "epass/verify.html", actor=actor, checked=checked.as_dict(), token="", plate=plate,
                  county=_county)


@pages.get("/epasses/{no}")
def pass_page(request: Request, no: Annotated[str, PathParam(max_length=12)], session: DbSession, actor: CanIssue) -> Response:
    """One pass: its content, its QR, revocation."""
    p = service.get_pass(session, actor, no[:12])
    return render(request, "epass/pass.html", actor=actor, p=p, county=_county, local=clock.format_local,
                  qr_svg=_qr_svg(p.token), can_revoke=actor.can("epass.revoke"))


@pages.post("/epasses/{no}/revoke")
def revoke_submit(request: Request, no: Annotated[str, PathParam(max_length=12)], session: DbSession, actor: CanRevoke,
                  reason: Annotated[str, Form(max_length=200)] = "") -> Response:
    from fastapi.responses import RedirectResponse

    p = service.revoke(session, actor, no=no[:12], reason=reason)
    return RedirectResponse(f"/epasses/{p.no}", status_code=303)


def _qr_svg(text: str) -> str:
    """The pass's QR (error correction M) as inline SVG."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=3, xmldecl=False, svgns=True, border=2)
    return out.getvalue().decode()
