"""The places page (场所): places in the actor's jurisdiction, by kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.auth.deps import requires
from fangkong.kernel.labels import PLACE_KINDS
from fangkong.kernel.places import service as places_service
from fangkong.kernel.places.models import KINDS
from fangkong.kernel.web.deps import DbSession, parse_cursor
from fangkong.kernel.web.templating import render, request_locale

pages = APIRouter(include_in_schema=False)

CanViewPlaces = Annotated[Actor, Depends(requires("place.view"))]

PAGE_SIZE = 50

#: English names of the place kinds (models.KINDS holds the Chinese ones)
KINDS_EN = {code: str(term.translated("en")) for code, term in PLACE_KINDS.items()}


@pages.get("/places")
def places_page(
    request: Request,
    session: DbSession,
    actor: CanViewPlaces,
    kind: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    kind = kind if kind in KINDS else ""
    places = places_service.list_places(session, actor, kind=kind or None, limit=PAGE_SIZE + 1,
                                        after_id=parse_cursor(cursor))
    next_cursor = str(places[PAGE_SIZE - 1].id) if len(places) > PAGE_SIZE else None
    names = KINDS if request_locale(request) == "zh_CN" else KINDS_EN
    return render(request, "places.html", actor=actor, places=places[:PAGE_SIZE], kind=kind,
                  kinds=list(names.items()), kind_label=lambda k: names.get(k, k), next_cursor=next_cursor)
