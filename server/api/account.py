"""The account: own password, sessions, API tokens, two-factor; invite and reset links;
the admin's invites, two-factor switch and audit log (docs/accounts.md)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import account_queries
from server.actions import accounts, two_factor
from server.actions.access import require_admin
from server.actors import Actor
from server.api import auth
from server.api.auth import actor_from
from server.api.routing import Api, Body, path_int, query_id, query_int
from server.api.session import set_session_cookie
from server.context import AppContext

log = logging.getLogger(__name__)
api = Api()
TAG = "account"
PASSWORD = Field(min_length=8, max_length=1024)
RESET_ANSWER = {
    "ok": True,
    "message": "If an account uses this address, a link to reset its password is on its way.",
}


class PasswordChange(Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = PASSWORD


class CodeBody(Body):
    code: str = Field(min_length=6, max_length=64)


class PasswordBody(Body):
    password: str = Field(min_length=1, max_length=1024)


class LinkBody(Body):
    token: str = Field(min_length=16, max_length=200)


class LinkPassword(Body):
    token: str = Field(min_length=16, max_length=200)
    password: str = PASSWORD


class ResetRequest(Body):
    email: str = Field(min_length=3, max_length=320)


class InviteBody(Body):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    role: Literal["agent", "admin"] = "agent"


class SecurityBody(Body):
    require_two_factor: bool


async def close_sockets(
    request: Request,
    *,
    user_id: int | None = None,
    token_id: int | None = None,
    keep_token_id: int | None = None,
) -> None:
    """Close the sockets of revoked tokens on every node (the hub publishes it on the bus)."""
    hub = getattr(request.app.state, "hub", None)
    if hub is not None:
        await hub.revoke(token_id=token_id, user_id=user_id, keep_token_id=keep_token_id)


def base_url(request: Request) -> str:
    public = request.app.state.ctx.settings.public_url
    return str(public or str(request.base_url)).rstrip("/")


# Own account -------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/account/password",
    body=PasswordChange,
    tag=TAG,
    summary="Change your password; every other session and API token of yours ends",
)
async def change_password(request: Request, body: PasswordChange) -> Any:
    actor = await actor_from(request)
    ctx = request.app.state.ctx
    await accounts.change_own_password(ctx, actor, body.current_password, body.new_password)
    await close_sockets(request, user_id=actor.id, keep_token_id=actor.token_id)
    return {"ok": True}


@api.route("GET", "/api/account/sessions", tag=TAG, summary="Your browser sessions")
async def list_sessions(request: Request) -> Any:
    actor = await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        items = await account_queries.live_tokens(conn, actor.id, accounts.SESSION_KINDS)
    for item in items:
        item["current"] = item["id"] == actor.token_id
    return {"items": items}


@api.route(
    "DELETE",
    "/api/account/sessions/{id}",
    tag=TAG,
    summary="End one of your sessions (its sockets close at once)",
)
async def revoke_session(request: Request) -> Any:
    return await _revoke(request, accounts.SESSION_KINDS)


async def _revoke(request: Request, kinds: tuple[str, ...]) -> Any:
    actor = await actor_from(request)
    token_id = path_int(request, "id")
    await accounts.revoke_own_token(request.app.state.ctx, actor, token_id, kinds)
    await close_sockets(request, token_id=token_id)
    return {"ok": True}


@api.route(
    "POST",
    "/api/account/logout-everywhere",
    tag=TAG,
    summary="End every session of yours, this one included (API tokens stay)",
)
async def logout_everywhere(request: Request) -> Any:
    actor = await actor_from(request)
    await accounts.logout_everywhere(request.app.state.ctx, actor)
    await close_sockets(request, user_id=actor.id)
    response = JSONResponse({"ok": True})
    response.delete_cookie(auth.COOKIE, path="/")
    return response


@api.route("GET", "/api/account/tokens", tag=TAG, summary="Your API tokens (never the token)")
async def list_tokens(request: Request) -> Any:
    actor = await actor_from(request)
    async with request.app.state.ctx.db.read() as conn:
        return {"items": await account_queries.live_tokens(conn, actor.id, ("api",))}


@api.route("DELETE", "/api/account/tokens/{id}", tag=TAG, summary="Revoke one of your API tokens")
async def revoke_token(request: Request) -> Any:
    return await _revoke(request, ("api",))


# Two-factor --------------------------------------------------------------------------


@api.route(
    "POST",
    "/api/account/totp/setup",
    tag=TAG,
    summary="Start two-factor setup: a new secret and its otpauth:// URI",
)
async def totp_setup(request: Request) -> Any:
    actor = await actor_from(request)
    secret, uri = await two_factor.begin_totp(request.app.state.ctx, actor)
    return {"secret": secret, "otpauth_uri": uri}


@api.route(
    "POST",
    "/api/account/totp/enable",
    body=CodeBody,
    tag=TAG,
    summary="Turn two-factor on with a code from the app; returns one-time recovery codes",
)
async def totp_enable(request: Request, body: CodeBody) -> Any:
    actor = await actor_from(request)
    codes = await two_factor.enable_totp(request.app.state.ctx, actor, body.code)
    return {"recovery_codes": codes}


@api.route(
    "POST",
    "/api/account/totp/disable",
    body=PasswordBody,
    tag=TAG,
    summary="Turn two-factor off (needs your password)",
)
async def totp_disable(request: Request, body: PasswordBody) -> Any:
    actor = await actor_from(request)
    await two_factor.disable_totp(request.app.state.ctx, actor, body.password)
    return {"ok": True}


@api.route(
    "POST",
    "/api/account/recovery-codes",
    body=PasswordBody,
    tag=TAG,
    summary="New recovery codes (the old ones stop working)",
)
async def recovery_codes(request: Request, body: PasswordBody) -> Any:
    actor = await actor_from(request)
    codes = await two_factor.new_recovery_codes(request.app.state.ctx, actor, body.password)
    return {"recovery_codes": codes}


# Links (anonymous) -------------------------------------------------------------------


@api.route(
    "POST",
    "/api/auth/links/invite",
    body=LinkBody,
    auth="none",
    tag=TAG,
    summary="Who an invite link is for (404 when used, expired or unknown)",
)
async def invite_info(request: Request, body: LinkBody) -> Any:
    _limit(request, "invite")
    row = await accounts.link_owner(request.app.state.ctx, body.token, "invite")
    return {"email": row.email, "name": row.name}


@api.route(
    "POST",
    "/api/auth/invite/accept",
    body=LinkPassword,
    auth="none",
    tag=TAG,
    summary="Accept an invite: choose your password; logs you in",
)
async def accept_invite(request: Request, body: LinkPassword) -> Any:
    ctx = request.app.state.ctx
    _limit(request, "invite")
    user_id = await accounts.use_link(ctx, body.token, "invite", body.password)
    setup_only = await two_factor.two_factor_required(ctx)
    device = auth.Device(auth.client_address(request) or "?", request.headers.get("user-agent", ""))
    token = await auth.issue_token(
        ctx,
        user_id,
        "setup" if setup_only else "session",
        device=device,
        expires=_session_days(request),
    )
    response = JSONResponse({"ok": True, "two_factor_setup_required": setup_only})
    set_session_cookie(request, response, token)
    return response


def _session_days(request: Request) -> timedelta:
    return timedelta(days=request.app.state.ctx.settings.session_days)


@api.route(
    "POST",
    "/api/auth/password-reset",
    body=ResetRequest,
    auth="none",
    status=202,
    tag=TAG,
    summary="Ask for a password reset link by email (the same answer for any address)",
)
async def request_reset(request: Request, body: ResetRequest) -> Any:
    _limit(request, "reset")
    ctx, url = request.app.state.ctx, base_url(request)
    # The lookup and the mail run only once the answer has been sent: a known and an
    # unknown address get the same answer in the same time (docs/accounts.md).
    return JSONResponse(
        RESET_ANSWER,
        status_code=202,
        background=BackgroundTask(_reset_quietly, ctx, body.email, url),
    )


async def _reset_quietly(ctx: AppContext, email: str, url: str) -> None:
    try:
        await accounts.request_reset(ctx, email, url)
    except Exception:  # after the answer: nobody to tell but the log (never the address)
        log.exception("a password reset request could not be recorded")


@api.route(
    "POST",
    "/api/auth/password-reset/confirm",
    body=LinkPassword,
    auth="none",
    tag=TAG,
    summary="Set a new password with a reset link; every session and API token ends",
)
async def confirm_reset(request: Request, body: LinkPassword) -> Any:
    _limit(request, "reset")
    user_id = await accounts.use_link(request.app.state.ctx, body.token, "reset", body.password)
    await close_sockets(request, user_id=user_id)
    return {"ok": True}


def _limit(request: Request, purpose: str) -> None:
    """Link guesses and reset mails per address: 20 a minute (a 256-bit link cannot be
    guessed anyway; this bounds the mail an outsider can make us send)."""
    state = request.app.state
    if not hasattr(state, "account_limiters"):
        state.account_limiters = {}
    limiters: dict[str, auth.RateLimiter] = state.account_limiters
    limiter = limiters.setdefault(purpose, auth.RateLimiter(limit=20, window=60.0))
    limiter.check(auth.client_address(request) or "?")


# Admin -------------------------------------------------------------------------------


async def _admin(request: Request) -> Actor:
    actor = await actor_from(request)
    require_admin(actor)
    return actor


@api.route(
    "POST",
    "/api/admin/invites",
    body=InviteBody,
    status=201,
    auth="admin",
    tag=TAG,
    summary="Invite an agent by email: a single-use link, valid 7 days",
)
async def invite(request: Request, body: InviteBody) -> Any:
    await _admin(request)
    user, link, emailed = await accounts.invite(
        request.app.state.ctx,
        email=body.email,
        name=body.name,
        role=body.role,
        base_url=base_url(request),
    )
    return {"user": user, "invite_url": link, "emailed": emailed}


@api.route(
    "POST",
    "/api/admin/agents/{id}/invite",
    auth="admin",
    tag=TAG,
    summary="A new invite link for an agent who has not set a password (the old one ends)",
)
async def reinvite(request: Request) -> Any:
    await _admin(request)
    link, emailed = await accounts.reinvite(
        request.app.state.ctx, path_int(request, "id"), base_url(request)
    )
    return {"invite_url": link, "emailed": emailed}


@api.route("GET", "/api/admin/security", auth="admin", tag=TAG, summary="Workspace security")
async def get_security(request: Request) -> Any:
    await _admin(request)
    return {"require_two_factor": await two_factor.two_factor_required(request.app.state.ctx)}


@api.route(
    "PUT",
    "/api/admin/security",
    body=SecurityBody,
    auth="admin",
    tag=TAG,
    summary="Require two-factor for everyone (sessions of people without it end)",
)
async def put_security(request: Request, body: SecurityBody) -> Any:
    actor = await _admin(request)
    ctx = request.app.state.ctx
    revoked = await two_factor.set_two_factor_required(ctx, actor, body.require_two_factor)
    for token_id in revoked:
        await close_sockets(request, token_id=token_id)
    return {"require_two_factor": body.require_two_factor}


@api.route(
    "GET",
    "/api/admin/audit",
    auth="admin",
    tag=TAG,
    summary="The audit log, newest first",
    query={"before": {"type": "integer"}, "limit": {"type": "integer"}},
)
async def audit_log(request: Request) -> Any:
    await _admin(request)
    before = query_id(request, "before")
    limit = query_int(request, "limit", 100, hi=500)
    async with request.app.state.ctx.db.read() as conn:
        items = await account_queries.audit_page(conn, before=before, limit=limit)
    return {"items": items, "next_before": items[-1]["id"] if len(items) == limit else None}


@api.route("GET", "/api/admin/audit.csv", auth="admin", tag=TAG, summary="The audit log as CSV")
async def audit_csv(request: Request) -> Any:
    await _admin(request)
    async with request.app.state.ctx.db.read() as conn:
        items = await account_queries.audit_page(conn, limit=100_000)
    return Response(
        account_queries.audit_csv(items),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit-log.csv"'},
    )
