"""Inbox membership checks, shared by REST and WebSocket.

A conversation in an inbox the actor is not a member of is reported exactly like one that
does not exist (NotFound), so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.actors import Actor
from server.exceptions import Forbidden, NotFound
from server.storage import schema as t


async def visible_inbox_ids(conn: AsyncConnection, actor: Actor) -> set[int] | None:
    """Inbox ids the actor may see; None means all (admins)."""
    if actor.is_admin:
        return None
    rows = await conn.execute(
        sa.select(t.inbox_members.c.inbox_id).where(t.inbox_members.c.user_id == actor.id)
    )
    return {int(r[0]) for r in rows}


async def can_see_inbox(conn: AsyncConnection, actor: Actor, inbox_id: int) -> bool:
    if actor.is_admin:
        return True
    row = await conn.execute(
        sa.select(sa.literal(1)).where(
            t.inbox_members.c.inbox_id == inbox_id, t.inbox_members.c.user_id == actor.id
        )
    )
    return row.first() is not None


async def conversation_for(
    conn: AsyncConnection, actor: Actor, conversation_id: int, *, lock: bool = False
) -> Any:
    query = sa.select(t.conversations).where(t.conversations.c.id == conversation_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or not await can_see_inbox(conn, actor, row.inbox_id):
        raise NotFound(f"conversation {conversation_id} not found")
    return row


# built once: every API-channel, webhook and widget request reads it
_ACTIVE_INBOX_BY_KEY = sa.select(t.inboxes).where(
    t.inboxes.c.public_key == sa.bindparam("key"), t.inboxes.c.is_active.is_(True)
)


async def active_inbox_by_key(conn: AsyncConnection, key: str) -> Any:
    """The active inbox with this public key (channel URLs name it), or None."""
    return (await conn.execute(_ACTIVE_INBOX_BY_KEY, {"key": key})).first()


async def inbox_for(conn: AsyncConnection, actor: Actor, inbox_id: int) -> Any:
    row = (await conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))).first()
    if row is None or not await can_see_inbox(conn, actor, inbox_id):
        raise NotFound(f"inbox {inbox_id} not found")
    return row


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("this action needs the admin role")
