"""Start a conversation (docs/outreach.md): POST /api/conversations."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.actions.outreach import StartRequest, start_conversation
from server.actions.replies import MAX_TEXT
from server.api.auth import actor_from
from server.api.routing import Api, Body

api = Api()


class Template(Body):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=16)
    components: list[Any] | None = Field(default=None, max_length=20)


class StartBody(Body):
    inbox_id: int = Field(ge=1)
    text: str = Field(default="", max_length=MAX_TEXT)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    contact_id: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, max_length=300)
    subject: str | None = Field(default=None, max_length=1000)
    template: Template | None = None
    client_id: str | None = Field(default=None, max_length=100)


@api.route(
    "POST",
    "/api/conversations",
    body=StartBody,
    status=201,
    tag="conversations",
    summary="Start a conversation: an email (subject, text) to an email address or contact, "
    "or a WhatsApp template to a phone number; the opening message answers nothing (FRT "
    "starts at the customer's first message); client_id makes it idempotent",
)
async def start(request: Request, body: StartBody) -> Any:
    actor = await actor_from(request)
    req = StartRequest(
        inbox_id=body.inbox_id,
        text=body.text,
        email=body.email,
        phone=body.phone,
        contact_id=body.contact_id,
        name=body.name,
        subject=body.subject,
        template=body.template.model_dump(exclude_none=True) if body.template else None,
        client_id=body.client_id,
    )
    conversation, message, created = await start_conversation(request.app.state.ctx, actor, req)
    return JSONResponse(
        {"conversation": conversation, "message": message}, status_code=201 if created else 200
    )
