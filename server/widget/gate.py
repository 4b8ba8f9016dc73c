"""The widget API's front door: inbox by public key, Origin check, CORS, rate limits.

Every widget route (REST and socket) names its inbox by public key. A browser request whose
``Origin`` is not in the inbox's ``allowed_origins`` is refused before anything else runs.
CORS headers are granted only to allowed origins, on success *and* on error answers, so
the widget can show the server's precise error message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.actions.access import active_inbox_by_key
from server.api.auth import RateLimiter
from server.api.errors import error_body, retry_after
from server.api.routing import Api, Endpoint, _wrap
from server.context import AppContext
from server.exceptions import Forbidden, NotFound, SwitchboardError, Unauthorized
from server.widget.sessions import Visitor, visitor_for_token

_ALLOW_HEADERS = "authorization, content-type"
_PREFLIGHT_MAX_AGE = "600"  # browsers cache the preflight for 10 min


def origin_allowed(allowed: Sequence[str], origin: str | None) -> bool:
    """No Origin (a server-side client) passes: the visitor token is what authorises."""
    if origin is None:
        return True
    return not allowed or "*" in allowed or origin.rstrip("/").lower() in allowed


class Limits:
    """Per visitor and per IP; in process memory (see RateLimiter for the multi-node note).

    Every widget route is reachable without a login: each one that writes or sends is
    rate limited here, and its sizes and counts are capped in bounds.py
    (docs/security.md lists them).
    """

    def __init__(self) -> None:
        self.sessions_per_ip = RateLimiter(limit=20, window=60.0)
        self.messages_per_visitor = RateLimiter(limit=30, window=60.0)
        self.messages_per_ip = RateLimiter(limit=120, window=60.0)
        self.typing_per_session = RateLimiter(limit=20, window=10.0)  # not 20 events/s
        self.attributes_per_visitor = RateLimiter(limit=10, window=60.0)  # a page sets them once
        self.seen_per_visitor = RateLimiter(limit=60, window=60.0)  # one per message shown
        # Files are the one thing that fills a disk: 30 an hour per visitor, each within the
        # inbox's max_bytes, whatever the message rate allows.
        self.files_per_visitor = RateLimiter(limit=30, window=3600.0)
        self.frames_per_socket = RateLimiter(limit=60, window=10.0)  # above: dropped unread
        # Wrong visitor tokens: 20 a minute per address, then 429 even for a right one, so
        # tokens cannot be guessed (they are 256-bit anyway) nor the lookup used as a load.
        self.bad_tokens_per_ip = RateLimiter(limit=20, window=60.0)


def limits(ctx: AppContext) -> Limits:
    found = ctx.extras.get("widget_limits")
    if not isinstance(found, Limits):
        found = ctx.extras["widget_limits"] = Limits()
    return found


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


async def inbox_by_key(ctx: AppContext, key: str) -> Any:
    async with ctx.db.read() as conn:
        row = await active_inbox_by_key(conn, key)
    if row is None or row.kind != "webchat":
        raise NotFound("no active chat widget with that key")
    return row


def check_origin(inbox: Any, origin: str | None) -> None:
    if not origin_allowed((inbox.config or {}).get("allowed_origins", []), origin):
        raise Forbidden(f"origin {origin} may not embed this chat widget")


async def visitor_of(request: Request) -> Visitor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing visitor token: create a session first")
    inbox = request.state.inbox
    visitor = await checked_visitor(request.app.state.ctx, inbox.id, token.strip(), request)
    require_verified(inbox, visitor)
    return visitor


async def checked_visitor(
    ctx: AppContext, inbox_id: int, token: str, conn: HTTPConnection
) -> Visitor:
    """The token's visitor; wrong tokens count against the caller's address."""
    bad = limits(ctx).bad_tokens_per_ip
    key = client_ip(conn)
    bad.ensure(key)
    try:
        return await visitor_for_token(ctx, inbox_id, token)
    except Unauthorized:
        bad.hit(key)
        raise


def require_verified(inbox: Any, visitor: Visitor) -> None:
    """An inbox switched to "required" refuses the anonymous sessions it issued before."""
    if (inbox.config or {}).get("identity_verification") == "required" and not visitor.verified:
        raise Unauthorized("this chat needs a verified user: call Switchboard.setUser")


def _cors(origin: str | None, allowed: bool) -> dict[str, str]:
    if origin is None or not allowed:
        return {}
    return {
        "access-control-allow-origin": origin,
        "vary": "Origin",
        "access-control-allow-headers": _ALLOW_HEADERS,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-max-age": _PREFLIGHT_MAX_AGE,
    }


def _gated(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    inner = _wrap(endpoint)

    async def call(request: Request) -> Response:
        origin = request.headers.get("origin")
        allowed = False
        try:
            request.state.inbox = inbox = await inbox_by_key(
                request.app.state.ctx, request.path_params["key"]
            )
            check_origin(inbox, origin)
            allowed = True
            response = (
                Response(status_code=204) if request.method == "OPTIONS" else await inner(request)
            )
        except SwitchboardError as exc:
            retry = {"Retry-After": str(retry_after(exc))} if exc.status == 429 else None
            response = JSONResponse(
                error_body(exc.code, exc.message, exc.details),
                status_code=exc.status,
                headers=retry,
            )
        response.headers.update(_cors(origin, allowed))
        return response

    call.__name__ = endpoint.handler.__name__
    return call


class WidgetApi(Api):
    """An Api whose routes pass the gate and answer CORS preflights."""

    def routes(self) -> list[Route]:
        return [Route(e.path, _gated(e), methods=[e.method, "OPTIONS"]) for e in self.endpoints]
