"""Notices (告知书): 集中隔离医学观察通知书, 居家隔离告知书, 解除隔离告知书 and 转运单, printed as PDF.

- Templates are Jinja2 HTML stored in the database and versioned (`save_template` adds a version; the
  latest prints). The shipped ones (`control/notice_templates/`) are version 1 of each kind. They are
  rendered in a sandbox: a template sees only the notice's fields.
- Numbers: per series — the measure's quarantine site, or its unit when there is none — and year, one
  counter row each (`JC2022-S12-000001`); a number is never given twice, even when a notice is printed
  again.
- Each notice carries a QR code with a signed token (`N1.{notice_no}.{measure_id}.{signature}`, HMAC of
  a sub-key of the platform's key) that `verify_token` checks, like an e-pass; the SHA-256 of the
  notice's signed content is stored and written in the audit log with the number.
- A cohort's notices print as one PDF (WeasyPrint, CJK fonts from the system: Debian fonts-wqy-microhei
  or fonts-noto-cjk).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.control.models import Measure, Notice, NoticeCounter, NoticeTemplate
from fangkong.kernel import clock, drillmark, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.bulk import in_list
from fangkong.kernel.errors import FieldError, ValidationFailed
from fangkong.kernel.messages import _, message
from fangkong.kernel.people import crypto
from fangkong.kernel.people.models import Person
from fangkong.kernel.places.models import Place
from fangkong.kernel.policy import service as policy_service

#: kind → (Chinese title, number prefix)
KINDS: dict[str, tuple[str, str]] = {
    "central_notice": ("集中隔离医学观察通知书", "JZ"),
    "home_notice": ("居家隔离告知书", "JJ"),
    "release_notice": ("解除隔离告知书", "JC"),
    "transfer_slip": ("转运单", "ZY"),
}
MANAGE = "policy.manage"
CHUNK = 500
SIG_BYTES = 15
#: notices laid out per document before their pages are joined
BATCH = 10

BAD_TEMPLATE = message("notice.bad_template", _("the template cannot be used: %(error)s"))
UNKNOWN_KIND = message("notice.unknown_kind", _("unknown notice kind: one of %(kinds)s"))

_ENV = SandboxedEnvironment(autoescape=True)
_TOKEN = re.compile(r"^N1\.([A-Z]{2}\d{4}-[A-Za-z0-9]{1,20}-\d{6})\.([0-9]{1,10})\.([A-Za-z0-9_-]{20})$")

PAGE_CSS = """
@page { size: A4; margin: 22mm 20mm; }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Serif CJK SC", sans-serif; font-size: 12pt;
       line-height: 1.8; color: #000; }
section.notice { page-break-after: always; }
section.notice:last-child { page-break-after: auto; }
h1 { text-align: center; font-size: 18pt; line-height: 1.5; margin: 0 0 8mm; }
p.no { text-align: right; font-size: 10pt; }
p { text-indent: 0; margin: 0 0 3mm; }
table { width: 100%; border-collapse: collapse; margin: 4mm 0; }
th, td { border: 1px solid #000; padding: 2mm; text-align: left; }
.foot { display: flex; justify-content: space-between; align-items: flex-end; margin-top: 14mm; }
.qr svg { width: 30mm; height: 30mm; }
.sign { text-align: right; }
"""


class BadNotice(ValueError):
    """A notice token that is malformed or whose signature does not match."""


# ------------------------------------------------------------------------------------- templates

def _default(kind: str) -> str:
    return resources.files("fangkong.control").joinpath(f"notice_templates/{kind}.html").read_text(encoding="utf-8")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        msg = UNKNOWN_KIND(kinds=", ".join(KINDS))
        raise ValidationFailed(msg, [FieldError("kind", msg)])


def template_of(session: Session, kind: str) -> NoticeTemplate:
    """The latest version of a kind's template (version 1, the shipped one, stored on first use)."""
    _check_kind(kind)
    row = session.execute(select(NoticeTemplate).where(NoticeTemplate.kind == kind)
                          .order_by(NoticeTemplate.version.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        row = NoticeTemplate(kind=kind, version=1, body=_default(kind), created_at=clock.now(), username="system")
        session.add(row)
        session.flush()
    return row


def templates(session: Session, kind: str) -> list[NoticeTemplate]:
    """Every version of a kind's template, newest first."""
    template_of(session, kind)
    return list(session.execute(select(NoticeTemplate).where(NoticeTemplate.kind == kind)
                                .order_by(NoticeTemplate.version.desc())).scalars())


def check_template(body: str) -> None:
    """ValidationFailed (on `body`) when the template does not compile or does not render the sample."""
    try:
        _ENV.from_string(body).render(**sample_fields("release_notice"))
    except (TemplateSyntaxError, Exception) as exc:  # any error of the template's own code
        msg = BAD_TEMPLATE(error=str(exc)[:200])
        raise ValidationFailed(msg, [FieldError("body", msg)]) from None


def save_template(session: Session, actor: Actor, *, kind: str, body: str) -> NoticeTemplate:
    """A new version of a kind's template (admins: `policy.manage`), audited with its hash."""
    actor.require(MANAGE)
    current = template_of(session, kind)
    check_template(body)
    row = NoticeTemplate(kind=kind, version=current.version + 1, body=body, created_at=clock.now(),
                         username=actor.username[:64])
    session.add(row)
    session.flush()
    audit.record(session, actor, "notice.template_saved", object_type="notice_template", object_id=row.id, kind=kind,
                 version=row.version, sha256=hashlib.sha256(body.encode()).hexdigest())
    return row


def sample_fields(kind: str) -> dict[str, Any]:
    """What the preview shows: made-up fields of one notice."""
    return {"kind": kind, "title": KINDS.get(kind, ("", ""))[0], "issuer": "本市疫情防控指挥部",
            "notice_no": "JC2022-S1-000001", "name": "张三", "id_number_masked": "320412********0011",
            "category_label": "密切接触者", "site": "湖塘隔离酒店", "anchor_on": "2022-04-18",
            "planned_end_on": "2022-04-28", "released_on": "2022-04-28", "issued_on": "2022年04月28日",
            "qr": _qr_svg("N1.JC2022-S1-000001.1.preview")}


# ------------------------------------------------------------------------------------ numbering

def _series(m: Measure, sites: dict[int, Place]) -> str:
    site = sites.get(m.place_id) if m.place_kind == "site" and m.place_id else None
    return f"S{site.id}" if site is not None else f"U{m.unit_id}"


def next_numbers(session: Session, series: str, year: int, n: int) -> list[int]:
    """`n` fresh numbers of a series and year (the counter row locked while it moves)."""
    stmt = select(NoticeCounter).where(NoticeCounter.series == series, NoticeCounter.year == year)
    row = session.execute(stmt.with_for_update()).scalar_one_or_none()
    if row is None:
        row = NoticeCounter(series=series, year=year, last=0)
        session.add(row)
        session.flush()
    first = row.last + 1
    row.last += n
    session.flush()
    return list(range(first, first + n))


# ---------------------------------------------------------------------------------- signed token

def _signature(notice_no: str, measure_id: int) -> str:
    mac = hmac.new(crypto.derive_key(b"notice:v1"), f"notice:{notice_no}:{measure_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:SIG_BYTES]).decode().rstrip("=")


def make_token(notice_no: str, measure_id: int) -> str:
    return f"N1.{notice_no}.{measure_id}.{_signature(notice_no, measure_id)}"


def verify_token(token: str) -> tuple[str, int]:
    """(notice number, measure id) of a genuine token (constant-time check); BadNotice otherwise."""
    m = _TOKEN.match((token or "").strip())
    if m is None:
        raise BadNotice("malformed")
    no, mid = m.group(1), int(m.group(2))
    if not hmac.compare_digest(m.group(3), _signature(no, mid)):
        raise BadNotice("signature")
    return no, mid


def _qr_svg(text: str) -> str:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="svg", xmldecl=False, svgns=True, scale=4, border=2)
    return buf.getvalue().decode()


# ------------------------------------------------------------------------------------- printing

@dataclass
class Printed:
    """One PDF of notices: its bytes, the notices (in order) and the file's SHA-256."""

    pdf: bytes
    notices: list[Notice]
    sha256: str


def issue_notices(session: Session, actor: Actor, *, kind: str, measure_ids: Sequence[int],
                  at: dt.datetime | None = None, issuer: str | None = None) -> Printed:
    """Number and print one notice of `kind` per measure (in the order given) as one PDF; each notice
    is stored with its number, template version and SHA-256, and audited (`notice.issued`, with every
    number and hash, and the file's hash). Needs `measure.start`; measures outside the actor's
    jurisdiction are NotFound."""
    from weasyprint import HTML

    actor.require("measure.start")
    _check_kind(kind)
    at = at or clock.now()
    tz = clock.tz()
    year = at.astimezone(tz).year
    measures: list[Measure] = []
    for i in range(0, len(measure_ids), CHUNK):
        found = {m.id: m for m in session.execute(select(Measure).where(
            in_list(session, Measure.id, list(measure_ids[i:i + CHUNK])))).scalars()}
        for mid in measure_ids[i:i + CHUNK]:
            measures.append(scope.check(actor, found.get(mid), mid))
    persons = _by_id(session, Person, [m.person_id for m in measures])
    sites = _by_id(session, Place, [m.place_id for m in measures if m.place_id])
    pack = policy_service.active_pack(session)
    template = template_of(session, kind)
    compiled = _ENV.from_string(template.body)
    by_series: dict[str, list[Measure]] = {}
    for m in measures:
        by_series.setdefault(_series(m, sites), []).append(m)
    numbers: dict[int, tuple[str, int]] = {}
    prefix = KINDS[kind][1]
    for series, ms in sorted(by_series.items()):
        for m, seq in zip(ms, next_numbers(session, series, year, len(ms)), strict=True):
            numbers[m.id] = (series, seq)
    issuer = issuer or "疫情防控指挥部"
    pages: list[str] = []
    notices: list[Notice] = []
    for m in measures:
        series, seq = numbers[m.id]
        no = f"{prefix}{year}-{series}-{seq:06d}"
        p = persons[m.person_id]
        site = sites.get(m.place_id) if m.place_kind == "site" and m.place_id else None
        category = pack.categories.get(m.category)
        released = m.released_at or at
        fields = {"kind": kind, "title": KINDS[kind][0], "issuer": issuer, "notice_no": no, "name": p.name or "",
                  "id_number_masked": p.id_number_masked or "", "category_label": category.name_zh if category
                  else m.category, "site": site.name if site else "", "anchor_on": _d(m.anchor_on),
                  "planned_end_on": _d(m.planned_end_on), "released_on": _d(released.astimezone(tz).date()),
                  "issued_on": at.astimezone(tz).strftime("%Y年%m月%d日")}
        token = make_token(no, m.id)
        digest = hashlib.sha256(("\n".join(f"{k}={fields[k]}" for k in sorted(fields)) + "\n" + token).encode()
                                ).hexdigest()
        pages.append(f'<section class="notice" data-no="{no}">' + compiled.render(**fields, qr=_qr_svg(token))
                     + "</section>")
        notices.append(Notice(notice_no=no, kind=kind, series=series, year=year, seq=seq, measure_id=m.id,
                              person_id=m.person_id, template_version=template.version, sha256=digest, issued_at=at,
                              username=actor.username[:64], unit_id=m.unit_id, unit_path=m.unit_path))
    session.add_all(notices)
    session.flush()
    # laid out a few notices at a time (one long document lays out in more than linear time), then
    # the pages joined into one PDF
    docs = [HTML(string='<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>' + PAGE_CSS
                 + "</style></head><body>" + "".join(pages[i:i + BATCH]) + "</body></html>").render(
                     stylesheets=drillmark.pdf_stylesheets())
            for i in range(0, len(pages), BATCH)]
    pdf = docs[0].copy([pg for d in docs for pg in d.pages]).write_pdf() if docs else b""
    file_hash = hashlib.sha256(pdf).hexdigest()
    if notices:
        audit.record(session, actor, "notice.issued", object_type="notice", kind=kind, count=len(notices),
                     template_version=template.version, file_sha256=file_hash,
                     notices=[{"no": n.notice_no, "measure_id": n.measure_id, "sha256": n.sha256} for n in notices])
    return Printed(pdf, notices, file_hash)


def preview(session: Session, actor: Actor, *, kind: str, body: str | None = None) -> str:
    """The HTML of one notice with made-up fields, from `body` (a draft) or the latest template."""
    actor.require(MANAGE)
    source = body if body is not None else template_of(session, kind).body
    check_template(source)
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>' + PAGE_CSS + drillmark.pdf_css()
            + "</style></head><body>"
            + '<section class="notice">' + _ENV.from_string(source).render(**sample_fields(kind)) + "</section></body></html>")


def _d(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _by_id(session: Session, model: Any, ids: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    uniq = sorted(set(ids))
    for i in range(0, len(uniq), CHUNK):
        out.update({r.id: r for r in session.execute(select(model).where(in_list(session, model.id, uniq[i:i + CHUNK])))
                    .scalars()})
    return out
