"""Request ids: every HTTP request and WebSocket gets one (a caller's X-Request-ID when it
is sane, else a new one); it is echoed in the response and stamped on every log line
written while the request is handled (server/logs.py)."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # never log or echo arbitrary bytes


def request_id_for(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    given = dict(scope.get("headers") or {}).get(b"x-request-id", b"").decode("latin-1")
    return given if _SANE.match(given) else secrets.token_hex(8)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
