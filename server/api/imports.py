"""History import over HTTP (docs/import.md): admins post batches of conversation records."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request

from server.actions import importer
from server.actions.access import require_admin
from server.api.auth import actor_from
from server.api.routing import Api, Body
from server.domain.importing import InvalidRecord, parse_record
from server.storage.schema import utcnow

api = Api()
TAG = "admin"
#: Records per request: a batch stays well inside the request-size limit and a minute.
MAX_BATCH = 500


class ImportBody(Body):
    inbox_id: int = Field(ge=1)
    conversations: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


@api.route(
    "POST",
    "/api/admin/import",
    body=ImportBody,
    summary="Import conversation history (docs/import.md): each record is written at its "
    "original times, idempotently, sending nothing; per-record results",
    tag=TAG,
)
async def import_history(request: Request, body: ImportBody) -> Any:
    require_admin(await actor_from(request))
    return await run_batch(request.app.state.ctx, body.inbox_id, body.conversations)


async def run_batch(ctx: Any, inbox_id: int, records: list[Any]) -> dict[str, Any]:
    """Import each record; a bad record is reported by index and the others go on."""
    results: list[dict[str, Any]] = []
    now = utcnow()
    for index, raw in enumerate(records):
        try:
            outcome = await importer.import_conversation(ctx, inbox_id, parse_record(raw, now))
        except InvalidRecord as exc:
            results.append({"index": index, "error": str(exc)})
            continue
        results.append(
            {
                "index": index,
                "external_id": outcome.external_id,
                "conversation_id": outcome.conversation_id,
                "created": outcome.created,
                "added_events": outcome.added_events,
            }
        )
    return {"results": results, **_totals(results)}


def _totals(results: list[dict[str, Any]]) -> dict[str, int]:
    ok = [r for r in results if "error" not in r]
    return {
        "created": sum(1 for r in ok if r["created"]),
        "updated": sum(1 for r in ok if not r["created"] and r["added_events"]),
        "unchanged": sum(1 for r in ok if not r["created"] and not r["added_events"]),
        "failed": len(results) - len(ok),
    }
