"""Log in, log out, who am I, API tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from server import serialize
from server.actions.access import visible_inbox_ids
from server.api import auth
from server.api.auth import COOKIE, actor_from
from server.api.routing import Api, Body
from server.storage import schema as t

api = Api()
TAG = "auth"


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenBody(Body):
    name: str = Field(min_length=1, max_length=200)


@api.route(
    "POST",
    "/api/auth/login",
    body=LoginBody,
    auth="none",
    tag=TAG,
    summary="Log in with email and password; sets the session cookie",
)
async def login(request: Request, body: LoginBody) -> Any:
    ctx = request.app.state.ctx
    limiter: auth.RateLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "?"
    limiter.check(f"ip:{client}")
    limiter.check(f"email:{body.email.lower()}")
    token, actor = await auth.login(ctx, body.email, body.password)
    response = JSONResponse(
        {"user": {"id": actor.id, "name": actor.name, "role": actor.role}, "token": token}
    )
    response.set_cookie(
        COOKIE,
        token,
        max_age=ctx.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@api.route("POST", "/api/auth/logout", tag=TAG, summary="End this session (sockets close too)")
async def logout(request: Request) -> Any:
    actor = await actor_from(request)
    if actor.token_id is not None:
        await auth.revoke_token(request.app.state.ctx, actor.token_id)
    hub = getattr(request.app.state, "hub", None)
    if hub is not None and hasattr(hub, "revoke"):
        await hub.revoke(token_id=actor.token_id)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


@api.route("GET", "/api/me", tag=TAG, summary="The logged-in agent and the inboxes it sees")
async def me(request: Request) -> Any:
    actor = await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        user = (await conn.execute(sa.select(t.users).where(t.users.c.id == actor.id))).one()
        visible = await visible_inbox_ids(conn, actor)
        query = sa.select(t.inboxes.c.id, t.inboxes.c.name, t.inboxes.c.kind)
        if visible is not None:
            query = query.where(t.inboxes.c.id.in_(visible))
        inboxes = [dict(r._mapping) for r in (await conn.execute(query.order_by(t.inboxes.c.id)))]
    return {"user": serialize.user(user), "inboxes": inboxes}


@api.route(
    "POST",
    "/api/auth/tokens",
    body=TokenBody,
    status=201,
    tag=TAG,
    summary="Create an API token for a bot or integration (shown once)",
)
async def create_token(request: Request, body: TokenBody) -> Any:
    actor = await actor_from(request)
    token = await auth.issue_token(request.app.state.ctx, actor.id, "api", name=body.name)
    return {"token": token, "name": body.name}


@api.route(
    "GET",
    "/api/agents",
    tag=TAG,
    summary="The agent directory (active agents, for assignment and mentions)",
)
async def agent_directory(request: Request) -> Any:
    await actor_from(request)
    u = t.users.c
    async with request.app.state.ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(u.id, u.name, u.avatar_url, u.is_bot, u.role)
                .where(u.is_active.is_(True))
                .order_by(u.name)
            )
        ).all()
        members = (await conn.execute(sa.select(t.inbox_members))).all()
    by_user: dict[int, list[int]] = {}
    for m in members:
        by_user.setdefault(m.user_id, []).append(m.inbox_id)
    return {
        "items": [
            {
                "id": r.id,
                "name": r.name,
                "avatar_url": r.avatar_url,
                "is_bot": r.is_bot,
                "role": r.role,
                "inbox_ids": sorted(by_user.get(r.id, [])),
            }
            for r in rows
        ]
    }


@api.route("GET", "/api/teams", tag=TAG, summary="The team directory (for assignment)")
async def team_directory(request: Request) -> Any:
    await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        rows = (
            await conn.execute(sa.select(t.teams.c.id, t.teams.c.name).order_by(t.teams.c.name))
        ).all()
    return {"items": [{"id": r.id, "name": r.name} for r in rows]}
