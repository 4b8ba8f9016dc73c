"""Inbound entry points for channels: the API channel's message endpoint and webhooks.

Both acknowledge (2xx) only after the message is committed: ``ctx.ingest`` returns after
commit, and an exception here becomes a non-2xx answer so the sender retries.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from datetime import datetime
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.base import Attachment, ContactInfo, InboundMessage, WebhookRequest
from server.actions import clock, inbound
from server.actions.access import active_inbox_by_key
from server.api.auth import RateLimiter
from server.api.errors import error_body
from server.api.routing import Q_STR, Api, Body, read_limited
from server.exceptions import DatabaseUnavailable, InvalidInput, NotFound, Unauthorized
from server.storage.schema import utcnow

api = Api()
TAG = "channels"
log = logging.getLogger(__name__)
BATCH_LIMIT = 100  # messages per batch POST


class ApiContact(Body):
    external_id: str = Field(min_length=1, max_length=500)
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)


class ApiAttachment(Body):
    filename: str = Field(min_length=1, max_length=500)
    content_type: str = Field(min_length=1, max_length=200)
    data_base64: str


class ApiInbound(Body):
    external_id: str = Field(min_length=1, max_length=1000)
    contact: ApiContact
    text: str = Field(default="", max_length=65_536)
    sent_at: datetime | None = None
    conversation_ref: str | None = Field(default=None, max_length=1000)
    attachments: list[ApiAttachment] = Field(default_factory=list, max_length=20)


def _bad_tokens(ctx: Any) -> RateLimiter:
    """Wrong inbox tokens (and refused webhook signatures) per address: 20 a minute,
    then 429 with Retry-After (docs/security.md)."""
    found = ctx.extras.get("api_channel_bad_tokens")
    if not isinstance(found, RateLimiter):
        found = ctx.extras["api_channel_bad_tokens"] = RateLimiter(limit=20, window=60.0)
    return found


async def _inbox_by_key(request: Request, kind: str | None = None) -> Any:
    key = request.path_params["key"]
    async with request.app.state.ctx.db.read() as conn:
        row = await active_inbox_by_key(conn, key)
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound("no active inbox with that key")
    return row


@api.route(
    "POST",
    "/api/channels/api/{key}/messages",
    body=ApiInbound,
    status=201,
    auth="inbox-token",
    tag=TAG,
    summary="API channel: deliver a customer message (Bearer inbox token; "
    "external_id dedupes; sent_at imports history)",
)
async def api_inbound(request: Request, body: ApiInbound) -> Any:
    ctx = request.app.state.ctx
    inbox = await _authorized_api_inbox(request)
    result = await inbound.ingest(ctx, inbox.id, _inbound_message(body))
    return JSONResponse(_result_body(result), status_code=201 if result.created else 200)


class ApiInboundBatch(Body):
    messages: list[ApiInbound] = Field(min_length=1, max_length=BATCH_LIMIT)


@api.route(
    "POST",
    "/api/channels/api/{key}/messages/batch",
    body=ApiInboundBatch,
    status=200,
    auth="inbox-token",
    tag=TAG,
    summary=f"API channel: deliver up to {BATCH_LIMIT} customer messages in order, "
    "committed together; one result per message (a message that fails gets its own error "
    "and the others are stored; docs/ingest.md)",
)
async def api_inbound_batch(request: Request, body: ApiInboundBatch) -> Any:
    ctx = request.app.state.ctx
    inbox = await _authorized_api_inbox(request)
    msgs = [_inbound_message(m) for m in body.messages]  # all checked before any is stored
    outcomes = await inbound.ingest_many(ctx, inbox.id, msgs)
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, DatabaseUnavailable):
            raise outcome  # 503 with Retry-After: the batch is retried as a whole (dedupe)
        if isinstance(outcome, Exception):
            log.warning("API batch: a message failed: %s", type(outcome).__name__)
            results.append(error_body("ingest_failed", "this message could not be stored"))
        else:
            results.append(_result_body(outcome))
    return {"results": results}


async def _authorized_api_inbox(request: Request) -> Any:
    ctx = request.app.state.ctx
    inbox = await _inbox_by_key(request, "api")
    bad, address = _bad_tokens(ctx), request.client.host if request.client else "?"
    bad.ensure(address)  # wrong tokens are throttled per address (docs/security.md)
    expected = ctx.secrets.decrypt_json(inbox.secrets).get("inbound_token", "")
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
        bad.hit(address)
        raise Unauthorized("missing or wrong inbox token")
    return inbox


def _inbound_message(body: ApiInbound) -> InboundMessage:
    if body.sent_at is not None and body.sent_at.tzinfo is None:
        raise InvalidInput("sent_at: needs a timezone (e.g. 2026-01-01T10:00:00Z)")
    clock.refuse_future(body.sent_at, utcnow())
    try:
        files = tuple(
            Attachment(a.filename, a.content_type, base64.b64decode(a.data_base64, validate=True))
            for a in body.attachments
        )
    except (binascii.Error, ValueError):
        raise InvalidInput("attachments: data_base64 is not valid base64") from None
    c = body.contact
    return InboundMessage(
        external_id=body.external_id,
        contact=ContactInfo(c.external_id, "", c.name, c.email, c.phone),
        text=body.text,
        sent_at=body.sent_at,
        attachments=files,
        thread_refs=(body.conversation_ref,) if body.conversation_ref else (),
    )


def _result_body(result: Any) -> dict[str, Any]:
    return {
        "message_id": result.message_id,
        "conversation_id": result.conversation_id,
        "created": result.created,
    }


@api.route(
    "POST",
    "/webhooks/{key}",
    auth="none",
    tag=TAG,
    summary="Channel webhooks (Telegram, Meta): verified by the channel adapter",
)
async def webhook_post(request: Request) -> Response:
    return await _webhook(request)


@api.route(
    "GET",
    "/webhooks/{key}",
    auth="none",
    tag=TAG,
    summary="Channel webhook verification handshakes (Meta hub.challenge)",
    query={k: Q_STR for k in ("hub.mode", "hub.verify_token", "hub.challenge")},
)
async def webhook_get(request: Request) -> Response:
    return await _webhook(request)


async def _webhook(request: Request) -> Response:
    ctx = request.app.state.ctx
    bad, address = _bad_tokens(ctx), "hook:" + (request.client.host if request.client else "?")
    bad.ensure(address)  # refused (unverified) webhooks are throttled per address
    inbox = await _inbox_by_key(request)
    adapter = await ctx.channels.get(inbox.id) if ctx.channels else None
    handler = getattr(adapter, "handle_webhook", None)
    if handler is None:
        raise NotFound("this inbox does not take webhooks")
    body = await read_limited(request, ctx.settings.max_body_bytes)
    hook = WebhookRequest(
        request.method,
        request.url.path,
        {k.lower(): v for k, v in request.headers.items()},
        dict(request.query_params),
        body,
    )
    result = await handler(hook)
    if result.status in (401, 403):
        bad.hit(address)
    if result.status >= 400:  # the documented error shape, as on every other endpoint
        code = {400: "invalid_input", 401: "unauthorized", 403: "forbidden"}.get(
            result.status, "webhook_refused"
        )
        message = result.body.decode("utf-8", "replace")[:200] or "refused"
        return JSONResponse(error_body(code, message), status_code=result.status)
    return Response(result.body, status_code=result.status, media_type=result.content_type)
