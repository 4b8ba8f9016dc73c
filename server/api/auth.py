"""Authentication: session cookies for browsers, bearer API tokens for bots/integrations.

Cookie-authenticated requests that change state must be JSON (``parse_body`` enforces the
content type): a cross-site form cannot send application/json without a CORS preflight,
which this server never grants, so the SameSite=Lax cookie plus JSON is our CSRF guard.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import HTTPConnection

from server.actions import accounts, audit, two_factor
from server.actors import Actor
from server.context import AppContext
from server.crypto import new_token, token_hash, verify_password
from server.exceptions import Forbidden, RateLimited, TwoFactorRequired, Unauthorized
from server.storage import schema as t
from server.storage.schema import utcnow

COOKIE = "sb_session"


#: A session issued while the workspace requires two-factor authentication and the user
#: has none yet: it reaches only these paths (set up 2FA, look at itself, log out).
SETUP_PATHS = ("/api/me", "/api/account/", "/api/auth/logout")
#: last_used_at is written at most this often per token (a write per request would cost
#: more than the request).
TOUCH_SECONDS = 300


async def actor_from(conn: HTTPConnection) -> Actor:
    """The authenticated agent of a request or WebSocket, or Unauthorized."""
    token = _bearer(conn) or conn.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("log in first: no session cookie or bearer token")
    ctx = conn.app.state.ctx
    row = await _token_row(ctx, token)
    if row is None:
        raise Unauthorized("session expired or token revoked: log in again")
    if row.kind == "setup" and not conn.url.path.startswith(SETUP_PATHS):
        raise Forbidden(
            "two-factor authentication is required: set it up on your account page first",
            details={"reason": "two_factor_setup_required"},
        )
    last = row.last_used_at
    if last is None or (utcnow() - last).total_seconds() > TOUCH_SECONDS:
        await accounts.touch_token(ctx, row.token_id)
    actor = _actor(row)
    audit.set_origin(actor, client_address(conn))
    return actor


def client_address(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _actor_by_token() -> sa.Select[Any]:
    a, u = t.auth_tokens.c, t.users.c
    return (
        sa.select(
            u.id,
            u.role,
            u.name,
            u.is_bot,
            a.id.label("token_id"),
            a.kind,
            a.last_used_at,
            a.expires_at,
        )
        .join(t.users, u.id == a.user_id)
        .where(
            a.token_hash == sa.bindparam("token_hash"),
            a.revoked_at.is_(None),
            u.is_active.is_(True),
            sa.or_(a.expires_at.is_(None), a.expires_at > sa.bindparam("now")),
        )
    )


#: Built once: every API request and socket handshake runs it (building a statement per
#: call costs more than executing it on SQLite).
_ACTOR_BY_TOKEN = _actor_by_token()


async def _token_row(ctx: AppContext, token: str) -> Any:
    params = {"token_hash": token_hash(token), "now": utcnow()}
    async with ctx.db.read() as conn:
        return (await conn.execute(_ACTOR_BY_TOKEN, params)).first()


def _actor(row: Any) -> Actor:
    return Actor(row.id, row.role, row.name, row.is_bot, row.token_id)


async def actor_for_token(ctx: AppContext, token: str) -> Actor | None:
    """The actor of a full session or API token (a setup-only session is not one)."""
    found = await session_for_token(ctx, token)
    return found[0] if found else None


async def session_for_token(ctx: AppContext, token: str) -> tuple[Actor, Any] | None:
    """(actor, expires_at) of a full session or API token, read from the database now
    (the per-node socket cache, server/realtime/session_cache.py, is built on it)."""
    row = await _token_row(ctx, token)
    if row is None or row.kind == "setup":
        return None
    return _actor(row), row.expires_at


async def current_role(conn: AsyncConnection, actor: Actor) -> Actor:
    """The actor with its role as stored now (a socket re-reads it once registered)."""
    role = (await conn.execute(sa.select(t.users.c.role).where(t.users.c.id == actor.id))).scalar()
    return actor if role is None or role == actor.role else replace(actor, role=role)


async def token_still_valid(ctx: AppContext, actor: Actor) -> bool:
    """Used by sockets to notice logout, a password change or deactivation while connected."""
    a, u = t.auth_tokens.c, t.users.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(a.id)
                .join(t.users, u.id == a.user_id)
                .where(
                    a.id == actor.token_id,
                    a.revoked_at.is_(None),
                    u.is_active.is_(True),
                    sa.or_(a.expires_at.is_(None), a.expires_at > utcnow()),
                )
            )
        ).first()
    return row is not None


@dataclass(frozen=True)
class Device:
    """Where a login comes from: shown in the sessions list, used by the login throttle."""

    address: str
    user_agent: str


async def login(
    ctx: AppContext, email: str, password: str, code: str | None, device: Device
) -> tuple[str, Actor, bool]:
    """Check the password (and the second factor when the account has one); issue a
    session. Returns (token, actor, setup_only). Every refusal before the second factor
    is the same "wrong email or password", whatever was wrong."""
    u = t.users.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(t.users).where(sa.func.lower(u.email) == email.strip().lower())
            )
        ).first()
    ok = verify_password(row.password_hash if row else None, password)
    if row is None or not ok or not row.is_active:
        raise Unauthorized("wrong email or password")
    if row.totp_enabled_at is not None:
        if not code:
            raise TwoFactorRequired("enter the code from your authenticator app")
        if not await two_factor.second_factor_ok(ctx, row, code):
            raise Unauthorized("wrong two-factor code", details={"reason": "totp_wrong"})
    setup_only = row.totp_enabled_at is None and not row.is_bot
    setup_only = setup_only and await two_factor.two_factor_required(ctx)
    token = await issue_token(
        ctx,
        row.id,
        "setup" if setup_only else "session",
        expires=timedelta(days=ctx.settings.session_days),
        device=device,
    )
    return token, Actor(row.id, row.role, row.name, row.is_bot), setup_only


async def issue_token(
    ctx: AppContext,
    user_id: int,
    kind: str,
    *,
    name: str | None = None,
    expires: timedelta | None = None,
    device: Device | None = None,
) -> str:
    token = new_token()
    now = utcnow()
    async with ctx.db.write() as conn:
        await conn.execute(
            t.auth_tokens.insert().values(
                user_id=user_id,
                kind=kind,
                token_hash=token_hash(token),
                name=name,
                created_at=now,
                expires_at=now + expires if expires else None,
                address=device.address[:64] if device else None,
                user_agent=device.user_agent[:300] if device else None,
            )
        )
    return token


async def revoke_token(ctx: AppContext, token_id: int) -> None:
    async with ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.auth_tokens)
            .where(t.auth_tokens.c.id == token_id)
            .values(revoked_at=utcnow())
        )


async def known_address(ctx: AppContext, email: str, address: str) -> bool:
    """Has this account logged in from this address in the last 30 days?"""
    a, u = t.auth_tokens.c, t.users.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(a.id)
                .join(t.users, u.id == a.user_id)
                .where(
                    sa.func.lower(u.email) == email.strip().lower(),
                    a.address == address,
                    a.kind.in_(("session", "setup")),
                    a.created_at > utcnow() - timedelta(days=30),
                )
                .limit(1)
            )
        ).first()
    return row is not None


class RateLimiter:
    """Sliding-window limiter per key, in process memory.

    Per node: with N nodes an attacker gets N times the budget, which is still a hard cap
    on password guessing; a Redis-backed limiter can replace it behind the same method.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str) -> None:
        """Count one attempt for ``key``; RateLimited (with retry_after) when over."""
        self.ensure(key)
        self.hit(key)

    def ensure(self, key: str) -> None:
        """RateLimited if ``key`` is over its budget; counts nothing."""
        retry = self.retry_after(key)
        if retry:
            raise RateLimited(
                f"too many attempts; try again in {retry} s", details={"retry_after": retry}
            )

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again (0: it may now)."""
        hits = self._hits.get(key)
        if not hits:
            return 0
        now = time.monotonic()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit:
            return 0
        return int(hits[0] + self.window - now) + 1

    def hit(self, key: str) -> None:
        if len(self._hits) > 100_000:  # bound memory under a spray of distinct keys
            self._hits.clear()
        self._hits[key].append(time.monotonic())

    def forget(self, key: str) -> None:
        self._hits.pop(key, None)


class LoginThrottle:
    """Failed logins, limited so that an attacker cannot lock the owner out
    (docs/accounts.md, "Login throttling").

    * per account + address: 10 failures a minute — the guessing budget of one address;
    * per address: 60 failures a minute over all accounts — one address spraying many;
    * per account: 100 failures an hour from all addresses together — a distributed
      guesser. This slower limit does not apply to an address the account logged in from
      in the last 30 days, so the owner still gets in while someone else is refused.

    Only failures count; a success clears its account + address budget.
    """

    def __init__(self) -> None:
        self.pair = RateLimiter(limit=10, window=60.0)
        self.address = RateLimiter(limit=60, window=60.0)
        self.account = RateLimiter(limit=100, window=3600.0)

    async def ensure(self, ctx: AppContext, email: str, address: str) -> None:
        account = email.strip().lower()
        self.pair.ensure(f"{account}|{address}")
        self.address.ensure(address)
        if self.account.retry_after(account) and not await known_address(ctx, email, address):
            self.account.ensure(account)

    def failed(self, email: str, address: str) -> None:
        account = email.strip().lower()
        self.pair.hit(f"{account}|{address}")
        self.address.hit(address)
        self.account.hit(account)

    def succeeded(self, email: str, address: str) -> None:
        self.pair.forget(f"{email.strip().lower()}|{address}")
