"""Agent endpoints for conversations and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from server import previews, queries
from server.actions import conversations as conv_actions
from server.actions import delivery
from server.actions.access import conversation_for
from server.actions.attachments import upload
from server.actions.replies import ReplyRequest, reply
from server.api.auth import actor_from
from server.api.routing import (
    Q_INT,
    Q_STR,
    Api,
    Body,
    path_int,
    query_id,
    query_int,
    read_limited,
)
from server.domain.status import Command
from server.exceptions import IllegalState, InvalidInput, NotFound

api = Api()
TAG = "conversations"


class MessageBody(Body):
    text: str = Field(default="", max_length=65_536)
    private: bool = False
    client_id: str | None = Field(default=None, min_length=8, max_length=100)
    last_seen_message_id: int | None = None
    force: bool = False
    attachment_ids: list[int] = Field(default_factory=list, max_length=20)
    template: dict[str, Any] | None = None


class StatusBody(Body):
    status: Literal["open", "pending", "snoozed", "resolved"]
    snoozed_until: datetime | None = None


class AssignBody(Body):
    assignee_id: int | None = None
    team_id: int | None = None


class LabelsBody(Body):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class PriorityBody(Body):
    priority: Literal["none", "low", "medium", "high", "urgent"]


@api.route(
    "GET",
    "/api/conversations",
    summary="List conversations (filters: status, inbox_id, "
    "assignee=me|unassigned|any|<id>, team_id, label, contact_id, q, sort=recent|waiting; "
    "cursor pagination)",
    tag=TAG,
    query={
        k: Q_STR
        for k in ("status", "inbox_id", "assignee", "team_id", "label", "contact_id", "q", "sort")
    }
    | {"cursor": Q_STR, "limit": Q_INT},
)
async def list_conversations(request: Request) -> Any:
    actor = await actor_from(request)
    limit = query_int(request, "limit", 25)
    async with request.app.state.ctx.db.read() as conn:
        page = await queries.list_conversations(conn, actor, dict(request.query_params), limit)
        await previews.attach(conn, page["items"])  # the list rows' last-message line
    return page


@api.route("GET", "/api/conversations/{id}", summary="A conversation with its FRT cycles", tag=TAG)
async def get_conversation(request: Request) -> Any:
    actor = await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        return await queries.conversation_detail(conn, actor, path_int(request, "id"))


@api.route(
    "GET",
    "/api/conversations/{id}/messages",
    summary="Messages, newest page first (before=<message id>, limit)",
    tag=TAG,
    query={"before": Q_INT, "limit": Q_INT},
)
async def list_messages(request: Request) -> Any:
    actor = await actor_from(request)
    before = query_id(request, "before")
    limit = query_int(request, "limit", 50, hi=200)
    async with request.app.state.ctx.db.read() as conn:
        return await queries.list_messages(conn, actor, path_int(request, "id"), before, limit)


@api.route(
    "POST",
    "/api/conversations/{id}/messages",
    body=MessageBody,
    status=201,
    summary="Reply publicly or add a private note (client_id makes it idempotent; "
    "last_seen_message_id enables the stale-reply guard)",
    tag=TAG,
)
async def post_message(request: Request, body: MessageBody) -> Any:
    actor = await actor_from(request)
    attrs = {"template": body.template} if body.template else None
    req = ReplyRequest(
        path_int(request, "id"),
        body.text,
        body.private,
        body.client_id,
        body.last_seen_message_id,
        body.force,
        attrs,
        tuple(body.attachment_ids),
    )
    message, created = await reply(request.app.state.ctx, actor, req)
    return JSONResponse(
        {"message": message, "created": created}, status_code=201 if created else 200
    )


@api.route(
    "POST",
    "/api/conversations/{id}/messages/{message_id}/retry",
    summary="Retry a failed delivery",
    tag=TAG,
)
async def retry_message(request: Request) -> Any:
    actor = await actor_from(request)
    ctx = request.app.state.ctx
    conversation_id, message_id = path_int(request, "id"), path_int(request, "message_id")
    async with ctx.db.read() as conn:
        await conversation_for(conn, actor, conversation_id)
        import sqlalchemy as sa

        from server.storage import schema as t

        row = (
            await conn.execute(
                sa.select(t.messages.c.status).where(
                    t.messages.c.id == message_id, t.messages.c.conversation_id == conversation_id
                )
            )
        ).first()
    if row is None:
        raise NotFound(f"message {message_id} not found")
    if row.status != "failed":
        raise IllegalState(f"cannot retry: expected status failed, got {row.status}")
    await delivery.retry_failed(ctx, message_id)
    return {"ok": True}


_COMMANDS = {
    "open": Command.OPEN,
    "pending": Command.PEND,
    "snoozed": Command.SNOOZE,
    "resolved": Command.RESOLVE,
}


@api.route(
    "POST",
    "/api/conversations/{id}/status",
    body=StatusBody,
    tag=TAG,
    summary="Resolve, reopen, snooze (with snoozed_until) or set pending",
)
async def set_status(request: Request, body: StatusBody) -> Any:
    actor = await actor_from(request)
    ctx = request.app.state.ctx
    conversation_id = path_int(request, "id")
    command = _COMMANDS[body.status]
    if body.status == "open":
        async with ctx.db.read() as conn:
            current = await conversation_for(conn, actor, conversation_id)
        command = Command.REOPEN if current.status == "resolved" else Command.OPEN
    return {
        "conversation": await conv_actions.change_status(
            ctx, actor, conversation_id, command, snoozed_until=body.snoozed_until
        )
    }


@api.route(
    "POST",
    "/api/conversations/{id}/assignment",
    body=AssignBody,
    tag=TAG,
    summary="Assign to an agent and/or a team (null unassigns; omit to keep)",
)
async def set_assignment(request: Request, body: AssignBody) -> Any:
    actor = await actor_from(request)
    given = body.model_fields_set
    return {
        "conversation": await conv_actions.assign(
            request.app.state.ctx,
            actor,
            path_int(request, "id"),
            assignee_id=body.assignee_id if "assignee_id" in given else "keep",
            team_id=body.team_id if "team_id" in given else "keep",
        )
    }


@api.route(
    "POST",
    "/api/conversations/{id}/labels",
    body=LabelsBody,
    tag=TAG,
    summary="Add and/or remove labels",
)
async def set_labels(request: Request, body: LabelsBody) -> Any:
    actor = await actor_from(request)
    return {
        "conversation": await conv_actions.set_labels(
            request.app.state.ctx, actor, path_int(request, "id"), add=body.add, remove=body.remove
        )
    }


@api.route(
    "POST",
    "/api/conversations/{id}/priority",
    body=PriorityBody,
    tag=TAG,
    summary="Set priority (selects the SLA target)",
)
async def set_priority(request: Request, body: PriorityBody) -> Any:
    actor = await actor_from(request)
    return {
        "conversation": await conv_actions.set_priority(
            request.app.state.ctx, actor, path_int(request, "id"), body.priority
        )
    }


@api.route(
    "POST",
    "/api/conversations/{id}/attachments",
    status=201,
    tag=TAG,
    summary="Upload a file for a reply: raw body, Content-Type, ?filename=; "
    "send it with the reply's attachment_ids",
    query={"filename": Q_STR},
)
async def upload_attachment(request: Request) -> Any:
    actor = await actor_from(request)
    ctx = request.app.state.ctx
    filename = (request.query_params.get("filename") or "").strip()
    if not filename or len(filename) > 255 or any(c in filename for c in "/\\\r\n\0"):
        raise InvalidInput("filename: give a plain file name (no path), 1 to 255 characters")
    content_type = request.headers.get("content-type", "application/octet-stream")
    data = await read_limited(request, ctx.settings.max_attachment_bytes)
    if not data:
        raise InvalidInput("body: the file is empty")
    async with ctx.db.read() as conn:
        conv = await conversation_for(conn, actor, path_int(request, "id"))
    return await upload(ctx, conv.inbox_id, filename, content_type.split(";")[0], data)
