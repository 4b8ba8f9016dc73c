"""The embed snippet an admin pastes into the website."""

from __future__ import annotations

import html
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from server.actions.access import require_admin
from server.api.auth import actor_from
from server.api.routing import Api, path_int
from server.exceptions import NotFound
from server.storage import schema as t

api = Api()


def snippet(base_url: str, public_key: str) -> str:
    src = html.escape(f"{base_url.rstrip('/')}/web/widget/widget.js", quote=True)
    key = html.escape(public_key, quote=True)
    return f'<script async src="{src}" data-inbox="{key}"></script>'


@api.route(
    "GET",
    "/api/admin/inboxes/{id}/embed",
    tag="admin",
    auth="admin",
    summary="The widget's embed snippet for a webchat inbox",
)
async def embed(request: Request) -> Any:
    require_admin(await actor_from(request))
    inbox_id = path_int(request, "id")
    async with request.app.state.ctx.db.read() as conn:
        row = (await conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))).first()
    if row is None or row.kind != "webchat":
        raise NotFound(f"webchat inbox {inbox_id} not found")
    base = request.app.state.settings.public_url or str(request.base_url)
    return {
        "snippet": snippet(base, row.public_key),
        "public_key": row.public_key,
        "allowed_origins": (row.config or {}).get("allowed_origins", []),
    }
