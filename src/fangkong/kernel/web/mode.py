"""`X-Fangkong-Mode` on every response of a test or drill database (模式响应头): a script or another
system talking to a drill platform learns it from each answer, without reading a page banner.
A production database sends no such header."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangkong.kernel import clock

HEADER = b"x-fangkong-mode"


class ModeHeaderMiddleware:
    """Adds `X-Fangkong-Mode: drill` (or `test`) to every HTTP response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mode = clock.mode()
        if scope["type"] != "http" or mode == "production":
            await self.app(scope, receive, send)
            return
        value = mode.encode()

        async def send_with_mode(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*kept, (HEADER, value)]}
            await send(message)

        await self.app(scope, receive, send_with_mode)
