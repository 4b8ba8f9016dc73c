"""Admin endpoints: agents, teams, inboxes, membership, canned responses."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field
from starlette.requests import Request

from server import serialize
from server.actions import admin, removal
from server.actions.access import require_admin
from server.api import account
from server.api.auth import actor_from
from server.api.routing import Api, Body, path_int
from server.storage import schema as t

api = Api()
TAG = "admin"


class UserBody(Body):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "admin"] = "agent"
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    is_bot: bool = False


class UserPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["agent", "admin"] | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    is_active: bool | None = None


class TeamBody(Body):
    name: str = Field(min_length=1, max_length=200)
    member_ids: list[int] = Field(default_factory=list)


class InboxBody(Body):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=32)
    config: dict[str, Any] = Field(default_factory=dict)
    business_hours: dict[str, Any] | None = None
    frt_targets: dict[str, int] | None = None
    nrt_targets: dict[str, int] | None = None
    member_ids: list[int] = Field(default_factory=list)


class InboxPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    business_hours: dict[str, Any] | None = None
    frt_targets: dict[str, int] | None = None
    nrt_targets: dict[str, int] | None = None
    is_active: bool | None = None


class TeamPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    member_ids: list[int] | None = None


class CannedPatch(Body):
    content: str = Field(min_length=1, max_length=10_000)


class MembersBody(Body):
    user_ids: list[int]


class CannedBody(Body):
    short_code: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    content: str = Field(min_length=1, max_length=10_000)


async def _admin(request: Request) -> None:
    require_admin(await actor_from(request))


@api.route("GET", "/api/admin/agents", tag=TAG, auth="admin", summary="List agents")
async def list_agents(request: Request) -> Any:
    await _admin(request)
    async with request.app.state.ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(t.users).order_by(t.users.c.id))).all()
    return {"items": [serialize.user(r) for r in rows]}


@api.route(
    "POST",
    "/api/admin/agents",
    body=UserBody,
    status=201,
    tag=TAG,
    auth="admin",
    summary="Create an agent, admin or bot",
)
async def create_agent(request: Request, body: UserBody) -> Any:
    await _admin(request)
    return await admin.create_user(
        request.app.state.ctx,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        is_bot=body.is_bot,
    )


@api.route(
    "PATCH",
    "/api/admin/agents/{id}",
    body=UserPatch,
    tag=TAG,
    auth="admin",
    summary="Update or disable an agent (disabling ends its sessions)",
)
async def update_agent(request: Request, body: UserPatch) -> Any:
    actor = await actor_from(request)
    require_admin(actor)
    fields = body.model_dump(exclude_unset=True)
    user_id = path_int(request, "id")
    keep = actor.token_id if user_id == actor.id else None  # an admin's own change
    data = await admin.update_user(request.app.state.ctx, user_id, fields, keep_token_id=keep)
    if fields.get("password") or fields.get("is_active") is False:
        # docs/accounts.md: sockets of the ended sessions close on every node (4401)
        await account.close_sockets(request, user_id=user_id, keep_token_id=keep)
    return data


@api.route("GET", "/api/admin/teams", tag=TAG, auth="admin", summary="List teams")
async def list_teams(request: Request) -> Any:
    await _admin(request)
    async with request.app.state.ctx.db.read() as conn:
        teams = (await conn.execute(sa.select(t.teams).order_by(t.teams.c.id))).all()
        members = (await conn.execute(sa.select(t.team_members))).all()
    return {
        "items": [
            {
                "id": r.id,
                "name": r.name,
                "member_ids": sorted(m.user_id for m in members if m.team_id == r.id),
            }
            for r in teams
        ]
    }


@api.route(
    "POST",
    "/api/admin/teams",
    body=TeamBody,
    status=201,
    tag=TAG,
    auth="admin",
    summary="Create a team",
)
async def create_team(request: Request, body: TeamBody) -> Any:
    await _admin(request)
    return await admin.create_team(request.app.state.ctx, body.name, body.member_ids)


@api.route(
    "PATCH",
    "/api/admin/teams/{id}",
    body=TeamPatch,
    tag=TAG,
    auth="admin",
    summary="Rename a team or set its members",
)
async def update_team(request: Request, body: TeamPatch) -> Any:
    await _admin(request)
    return await admin.update_team(
        request.app.state.ctx, path_int(request, "id"), body.name, body.member_ids
    )


@api.route(
    "DELETE",
    "/api/admin/teams/{id}",
    tag=TAG,
    auth="admin",
    summary="Delete a team (its conversations stay, with no team)",
)
async def delete_team(request: Request) -> Any:
    await _admin(request)
    await removal.delete_team(request.app.state.ctx, path_int(request, "id"))
    return {"ok": True}


@api.route(
    "GET",
    "/api/admin/inboxes",
    tag=TAG,
    auth="admin",
    summary="List inboxes (secrets are never shown, only whether each is set)",
)
async def list_inboxes(request: Request) -> Any:
    await _admin(request)
    ctx = request.app.state.ctx
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(t.inboxes).order_by(t.inboxes.c.id))).all()
        members = (await conn.execute(sa.select(t.inbox_members))).all()
    health = ctx.channels.health.by_inbox if ctx.channels else {}
    items = []
    for r in rows:
        data = admin.inbox_view(ctx, r)
        data["member_ids"] = sorted(m.user_id for m in members if m.inbox_id == r.id)
        data["health"] = vars(health[r.id]) if r.id in health else None
        items.append(data)
    return {"items": items}


@api.route(
    "POST",
    "/api/admin/inboxes",
    body=InboxBody,
    status=201,
    tag=TAG,
    auth="admin",
    summary="Create an inbox for a channel kind; secrets are encrypted and write-only",
)
async def create_inbox(request: Request, body: InboxBody) -> Any:
    await _admin(request)
    return await admin.create_inbox(
        request.app.state.ctx,
        name=body.name,
        kind=body.kind,
        config=body.config,
        business_hours=body.business_hours,
        frt_targets=body.frt_targets,
        nrt_targets=body.nrt_targets,
        member_ids=body.member_ids,
    )


@api.route(
    "PATCH",
    "/api/admin/inboxes/{id}",
    body=InboxPatch,
    tag=TAG,
    auth="admin",
    summary="Update an inbox (config keys merge; omitted secrets stay as they are)",
)
async def update_inbox(request: Request, body: InboxPatch) -> Any:
    await _admin(request)
    return await admin.update_inbox(
        request.app.state.ctx, path_int(request, "id"), body.model_dump(exclude_unset=True)
    )


@api.route(
    "DELETE",
    "/api/admin/inboxes/{id}",
    tag=TAG,
    auth="admin",
    summary="Delete an inbox that has no conversations (409 otherwise: disable it instead)",
)
async def delete_inbox(request: Request) -> Any:
    await _admin(request)
    await removal.delete_inbox(request.app.state.ctx, path_int(request, "id"))
    return {"ok": True}


@api.route(
    "PUT",
    "/api/admin/inboxes/{id}/members",
    body=MembersBody,
    tag=TAG,
    auth="admin",
    summary="Set the agents who are members of an inbox",
)
async def set_members(request: Request, body: MembersBody) -> Any:
    await _admin(request)
    ids = await admin.set_inbox_members(
        request.app.state.ctx, path_int(request, "id"), body.user_ids
    )
    return {"user_ids": ids}


@api.route(
    "POST",
    "/api/admin/inboxes/{id}/test",
    tag=TAG,
    auth="admin",
    summary="Test the channel connection; reports each check",
)
async def test_inbox(request: Request) -> Any:
    await _admin(request)
    ctx = request.app.state.ctx
    adapter = await ctx.channels.get(path_int(request, "id")) if ctx.channels else None
    if adapter is None:
        from server.exceptions import NotFound

        raise NotFound("inbox not found or disabled")
    probe = getattr(adapter, "test_connection", None)
    if probe is None:
        return {
            "ok": True,
            "checks": [
                {"name": "channel", "ok": True, "detail": "nothing to test for this channel"}
            ],
        }
    result: dict[str, Any] = await probe()
    return result


@api.route("GET", "/api/canned-responses", tag=TAG, summary="Canned responses (all agents)")
async def list_canned(request: Request) -> Any:
    await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.canned_responses).order_by(t.canned_responses.c.short_code)
            )
        ).all()
    return {"items": [{"id": r.id, "short_code": r.short_code, "content": r.content} for r in rows]}


@api.route(
    "POST",
    "/api/admin/canned-responses",
    body=CannedBody,
    status=201,
    tag=TAG,
    auth="admin",
    summary="Create a canned response",
)
async def create_canned(request: Request, body: CannedBody) -> Any:
    await _admin(request)
    return await admin.create_canned(request.app.state.ctx, body.short_code, body.content)


@api.route(
    "PATCH",
    "/api/admin/canned-responses/{id}",
    body=CannedPatch,
    tag=TAG,
    auth="admin",
    summary="Change a canned response's text",
)
async def update_canned(request: Request, body: CannedPatch) -> Any:
    await _admin(request)
    return await admin.update_canned(request.app.state.ctx, path_int(request, "id"), body.content)


@api.route(
    "DELETE",
    "/api/admin/canned-responses/{id}",
    tag=TAG,
    auth="admin",
    summary="Delete a canned response",
)
async def delete_canned(request: Request) -> Any:
    await _admin(request)
    await admin.delete_canned(request.app.state.ctx, path_int(request, "id"))
    return {"ok": True}
