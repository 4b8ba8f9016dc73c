"""An agent's own email signature (adapters/email/README.md, "Signature"): written here,
read by the outbox when it hands a reply to a channel. Only the email adapter uses it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.actions._tx import transaction
from server.actors import Actor
from server.context import AppContext
from server.storage import schema as t
from server.storage.schema import utcnow

OUTBOUND_KEY = "agent_signature"  # in OutboundMessage.content_attributes


async def set_own(ctx: AppContext, actor: Actor, signature: str) -> str:
    s = t.agent_signatures.c
    text = signature.strip()
    async with transaction(ctx) as tx:
        await tx.conn.execute(sa.delete(t.agent_signatures).where(s.user_id == actor.id))
        if text:
            await tx.conn.execute(
                t.agent_signatures.insert().values(
                    user_id=actor.id, signature=text, updated_at=utcnow()
                )
            )
    return text


async def own(ctx: AppContext, actor: Actor) -> str:
    async with ctx.db.read() as conn:
        return await of_user(conn, actor.id)


async def of_user(conn: Any, user_id: int | None) -> str:
    if user_id is None:
        return ""
    s = t.agent_signatures.c
    found = (
        await conn.execute(sa.select(s.signature).where(s.user_id == user_id))
    ).scalar_one_or_none()
    return str(found or "")


async def for_outbound(conn: Any, message: Any) -> dict[str, str]:
    """``{"agent_signature": …}`` for a reply written by an agent who has one."""
    if message.sender_type != "agent":
        return {}
    text = await of_user(conn, message.sender_id)
    return {OUTBOUND_KEY: text} if text else {}
