"""The ASGI application and its lifecycle.

Start-up order: settings → database (migrations) → bus → republish events left pending
by a crash → channel adapters → workers. Shutdown reverses it; every background task is
tracked and cancelled with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server import metrics
from server.actions import automation as automation_hooks
from server.api import (
    account,
    admin,
    automation,
    channels,
    contacts,
    conversations,
    csat,
    csat_page,
    imports,
    openapi,
    outreach,
    reports,
    search,
    session,
    signatures,
    system,
    trends,
    views,
)
from server.api.auth import LoginThrottle
from server.api.errors import HANDLERS
from server.api.request_id import REQUEST_ID, RequestIdMiddleware, request_id_for
from server.api.routing import Endpoint, UrlGuard
from server.api.security import SecurityMiddleware
from server.bootstrap import ensure_admin
from server.channels import ChannelManager
from server.context import AppContext
from server.crypto import SecretBox
from server.events.bus import Bus
from server.events.memory_bus import MemoryBus
from server.realtime import lifecycle as realtime_lifecycle
from server.realtime import socket as realtime_socket
from server.settings import Settings, ensure_secret_key, load_settings
from server.storage.db import Database
from server.storage.migrations import migrate
from server.widget import routes as widget_routes
from server.workers import account_mail, marker, notification_mail, outbox, timers

log = logging.getLogger(__name__)


def _web_dir() -> Path:
    """The browser app: inside the package when installed from the wheel (setup.py puts it
    there), else web/ at the root of a source checkout."""
    here = Path(__file__).resolve().parent
    return here / "web" if (here / "web" / "index.html").is_file() else here.parent / "web"


WEB_DIR = _web_dir()
VERSION = "0.1.0"

#: Route groups in one explicit list. Extensions (realtime, widget, reports) append theirs.
API_GROUPS = [
    session.api,
    conversations.api,
    contacts.api,
    admin.api,
    channels.api,
    reports.api,
    search.api,
    imports.api,
    csat.api,
    trends.api,
    outreach.api,
    views.api,
    system.api,
    account.api,
    signatures.api,
]
#: Extra Starlette routes (WebSocket endpoints) registered by extensions.
EXTRA_ROUTES: list[Callable[[], list[BaseRoute]]] = []
#: Hooks run at start-up (after channels) and shutdown: (start, stop) pairs.
LIFECYCLE_HOOKS: list[
    tuple[Callable[[Starlette], Awaitable[None]], Callable[[Starlette], Awaitable[None]]]
] = []
API_GROUPS += widget_routes.API_GROUPS
EXTRA_ROUTES.append(widget_routes.extra_routes)
LIFECYCLE_HOOKS.append(widget_routes.LIFECYCLE)
EXTRA_ROUTES.append(realtime_socket.routes)
EXTRA_ROUTES.append(csat_page.routes)  # the survey page customers open (docs/csat.md)
LIFECYCLE_HOOKS.append((realtime_lifecycle.start_hub, realtime_lifecycle.stop_hub))
API_GROUPS.append(automation.api)  # issue 15
LIFECYCLE_HOOKS.append(automation_hooks.LIFECYCLE)  # issue 15: after the hub (presence)


def make_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        from server.events.redis_bus import RedisBus  # type: ignore[import-not-found,unused-ignore]

        bus: Bus = RedisBus(settings.redis_url, history=settings.event_history)
        return bus
    return MemoryBus(history=settings.event_history)


def all_endpoints() -> list[Endpoint]:
    return [e for group in API_GROUPS for e in group.endpoints]


SocketEndpoint = Callable[[WebSocket], Awaitable[None]]


class SwitchboardApp(Starlette):
    """Starlette, with a short path for the long-lived sockets (``/ws``, ``/widget/ws``).

    A socket's ASGI call lasts as long as the socket: every middleware and routing layer
    on its way is a suspended coroutine frame held per socket, and a wrapper that every
    outgoing frame passes through. Those layers do nothing for these endpoints (they
    handle their own errors and close codes), so a WebSocket scope whose path is one of
    them goes straight to its endpoint, keeping only the request id. Tens of thousands
    of idle sockets per node is a design target (bench/README.md: idle sockets).
    """

    sockets: dict[str, SocketEndpoint]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            endpoint = self.sockets.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                # The server runs each connection in a task of its own, with its own
                # context: the id holds for this socket's log lines and no other's.
                REQUEST_ID.set(request_id_for(scope))
                await endpoint(WebSocket(scope, receive, send))
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    routes: list[BaseRoute] = [r for group in API_GROUPS for r in group.routes()]
    routes.append(Route("/api/openapi.json", _openapi, methods=["GET"]))
    for extra in EXTRA_ROUTES:
        routes.extend(extra())
    routes.extend(_web_routes())
    app = SwitchboardApp(
        routes=routes,
        exception_handlers=HANDLERS,
        lifespan=_lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityMiddleware),
            Middleware(UrlGuard),
        ],
    )
    app.sockets = {
        r.path: r.endpoint
        for r in routes
        if isinstance(r, WebSocketRoute) and "{" not in r.path  # fixed paths only
    }
    app.state.settings = settings
    metrics.STATE.app = app  # scrape-time gauges read this app (one app per process)
    app.state.login_throttle = LoginThrottle()  # failed logins (api/auth.py)
    return app


async def _openapi(_request: Request) -> Response:
    return JSONResponse(openapi.document(all_endpoints(), VERSION))


def _web_routes() -> list[BaseRoute]:
    if not WEB_DIR.is_dir():
        return []

    async def index(_request: Request) -> Response:
        page = WEB_DIR / "index.html"
        if page.exists():
            return FileResponse(page)
        return JSONResponse({"name": "Switchboard", "api": "/api/openapi.json"})

    return [Route("/", index), Mount("/web", StaticFiles(directory=WEB_DIR), name="web")]


async def build_context(settings: Settings) -> AppContext:
    db = Database(settings.effective_database_url)
    before, after = await migrate(db)
    if before != after:
        log.info("database migrated from version %s to %s", before, after)
    bus = make_bus(settings)
    await bus.start()
    ctx = AppContext(
        settings=settings, db=db, bus=bus, secrets=SecretBox(ensure_secret_key(settings))
    )
    if settings.node_id:
        ctx.node_id = settings.node_id
    ctx.channels = ChannelManager(ctx)
    return ctx


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    ctx = await build_context(settings)
    app.state.ctx = ctx
    password = await ensure_admin(ctx)
    if password:
        print(
            f"Created the first admin: {settings.create_admin_email} / {password}  "
            "(change it after logging in)",
            flush=True,
        )
    ctx.publish_backlog.pending = True  # left by a crash: drained in order (workers/marker.py)
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(marker.run(ctx), name="marker")]
    assert ctx.channels is not None
    await ctx.channels.start_all()
    if settings.run_workers:
        tasks += [
            asyncio.create_task(outbox.run(ctx), name="outbox"),
            asyncio.create_task(timers.run(ctx), name="timers"),
            asyncio.create_task(account_mail.run(ctx), name="account-mail"),
            asyncio.create_task(notification_mail.run(ctx), name="notification-mail"),
        ]
    for start, _stop in LIFECYCLE_HOOKS:
        await start(app)
    try:
        yield
    finally:
        for _start, stop in reversed(LIFECYCLE_HOOKS):
            await stop(app)
        await _cancel(tasks)
        await ctx.channels.stop_all()
        await ctx.bus.stop()
        await ctx.db.dispose()


async def _cancel(tasks: list[asyncio.Task[Any]], timeout: float = 5.0) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
