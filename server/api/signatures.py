"""Your own email signature, added under your email replies (never chat)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request

from adapters.base import ConfigInvalid
from adapters.email.signature import check_signature
from server.actions import signatures
from server.api.auth import actor_from
from server.api.routing import Api, Body
from server.exceptions import InvalidInput

api = Api()
TAG = "account"


class SignatureBody(Body):
    signature: str = Field(max_length=2000)


@api.route("GET", "/api/account/signature", tag=TAG, summary="Your email signature")
async def get_signature(request: Request) -> Any:
    actor = await actor_from(request)
    return {"signature": await signatures.own(request.app.state.ctx, actor)}


@api.route(
    "PUT",
    "/api/account/signature",
    body=SignatureBody,
    tag=TAG,
    summary="Set your email signature (empty: none); variables as in the inbox signature",
)
async def put_signature(request: Request, body: SignatureBody) -> Any:
    actor = await actor_from(request)
    try:
        check_signature(body.signature)
    except ConfigInvalid as exc:
        raise InvalidInput(exc.reason) from None
    text = await signatures.set_own(request.app.state.ctx, actor, body.signature)
    return {"signature": text}
