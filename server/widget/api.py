"""The visitor-facing REST API under /api/widget/{public key}/…

Authorisation is the visitor token (``Authorization: Bearer``) issued by ``POST
…/sessions``; every read and write is limited to that visitor's own conversations.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from pydantic import Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.base import Attachment
from server.api.downloads import download_headers
from server.api.routing import (
    Q_INT,
    Body,
    decode_json,
    path_int,
    query_id,
    query_int,
    read_limited,
    validate_body,
)
from server.exceptions import InvalidInput, TooLarge, Unauthorized
from server.storage.schema import utcnow
from server.widget import actions, history, identity, prechat, sessions
from server.widget.availability import availability, emails_missed_replies, offline_text
from server.widget.gate import WidgetApi, client_ip, limits, visitor_of
from server.widget.presence import agents_online

api = WidgetApi()
TAG = "widget"
P = "/api/widget/{key}"


class UserClaim(Body):
    """Either id + timestamp + signature (HMAC) or jwt (HS256, sub = the user id)."""

    id: str | None = Field(default=None, min_length=1, max_length=200)
    signature: str | None = Field(default=None, min_length=1, max_length=200)
    timestamp: int | None = None
    jwt: str | None = Field(default=None, min_length=10, max_length=4000)
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)

    @model_validator(mode="after")
    def _one_form(self) -> UserClaim:
        hmac_form = (self.id, self.signature, self.timestamp)
        if self.jwt is None and None in hmac_form:
            raise ValueError("give jwt, or id with timestamp and signature")
        if self.jwt is not None and any(v is not None for v in hmac_form[1:]):
            raise ValueError("give jwt or a signature, not both")
        return self


class SessionBody(Body):
    user: UserClaim | None = None
    form: dict[str, Any] = Field(default_factory=dict)


class FileBody(Body):
    filename: str = Field(min_length=1, max_length=300)
    content_type: str = Field(min_length=3, max_length=200)
    data_base64: str


class MessageBody(Body):
    client_id: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(default="", max_length=10_000)
    attachments: list[FileBody] = Field(default_factory=list, max_length=5)


class SeenBody(Body):
    message_id: int = Field(ge=1)


class AttributesBody(Body):
    attributes: dict[str, str | int | float | bool | None] = Field(max_length=50)


def _config(request: Request) -> dict[str, Any]:
    return dict(request.state.inbox.config or {})


@api.route(
    "GET", f"{P}/config", auth="none", tag=TAG, summary="Widget settings and availability (public)"
)
async def widget_config(request: Request) -> Any:
    inbox, cfg = request.state.inbox, _config(request)
    hub = getattr(request.app.state, "hub", None)
    online = await agents_online(request.app.state.ctx, hub, inbox.id)
    appearance = cfg.get("appearance", {})
    return {
        "name": inbox.name,
        "appearance": appearance,
        "pre_chat": cfg.get("pre_chat"),
        "identity_verification": cfg.get("identity_verification", "off"),
        "attachments": cfg.get("attachments"),
        "availability": availability(
            inbox.business_hours,
            online,
            appearance.get("reply_time", ""),
            utcnow(),
            offline=offline_text(emails_missed_replies(cfg), appearance.get("offline_message", "")),
        ),
    }


@api.route(
    "POST",
    f"{P}/sessions",
    body=SessionBody,
    status=201,
    auth="none",
    tag=TAG,
    summary="Start a visitor session (pre-chat form; optional signed user)",
)
async def create_session(request: Request, body: SessionBody) -> Any:
    ctx, inbox, cfg = request.app.state.ctx, request.state.inbox, _config(request)
    limits(ctx).sessions_per_ip.check(f"{inbox.id}:{client_ip(request)}")
    secret = ctx.secrets.decrypt_json(inbox.secrets).get("hmac_secret")
    mode = cfg.get("identity_verification", "off")
    try:
        user_id = _verified_user(mode, secret, body.user)
    except identity.IdentityRefused as exc:
        raise Unauthorized(f"identity refused: {exc}") from None
    profile = _profile(cfg, body, verified=user_id is not None)
    token, visitor = await sessions.create_session(ctx, inbox.id, user_id=user_id, profile=profile)
    return {"token": token, "visitor": await _visitor_view(request, visitor)}


def _verified_user(mode: str, secret: str | None, user: UserClaim | None) -> str | None:
    """The verified user id, None for an anonymous visitor; raises IdentityRefused."""
    now = time.time()
    if user is not None and user.jwt is not None:
        return identity.verify_jwt(mode, secret, user.jwt, now)
    claim = None
    if user is not None:
        assert user.id is not None and user.signature is not None and user.timestamp is not None
        claim = identity.IdentityClaim(user.id, user.timestamp, user.signature)
    verdict = identity.verify(mode, secret, claim, now)
    return claim.user_id if claim and verdict is identity.Verdict.VERIFIED else None


def _profile(cfg: dict[str, Any], body: SessionBody, *, verified: bool) -> dict[str, Any]:
    form = cfg.get("pre_chat") or {}
    if verified and not body.form:
        values: dict[str, Any] = {}
    else:
        try:
            values = prechat.validate(form if form.get("enabled") else {"fields": []}, body.form)
        except prechat.FormInvalid as exc:
            raise InvalidInput(f"form: {exc}", details=exc.errors) from None
    if verified and body.user:
        values.update(
            {k: v for k, v in (("name", body.user.name), ("email", body.user.email)) if v}
        )
    return values


async def _visitor_view(request: Request, visitor: sessions.Visitor) -> dict[str, Any]:
    import sqlalchemy as sa

    from server.storage import schema as t

    async with request.app.state.ctx.db.read() as conn:
        contact = (
            await conn.execute(sa.select(t.contacts).where(t.contacts.c.id == visitor.contact_id))
        ).one()
        conversation_id = await history.latest_conversation_id(conn, visitor)
    return {
        "name": contact.name,
        "email": contact.email,
        "verified": visitor.verified,
        "conversation_id": conversation_id,
    }


@api.route("GET", f"{P}/session", auth="visitor", tag=TAG, summary="The visitor's session")
async def get_session(request: Request) -> Any:
    return {"visitor": await _visitor_view(request, await visitor_of(request))}


@api.route(
    "GET",
    f"{P}/messages",
    auth="visitor",
    tag=TAG,
    summary="The visitor's public messages, newest page first (before, limit)",
    query={"before": Q_INT, "limit": Q_INT},
)
async def list_messages(request: Request) -> Any:
    visitor = await visitor_of(request)
    before = query_id(request, "before")
    limit = query_int(request, "limit", 50, hi=200)
    async with request.app.state.ctx.db.read() as conn:
        return await history.messages(conn, visitor, before, limit)


@api.route(
    "POST",
    f"{P}/messages",
    auth="visitor",
    tag=TAG,
    status=201,
    summary="Send a message (JSON MessageBody; client_id makes retries idempotent; "
    "attachments as base64 within the inbox's size and type limits)",
    doc_body=MessageBody,
)
async def post_message(request: Request) -> Any:
    ctx, cfg = request.app.state.ctx, _config(request)
    visitor = await visitor_of(request)
    lim = limits(ctx)
    lim.messages_per_visitor.check(f"v{visitor.session_id}")
    lim.messages_per_ip.check(f"{visitor.inbox_id}:{client_ip(request)}")
    rules = cfg.get("attachments") or {"max_bytes": 0, "types": []}
    body = await _message_body(request, rules["max_bytes"])
    files = _files(body, rules)
    for _ in files:
        lim.files_per_visitor.check(f"v{visitor.session_id}")
    if not body.text.strip() and not files:
        raise InvalidInput("text: a message needs text or an attachment")
    message, created = await actions.send_message(ctx, visitor, body.client_id, body.text, files)
    return JSONResponse(
        {"message": message, "created": created}, status_code=201 if created else 200
    )


async def _message_body(request: Request, max_bytes: int) -> MessageBody:
    """Parsed by hand: attachments make it larger than the JSON API's body limit."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype != "application/json":
        raise InvalidInput(f"expected content-type application/json, got {ctype or 'none'}")
    raw = await read_limited(request, max_bytes * 4 // 3 + 65_536)
    return validate_body(MessageBody, decode_json(raw))


def _files(body: MessageBody, rules: dict[str, Any]) -> list[Attachment]:
    files, total = [], 0
    for i, item in enumerate(body.attachments):
        ctype = item.content_type.lower()
        if ctype not in rules["types"]:
            raise InvalidInput(f"attachments[{i}]: type {ctype} is not allowed here")
        try:
            data = base64.b64decode(item.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"attachments[{i}]: data_base64 is not valid base64") from None
        total += len(data)
        if total > rules["max_bytes"]:
            raise TooLarge(f"attachments: larger than {rules['max_bytes']} bytes in total")
        files.append(Attachment(item.filename, ctype, data))
    return files


@api.route(
    "POST",
    f"{P}/seen",
    body=SeenBody,
    auth="visitor",
    tag=TAG,
    summary="Read receipt: agent messages up to message_id were seen",
)
async def seen(request: Request, body: SeenBody) -> Any:
    visitor = await visitor_of(request)
    limits(request.app.state.ctx).seen_per_visitor.check(f"v{visitor.session_id}")
    return {"marked": await actions.mark_seen(request.app.state.ctx, visitor, body.message_id)}


@api.route(
    "POST",
    f"{P}/attributes",
    body=AttributesBody,
    auth="visitor",
    tag=TAG,
    summary="Custom attributes from the host page (merged into the contact; at most 50 "
    "names of 100 characters, string values of 1,000, 16 KiB in all; 10 calls a minute)",
)
async def set_attributes(request: Request, body: AttributesBody) -> Any:
    visitor = await visitor_of(request)
    limits(request.app.state.ctx).attributes_per_visitor.check(f"v{visitor.session_id}")
    merged = await sessions.set_attributes(request.app.state.ctx, visitor, body.attributes)
    return {"attributes": merged}


@api.route(
    "GET",
    f"{P}/attachments/{{id}}",
    auth="visitor",
    tag=TAG,
    summary="Download an attachment of the visitor's conversation",
)
async def get_attachment(request: Request) -> Any:
    visitor = await visitor_of(request)
    async with request.app.state.ctx.db.read() as conn:
        row = await history.attachment(conn, visitor, path_int(request, "id"))
    # Always saved, never shown: the visitor's page is a site we do not control.
    media_type, headers = download_headers(row.filename, row.content_type, allow_inline=False)
    return Response(row.data, media_type=media_type, headers=headers)
