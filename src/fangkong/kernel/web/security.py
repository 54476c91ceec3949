"""Security headers on every response (安全响应头), OWASP ASVS 4 V14.4.

- A Content-Security-Policy without inline script: scripts come only from `/static` (pages carry no
  `<script>` bodies and no `on*=` attributes; `static/js/app.js` wires behaviour by data attributes).
  Inline `style=` attributes are allowed: they cannot run code, and HTMX sets indicator styles.
- Pages may not be framed (clickjacking), MIME types are not sniffed, no referrer leaves the site
  (URLs may hold a person's id), and nothing but static assets is cached: pages and API answers hold
  personal data. HSTS when the platform's public address is https.
The interactive API docs (`/api/v1/docs`, Swagger UI from its CDN) get the looser policy they need.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/api/v1/docs", "/api/v1/docs/oauth2-redirect")


def _headers(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    out = [
        (b"content-security-policy", (DOCS_CSP if path in DOCS_PATHS else CSP).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"geolocation=(), microphone=(), payment=()"),
    ]
    if not path.startswith("/static/"):
        out.append((b"cache-control", b"no-store"))
    if https:
        out.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return out


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (errors and static files included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from fangkong.settings import get_settings

        public = get_settings().public_url or ""
        extra = _headers(scope.get("path", ""), public.startswith("https://"))
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names | {b"server"}]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
