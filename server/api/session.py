"""Log in, log out, who am I, API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import serialize
from server.actions import two_factor
from server.actions.access import visible_inbox_ids
from server.api import auth
from server.api.auth import COOKIE, actor_from
from server.api.routing import Api, Body
from server.exceptions import TwoFactorRequired, Unauthorized
from server.storage import schema as t

api = Api()
TAG = "auth"


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(
        default=None, max_length=64, description="TOTP code or recovery code (2FA accounts)"
    )


class TokenBody(Body):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


@api.route(
    "POST",
    "/api/auth/login",
    body=LoginBody,
    auth="none",
    tag=TAG,
    summary="Log in with email, password and (2FA accounts) a code; sets the session cookie",
)
async def login(request: Request, body: LoginBody) -> Any:
    ctx = request.app.state.ctx
    throttle: auth.LoginThrottle = request.app.state.login_throttle
    device = auth.Device(auth.client_address(request) or "?", request.headers.get("user-agent", ""))
    await throttle.ensure(ctx, body.email, device.address)
    try:
        token, actor, setup_only = await auth.login(
            ctx, body.email, body.password, body.code, device
        )
    except TwoFactorRequired:
        raise  # the password was right: not a failure to count
    except Unauthorized:
        throttle.failed(body.email, device.address)
        raise
    throttle.succeeded(body.email, device.address)
    response = JSONResponse(
        {
            "user": {"id": actor.id, "name": actor.name, "role": actor.role},
            "token": token,
            "two_factor_setup_required": setup_only,
        }
    )
    set_session_cookie(request, response, token)
    return response


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=request.app.state.ctx.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


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
    has_2fa = user.totp_enabled_at is not None
    setup = not has_2fa and not user.is_bot
    setup = setup and await two_factor.two_factor_required(request.app.state.ctx)
    return {
        "user": serialize.user(user),
        "inboxes": inboxes,
        "account": {"two_factor": has_2fa, "two_factor_setup_required": setup},
    }


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
    days = body.expires_in_days
    token = await auth.issue_token(
        request.app.state.ctx,
        actor.id,
        "api",
        name=body.name,
        expires=timedelta(days=days) if days else None,
    )
    return {"token": token, "name": body.name, "expires_in_days": days}


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


@api.route(
    "GET",
    "/api/teams",
    tag=TAG,
    summary="The team directory (for assignment and mentions), with each team's member ids",
)
async def team_directory(request: Request) -> Any:
    """member_ids let the composer offer ``@team`` only when a member can see the inbox
    (docs/automation.md, Mentions)."""
    await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        rows = (
            await conn.execute(sa.select(t.teams.c.id, t.teams.c.name).order_by(t.teams.c.name))
        ).all()
        members = (await conn.execute(sa.select(t.team_members))).all()
    by_team: dict[int, list[int]] = {}
    for m in members:
        by_team.setdefault(m.team_id, []).append(m.user_id)
    return {
        "items": [
            {"id": r.id, "name": r.name, "member_ids": sorted(by_team.get(r.id, []))} for r in rows
        ]
    }
