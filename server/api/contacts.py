"""Contacts: read, edit, their conversations on every channel, merge."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request

from server import queries
from server.actions import contacts
from server.api.auth import actor_from
from server.api.routing import Q_INT, Q_STR, Api, Body, path_int, query_int

api = Api()
TAG = "contacts"


class ContactPatch(Body):
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] | None = None


class MergeBody(Body):
    source_id: int


@api.route("GET", "/api/contacts/{id}", summary="A contact with its channel identities", tag=TAG)
async def get_contact(request: Request) -> Any:
    actor = await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        return await contacts.contact_detail(conn, actor, path_int(request, "id"))


@api.route("PATCH", "/api/contacts/{id}", body=ContactPatch, summary="Edit a contact", tag=TAG)
async def patch_contact(request: Request, body: ContactPatch) -> Any:
    actor = await actor_from(request)
    return await contacts.update_contact(
        request.app.state.ctx, actor, path_int(request, "id"), body.model_dump(exclude_unset=True)
    )


@api.route(
    "GET",
    "/api/contacts/{id}/conversations",
    tag=TAG,
    summary="The contact's conversations across every channel the agent can see",
    query={"status": Q_STR, "sort": Q_STR, "cursor": Q_STR, "limit": Q_INT},
)
async def contact_conversations(request: Request) -> Any:
    actor = await actor_from(request)
    contact_id = path_int(request, "id")
    params = {
        **dict(request.query_params),
        "contact_id": str(contact_id),
        "status": request.query_params.get("status", "all"),
    }
    async with request.app.state.ctx.db.read() as conn:
        await contacts.contact_for(conn, actor, contact_id)
        return await queries.list_conversations(
            conn, actor, params, query_int(request, "limit", 25)
        )


@api.route(
    "POST",
    "/api/contacts/{id}/merge",
    body=MergeBody,
    tag=TAG,
    summary="Merge source_id into this contact (identities and conversations move)",
)
async def merge_contacts(request: Request, body: MergeBody) -> Any:
    actor = await actor_from(request)
    return await contacts.merge(
        request.app.state.ctx, actor, path_int(request, "id"), body.source_id
    )


@api.route(
    "GET",
    "/api/contacts",
    tag=TAG,
    summary="Contacts the agent can see (q searches name, email, phone; cursor=<last id>)",
    query={"q": Q_STR, "cursor": Q_STR, "limit": Q_INT},
)
async def list_contacts(request: Request) -> Any:
    actor = await actor_from(request)
    limit = query_int(request, "limit", 25)
    async with request.app.state.ctx.db.read() as conn:
        return await contacts.list_contacts(
            conn, actor, request.query_params.get("q"), request.query_params.get("cursor"), limit
        )
