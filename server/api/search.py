"""Full-text search over message text (docs/search.md)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from server import search
from server.api.auth import actor_from
from server.api.routing import Api, query_int

api = Api()
TAG = "search"


@api.route(
    "GET",
    "/api/search",
    summary="Find messages and notes by their words (q; filters: status=all|open|pending|"
    "snoozed|resolved, kind=all|message|note, inbox_id, channel, assignee, team_id, label, "
    "from, to; cursor); each hit has a snippet of plain-text segments, hits marked",
    tag=TAG,
    query={
        k: {"type": "string"}
        for k in (
            "q",
            "status",
            "kind",
            "inbox_id",
            "channel",
            "assignee",
            "team_id",
            "label",
            "from",
            "to",
            "cursor",
            "limit",
        )
    },
)
async def search_messages(request: Request) -> Any:
    actor = await actor_from(request)
    limit = query_int(request, "limit", 20, hi=50)
    async with request.app.state.ctx.db.read() as conn:
        return await search.search_messages(conn, actor, dict(request.query_params), limit)
