"""Two-factor authentication writes: TOTP setup and switch-off, recovery codes, the check
at login, and the workspace switch that requires it for everyone (docs/accounts.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.actions import accounts, audit
from server.actions._tx import transaction
from server.actors import Actor
from server.context import AppContext
from server.crypto import verify_password
from server.domain import twofactor
from server.exceptions import Conflict, Forbidden, InvalidInput
from server.storage import schema as t
from server.storage.schema import utcnow

REQUIRE_2FA = "require_two_factor"


# Two-factor --------------------------------------------------------------------------


async def begin_totp(ctx: AppContext, actor: Actor) -> tuple[str, str]:
    """A new (not yet active) TOTP secret for the actor: (secret, otpauth URI)."""
    row = await accounts.user_row(ctx, actor.id)
    if row.totp_enabled_at is not None:
        raise Conflict("two-factor authentication is already on; turn it off first")
    secret = twofactor.new_secret()
    async with ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.users)
            .where(t.users.c.id == actor.id)
            .values(totp_secret=ctx.secrets.encrypt_json({"totp": secret}), totp_last_step=None)
        )
    return secret, twofactor.otpauth_uri(secret, row.email)


async def enable_totp(ctx: AppContext, actor: Actor, code: str) -> list[str]:
    """Turn TOTP on once the app shows a right code; returns fresh recovery codes.

    A setup-only session (two-factor required by the workspace) becomes a full session.
    """
    row = await accounts.user_row(ctx, actor.id)
    if row.totp_enabled_at is not None:
        raise Conflict("two-factor authentication is already on")
    secret = ctx.secrets.decrypt_json(row.totp_secret).get("totp")
    if not secret:
        raise Conflict("start the two-factor setup first")
    step = twofactor.accepted_step(secret, code, utcnow(), None)
    if step is None:
        raise InvalidInput("code: that code is not right; check the time on your phone")
    codes = twofactor.new_recovery_codes()
    async with transaction(ctx) as tx:
        await tx.conn.execute(
            sa.update(t.users)
            .where(t.users.c.id == actor.id)
            .values(totp_enabled_at=utcnow(), totp_last_step=step)
        )
        await _store_recovery(tx.conn, actor.id, codes)
        if actor.token_id is not None:
            await tx.conn.execute(
                sa.update(t.auth_tokens)
                .where(t.auth_tokens.c.id == actor.token_id, t.auth_tokens.c.kind == "setup")
                .values(kind="session")
            )
        await audit.record(tx.conn, "account.totp_enable", target_type="user", target_id=actor.id)
    return codes


async def _store_recovery(conn: AsyncConnection, user_id: int, codes: list[str]) -> None:
    await conn.execute(sa.delete(t.recovery_codes).where(t.recovery_codes.c.user_id == user_id))
    await conn.execute(
        t.recovery_codes.insert(),
        [{"user_id": user_id, "code_hash": twofactor.recovery_hash(c)} for c in codes],
    )


async def disable_totp(ctx: AppContext, actor: Actor, password: str) -> None:
    row = await accounts.user_row(ctx, actor.id)
    if not verify_password(row.password_hash, password):
        raise Forbidden("the password is not right")
    if await two_factor_required(ctx):
        raise Conflict("two-factor authentication is required in this workspace")
    async with transaction(ctx) as tx:
        await tx.conn.execute(
            sa.update(t.users)
            .where(t.users.c.id == actor.id)
            .values(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
        )
        await tx.conn.execute(
            sa.delete(t.recovery_codes).where(t.recovery_codes.c.user_id == actor.id)
        )
        await audit.record(tx.conn, "account.totp_disable", target_type="user", target_id=actor.id)


async def new_recovery_codes(ctx: AppContext, actor: Actor, password: str) -> list[str]:
    row = await accounts.user_row(ctx, actor.id)
    if not verify_password(row.password_hash, password):
        raise Forbidden("the password is not right")
    if row.totp_enabled_at is None:
        raise Conflict("turn two-factor authentication on first")
    codes = twofactor.new_recovery_codes()
    async with transaction(ctx) as tx:
        await _store_recovery(tx.conn, actor.id, codes)
        await audit.record(
            tx.conn, "account.recovery_codes_renew", target_type="user", target_id=actor.id
        )
    return codes


async def second_factor_ok(ctx: AppContext, user: Any, code: str) -> bool:
    """Check a TOTP code (each time step once) or spend a recovery code (each once)."""
    if twofactor.looks_like_totp(code):
        secret = ctx.secrets.decrypt_json(user.totp_secret).get("totp")
        step = (
            twofactor.accepted_step(secret, code, utcnow(), user.totp_last_step) if secret else None
        )
        if step is None:
            return False
        return await _advance_step(ctx, user.id, step)
    c = t.recovery_codes.c
    async with ctx.db.write() as conn:
        done = await conn.execute(
            sa.update(t.recovery_codes)
            .where(
                c.user_id == user.id,
                c.code_hash == twofactor.recovery_hash(code),
                c.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
    return bool(done.rowcount)


async def _advance_step(ctx: AppContext, user_id: int, step: int) -> bool:
    """Record the accepted step unless a racing login already used it (or a later one)."""
    u = t.users.c
    async with ctx.db.write() as conn:
        done = await conn.execute(
            sa.update(t.users)
            .where(u.id == user_id, sa.or_(u.totp_last_step.is_(None), u.totp_last_step < step))
            .values(totp_last_step=step)
        )
    return bool(done.rowcount)


# The workspace switch ----------------------------------------------------------------


async def two_factor_required(ctx: AppContext) -> bool:
    async with ctx.db.read() as conn:
        value = (
            await conn.execute(
                sa.select(t.workspace_settings.c.value).where(
                    t.workspace_settings.c.key == REQUIRE_2FA
                )
            )
        ).scalar()
    return bool(value)


async def set_two_factor_required(ctx: AppContext, actor: Actor, required: bool) -> list[int]:
    """Switch the requirement; turning it on ends the sessions of people without 2FA
    (they log in again into a setup-only session). Returns the revoked token ids."""
    if required and (await accounts.user_row(ctx, actor.id)).totp_enabled_at is None:
        raise Conflict("turn on two-factor authentication for your own account first")
    revoked: list[int] = []
    async with transaction(ctx) as tx:
        ws = t.workspace_settings
        await tx.conn.execute(sa.delete(ws).where(ws.c.key == REQUIRE_2FA))
        await tx.conn.execute(
            ws.insert().values(key=REQUIRE_2FA, value=required, updated_at=utcnow())
        )
        if required:
            users = await tx.conn.execute(
                sa.select(t.users.c.id).where(
                    t.users.c.totp_enabled_at.is_(None), t.users.c.is_bot.is_(False)
                )
            )
            for (user_id,) in users.all():
                revoked += await accounts.revoke_user_tokens(tx.conn, user_id, kinds=("session",))
        await audit.record(
            tx.conn,
            "workspace.require_two_factor",
            details={"required": required, "sessions_ended": len(revoked)},
        )
    return revoked
