"""Page rendering (页面渲染): Jinja2 with the i18n extension, the request's language, and the context
every page needs (actor, CSRF token, navigation, mode banner).

The language comes from `?lang=` (which also sets the `lang` cookie, see `LocaleMiddleware`), then the
`lang` cookie, then the configured default (zh_CN). One Jinja environment per language, each with its
translations installed, so concurrent requests in different languages never share gettext state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangkong.kernel import clock, export, scope
from fangkong.kernel import labels as _labels  # noqa: F401  (registers the kernel's labels for `label`)
from fangkong.kernel.auth.actor import Actor
from fangkong.kernel.i18n import LOCALES, normalise_locale, translations
from fangkong.kernel.messages import field_label, label_of, translate
from fangkong.kernel.web.nav import nav_for, nav_menu_for

KERNEL_TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "lang"

_template_dirs: list[Path] = [KERNEL_TEMPLATES]


def add_template_dir(path: Path) -> None:
    """Let a capability's templates (`fangkong/<cap>/templates/<cap>/…`) be found by name."""
    if path.is_dir() and path not in _template_dirs:
        _template_dirs.append(path)
        environment.cache_clear()


def default_locale() -> str:
    from fangkong.settings import get_settings

    return normalise_locale(get_settings().default_locale)


def _explicit_lang(value: str | None) -> str | None:
    """A `lang` value we recognise (zh, zh_CN, zh-CN, en, en_US …), normalised; None otherwise."""
    if not value:
        return None
    v = value.strip().replace("-", "_").lower()
    if v.startswith("en"):
        return "en"
    if v.startswith("zh"):
        return "zh_CN"
    return None


def request_locale(request: Request) -> str:
    """`?lang=` first, then the `lang` cookie, then the default."""
    return (
        _explicit_lang(request.query_params.get("lang"))
        or _explicit_lang(request.cookies.get(LANG_COOKIE))
        or default_locale()
    )


def gettext_for(request: Request) -> Callable[[str], str]:
    """`_` for Python code that builds user-facing text during a request (toasts, flash messages)."""
    return translations(request_locale(request)).gettext


# --- filters ----------------------------------------------------------------------------------------

def _local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime shown in the platform's time zone."""
    return clock.format_local(value, fmt)


def _iso_local(value: dt.datetime | None) -> str:
    return clock.iso_local(value)


@lru_cache(maxsize=len(LOCALES))
def environment(locale: str) -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(p)) for p in _template_dirs]),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local"] = _local
    env.filters["iso_local"] = _iso_local
    #: `{{ issue|t }}`: a Message (or a msgid) in this page's language
    env.filters["t"] = lambda value: translate(value, locale)
    #: `{{ lead.channel|label("channel") }}`: a code's label (kernel.messages.labels) in this language
    env.filters["label"] = lambda code, kind: translate(label_of(kind, code), locale)
    #: `{{ "id_number"|field }}`: a field name as people read it
    env.filters["field"] = lambda name: field_label(name, locale)
    #: `{{ e.actor_name|who }}`: a username as it is, the system and the public forms by their names
    env.filters["who"] = lambda name: translate(label_of("actor", name), locale) if name else ""
    env.globals["locale"] = locale
    #: the 导出 button (`_export.html`): where it points and whether the user may press it
    env.globals["export_url"] = export.export_url
    env.globals["export_allowed"] = export.export_allowed
    env.globals["html_lang"] = "zh-CN" if locale == "zh_CN" else "en"
    #: the label separator: a full-width colon in Chinese text
    env.globals["colon"] = "：" if locale == "zh_CN" else ": "
    #: `{% if sees(actor, unit) %}`: the jurisdiction test, from the one place that knows it
    env.globals["sees"] = scope.sees
    return env


def _header(request: Request, actor: Actor | None) -> dict[str, str] | None:
    """Name, role and unit of the signed-in user for the page header (looked up in the request's session)."""
    if actor is None or actor.user_id is None:
        return None
    from fangkong.kernel.auth.models import User
    from fangkong.kernel.auth.roles import ROLES
    from fangkong.kernel.jurisdictions.models import Unit

    session = getattr(request.state, "db", None)
    own = None
    if session is None:  # an error page rendered after the request's session was closed
        own = session = request.app.state.session_factory()
    try:
        user = session.get(User, actor.user_id)
        unit = session.get(Unit, actor.unit_id) if actor.unit_id is not None else None
    finally:
        if own is not None:
            own.close()
    zh, en = ROLES.get(actor.role, (actor.role, actor.role))
    return {
        "username": actor.username,
        "display_name": user.display_name if user is not None else actor.username,
        "role_label": zh if request_locale(request) == "zh_CN" else en,
        "unit_name": unit.name if unit is not None else "",
    }


def base_context(request: Request, actor: Actor | None = None) -> dict[str, Any]:
    """What every page gets: who is signed in, their CSRF token, the menu, the mode, the language.

    The actor is the one given, else the one the auth dependencies left on `request.state`.
    """
    if actor is None:
        actor = getattr(request.state, "actor", None)

    def lang_url(code: str) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", code)]
        return request.url.path + "?" + urlencode(params)

    nav = nav_for(actor)
    path = request.url.path
    # the current entry is the longest nav URL that prefixes the path (/leads/clearance, not also /leads)
    prefixes = [i.url for i in nav if i.url != "/" and (path == i.url or path.startswith(i.url.rstrip("/") + "/"))]
    return {
        "request": request,
        "actor": actor,
        "header": _header(request, actor),
        "lang_url": lang_url,
        "csrf_token": getattr(request.state, "csrf_token", None) or "",
        "nav": nav,
        "nav_menu": nav_menu_for(actor),
        "current_nav": max(prefixes, key=len) if prefixes else ("/" if path == "/" else None),
        "mode": clock.mode(),
        "path": request.url.path,
        "is_htmx": request.headers.get("HX-Request") == "true",
    }


def render(request: Request, template: str, *, status_code: int = 200,
           headers: dict[str, str] | None = None, **ctx: Any) -> HTMLResponse:
    """Render `template` in the request's language with the shared page context plus `ctx`."""
    locale = request_locale(request)
    env = environment(locale)
    context = base_context(request, ctx.pop("actor", None))
    context.update(ctx)
    html = env.get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


class LocaleMiddleware:
    """`?lang=en|zh_CN` on any page remembers the choice in the `lang` cookie (one year)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        chosen = _explicit_lang(request.query_params.get("lang"))
        if chosen is None or chosen == _explicit_lang(request.cookies.get(LANG_COOKIE)):
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                cookie = f"{LANG_COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
