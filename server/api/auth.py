"""Authentication: session cookies for browsers, bearer API tokens for bots/integrations.

Cookie-authenticated requests that change state must be JSON (``parse_body`` enforces the
content type): a cross-site form cannot send application/json without a CORS preflight,
which this server never grants, so the SameSite=Lax cookie plus JSON is our CSRF guard.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from starlette.requests import HTTPConnection

from server.actors import Actor
from server.context import AppContext
from server.crypto import new_token, token_hash, verify_password
from server.exceptions import RateLimited, Unauthorized
from server.storage import schema as t
from server.storage.schema import utcnow

COOKIE = "sb_session"


async def actor_from(conn: HTTPConnection) -> Actor:
    """The authenticated agent of a request or WebSocket, or Unauthorized."""
    token = _bearer(conn) or conn.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("log in first: no session cookie or bearer token")
    actor = await actor_for_token(conn.app.state.ctx, token)
    if actor is None:
        raise Unauthorized("session expired or token revoked: log in again")
    return actor


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _actor_by_token() -> sa.Select[Any]:
    a, u = t.auth_tokens.c, t.users.c
    return (
        sa.select(u.id, u.role, u.name, u.is_bot, a.id.label("token_id"))
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


async def actor_for_token(ctx: AppContext, token: str) -> Actor | None:
    params = {"token_hash": token_hash(token), "now": utcnow()}
    async with ctx.db.read() as conn:
        row = (await conn.execute(_ACTOR_BY_TOKEN, params)).first()
    if row is None:
        return None
    return Actor(row.id, row.role, row.name, row.is_bot, row.token_id)


async def token_still_valid(ctx: AppContext, actor: Actor) -> bool:
    """Used by sockets to notice logout or deactivation while connected."""
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


async def login(ctx: AppContext, email: str, password: str) -> tuple[str, Actor]:
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
    token = await issue_token(
        ctx, row.id, "session", expires=timedelta(days=ctx.settings.session_days)
    )
    return token, Actor(row.id, row.role, row.name, row.is_bot)


async def issue_token(
    ctx: AppContext,
    user_id: int,
    kind: str,
    *,
    name: str | None = None,
    expires: timedelta | None = None,
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


class RateLimiter:
    """Sliding-window limiter per key, in process memory.

    Per node: with N nodes an attacker gets N times the budget, which is still a hard cap
    on password guessing; a Redis-backed limiter can replace it behind the same method.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str) -> None:
        now = time.monotonic()
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            retry = int(hits[0] + self.window - now) + 1
            raise RateLimited(
                f"too many attempts; try again in {retry} s", details={"retry_after": retry}
            )
        hits.append(now)
        if len(self._hits) > 100_000:  # bound memory under a spray of distinct keys
            self._hits.clear()
