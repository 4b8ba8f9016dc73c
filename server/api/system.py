"""Health, readiness, metrics, the OpenAPI document and attachment downloads."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.actions.access import can_see_inbox
from server.api.auth import actor_from
from server.api.downloads import download_headers
from server.api.routing import Api, path_int
from server.exceptions import NotFound, SwitchboardError
from server.storage import schema as t

api = Api()
READY_WITHIN = 0.8  # s per check: /readyz answers within a second (load balancers' probes)
TAG = "system"


@api.route("GET", "/healthz", auth="none", tag=TAG, summary="Process alive")
async def healthz(_request: Request) -> Any:
    return {"ok": True}


@api.route(
    "GET",
    "/readyz",
    auth="none",
    tag=TAG,
    summary="Database, bus and channel watchers ready (503 when not); details for admins only",
)
async def readyz(request: Request) -> Response:
    ctx = request.app.state.ctx
    # Both within READY_WITHIN, whatever the database or Redis does (frozen, gone).
    database, bus = await asyncio.gather(ctx.db.check(READY_WITHIN), _bus_check(ctx))
    checks: dict[str, Any] = {"database": database, "bus": bus}
    ok = all(v == "ok" for v in checks.values())
    status = 200 if ok else 503
    if not await _is_admin(request):
        # Watcher errors name internal hosts and ports: only admins see the details.
        return JSONResponse({"ok": ok}, status_code=status)
    if ctx.channels is not None:
        checks["watchers"] = {
            str(k): {"connected": v.connected, "error": v.error}
            for k, v in ctx.channels.health.by_inbox.items()
        }
    return JSONResponse({"ok": ok, "checks": checks}, status_code=status)


async def _bus_check(ctx: Any) -> str:
    try:
        await asyncio.wait_for(ctx.bus.last_id(), READY_WITHIN)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # readiness reports, it does not raise
        return f"error: {type(exc).__name__}"
    return "ok"


async def _is_admin(request: Request) -> bool:
    try:
        actor = await actor_from(request)
    except SwitchboardError:  # anonymous, expired or revoked: the status alone
        return False
    return actor.is_admin


@api.route("GET", "/metrics", auth="none", tag=TAG, summary="Prometheus metrics")
async def metrics(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@api.route("GET", "/api/attachments/{id}", tag=TAG, summary="Download an attachment")
async def attachment(request: Request) -> Response:
    actor = await actor_from(request)
    att_id = path_int(request, "id")
    async with request.app.state.ctx.db.read() as conn:
        row = (
            await conn.execute(sa.select(t.attachments).where(t.attachments.c.id == att_id))
        ).first()
        if row is None or not await can_see_inbox(conn, actor, row.inbox_id):
            raise NotFound(f"attachment {att_id} not found")
    media_type, headers = download_headers(row.filename, row.content_type, allow_inline=True)
    return Response(row.data, media_type=media_type, headers=headers)
