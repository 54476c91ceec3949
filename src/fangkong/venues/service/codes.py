"""Issuing, rotating and checking venue codes (场所码发放与轮换), and the QR they print as."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from fangkong.kernel import clock, scope
from fangkong.kernel.audit import service as audit
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.errors import DomainError, NotFound, record_not_found
from fangkong.kernel.messages import _, message, reason_of
from fangkong.kernel.places.models import Place
from fangkong.venues import codes
from fangkong.venues.models import VenueCode

NEVER_ISSUED = message("venue_code.never_issued", _("this venue code was never issued"))
REPLACED = message("venue_code.replaced", _("this venue code has been replaced; scan the venue's current code"))

#: where the QR codes point in a test or drill database when nothing else says (the CLI without a request)
DEFAULT_BASE_URL = "http://localhost:8000"

PUBLIC_URL_MISSING = message(
    "venues.public_url_missing",
    _("The platform's public address is not configured (FANGKONG_PUBLIC_URL): venue codes cannot be printed."))
PUBLIC_URL_INVALID = message(
    "venues.public_url_invalid",
    _("FANGKONG_PUBLIC_URL must be an http:// or https:// address, got %(value)s."))


class CodeRefused(DomainError):
    """A scanned venue code that is forged, altered, revoked or names no venue: nothing is stored."""

    def __init__(self, message: str, *, revoked: bool = False) -> None:
        super().__init__(message, status=404 if revoked else 400,
                         code="venue_code_revoked" if revoked else "venue_code_invalid")
        self.revoked = revoked


class PublicUrlNotConfigured(DomainError):
    """No trustworthy public address for the URLs printed on paper (production without
    `FANGKONG_PUBLIC_URL`, or a malformed one): nothing is printed rather than a wrong host."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=409, code="not_configured")


def public_base_url(base_url: str | None = None, *, request_base: str | None = None) -> str:
    """The public address of the platform for QR URLs (no trailing slash).

    An explicit `base_url` (the CLI's `--base-url`) first, then `FANGKONG_PUBLIC_URL`. The address a
    request came in on (its Host header, which any client can set) is used only in test and drill
    databases, where printed codes are for trying things out; a production database without the
    setting raises PublicUrlNotConfigured rather than print a host someone else chose.
    """
    from fangkong.settings import get_settings

    chosen = (base_url or "").strip() or (get_settings().public_url or "").strip()
    if chosen:
        parts = urlsplit(chosen)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise PublicUrlNotConfigured(PUBLIC_URL_INVALID(value=chosen))
        return chosen.rstrip("/")
    if clock.mode() in ("test", "drill"):
        return (request_base or DEFAULT_BASE_URL).rstrip("/")
    raise PublicUrlNotConfigured(PUBLIC_URL_MISSING())


def venue_url(token: str, base_url: str | None = None, *, request_base: str | None = None) -> str:
    """The URL a venue's QR encodes: `<public base>/v/<token>` (see `public_base_url`)."""
    return f"{public_base_url(base_url, request_base=request_base)}/v/{token}"


def qr_svg(url: str) -> str:
    """The QR of `url` as inline SVG markup that scales to its container (segno, error level M)."""
    return segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000")


def save_qr(url: str, path: str) -> None:
    """Write the QR of `url` to a file; the suffix chooses the format (.svg, .png, .pdf, .eps)."""
    segno.make(url, error="m").save(path, scale=10, border=4)


def _venue(session: Session, actor: Actor, place_id: int) -> Place:
    place = scope.get_visible(session, actor, Place, place_id)
    if place.kind != "venue":
        raise NotFound(record_not_found("venue", place_id))
    return place


def find_venue(session: Session, actor: Actor, ref_or_code: str) -> Place:
    """A venue in the actor's jurisdiction by the sender's `ref`, the place code (VEN000042), a venue
    token or the QR URL; NotFound otherwise."""
    text = (ref_or_code or "").strip()
    if text:
        for column in (Place.ref, Place.code):
            place = scope.visible_or_none(actor, session.execute(
                select(Place).where(column == text, Place.kind == "venue")).scalar_one_or_none())
            if place is not None:
                return place
        try:
            info = codes.verify_token(text)
        except codes.BadToken:
            info = None
        if info is not None:
            place = scope.visible_or_none(actor, session.get(Place, info.place_id))
            if place is not None and place.kind == "venue":
                return place
    raise NotFound(record_not_found("venue", text))


def active_code(session: Session, place_id: int) -> VenueCode | None:
    return session.execute(
        select(VenueCode).where(VenueCode.place_id == place_id, VenueCode.revoked_at.is_(None))
        .order_by(VenueCode.id.desc()).limit(1)
    ).scalar_one_or_none()


def _new_code(session: Session, place_id: int) -> VenueCode:
    latest = session.execute(select(func.max(VenueCode.key_version)).where(VenueCode.place_id == place_id)).scalar()
    version = (latest or 0) + 1
    row = VenueCode(place_id=place_id, key_version=version, token=codes.make_token(place_id, version),
                    issued_at=clock.now())
    session.add(row)
    session.flush()
    return row


def issue_code(session: Session, actor: Actor, *, place_id: int) -> VenueCode:
    """The venue's current code, issued now if it has none (发放场所码). Needs `venues.manage`."""
    actor.require("venues.manage")
    return _current_code(session, actor, _venue(session, actor, place_id))


def poster_code(session: Session, actor: Actor, *, place_id: int) -> VenueCode:
    """The code a venue's poster prints (打印场所码): its current code, issued now if it has none. Needs
    `venues.poster` (community staff print their own venues' posters) or `venues.manage`; a venue
    outside the actor's jurisdiction is NotFound."""
    if not actor.can("venues.manage"):
        actor.require("venues.poster")
    return _current_code(session, actor, _venue(session, actor, place_id))


def _current_code(session: Session, actor: Actor, place: Place) -> VenueCode:
    row = active_code(session, place.id)
    if row is None:
        row = _new_code(session, place.id)
        audit.record(session, actor, "venues.code_issued", object_type="place", object_id=place.id,
                     key_version=row.key_version)
    return row


def issue_codes_bulk(session: Session, place_ids: list[int]) -> int:
    """Version-1 codes for new venues that have none (imports); returns how many were issued. The
    caller has checked `venues.manage` and audits the import as a whole."""
    if not place_ids:
        return 0
    have = set(session.execute(select(VenueCode.place_id).where(VenueCode.place_id.in_(place_ids))).scalars())
    now = clock.now()
    rows = [VenueCode(place_id=pid, key_version=1, token=codes.make_token(pid, 1), issued_at=now)
            for pid in place_ids if pid not in have]
    session.add_all(rows)
    session.flush()
    return len(rows)


def rotate_code(session: Session, actor: Actor, *, place_id: int) -> VenueCode:
    """Revoke the venue's code and issue one under the next key version (轮换场所码): posters printed
    before are refused from now on. Needs `venues.manage`; audited."""
    actor.require("venues.manage")
    place = _venue(session, actor, place_id)
    now = clock.now()
    revoked = session.execute(
        update(VenueCode).where(VenueCode.place_id == place.id, VenueCode.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session="fetch")
    ).rowcount
    row = _new_code(session, place.id)
    audit.record(session, actor, "venues.code_rotated", object_type="place", object_id=place.id,
                 key_version=row.key_version, revoked=revoked)
    return row


@dataclass(frozen=True)
class ScannedVenue:
    place_id: int
    name: str
    code_id: int


#: the scan page's one venue lookup, built once (every check-in runs it)
_BY_TOKEN = (select(VenueCode.id, VenueCode.revoked_at, Place.name, Place.kind)
             .join(Place, Place.id == VenueCode.place_id)
             .where(VenueCode.token == bindparam("token"), VenueCode.place_id == bindparam("place_id")))


def venue_for_token(session: Session, token: str) -> ScannedVenue:
    """The venue a scanned token names (public: no actor). CodeRefused when the signature does not
    match (forged or altered: 400) or the code was revoked by a rotation or never issued (404)."""
    try:
        info = codes.verify_token(token)
    except codes.BadToken as exc:
        raise CodeRefused(reason_of(exc)) from None
    row = session.execute(_BY_TOKEN, {"token": codes.extract_token(token), "place_id": info.place_id}).first()
    if row is None or row.kind != "venue":
        raise CodeRefused(NEVER_ISSUED(), revoked=True)
    if row.revoked_at is not None:
        raise CodeRefused(REPLACED(), revoked=True)
    return ScannedVenue(info.place_id, row.name, row.id)
