"""Contacts: identity scopes, reads and edits within the actor's inboxes, and merging two
contacts into one (identities and conversations move).

Where a contact is reached from decides what an agent may see of it (docs/security.md):
an identity is unique per (channel, scope, external id), and every channel whose ids are
not world-wide addresses is scoped per inbox, so an integration on inbox A that names an
``external_id`` used on inbox B gets a contact of its own, never B's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.base import ContactInfo
from server import serialize
from server.actions._conv import update_conversation
from server.actions._tx import transaction
from server.actions.access import visible_inbox_ids
from server.actors import Actor
from server.context import AppContext
from server.events.types import EventType
from server.exceptions import Forbidden, InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow

#: Channels whose ids are world-wide addresses: the same address is the same person in
#: every inbox (an email address). Every other channel's ids mean something only inside
#: one inbox (an integration's customer id, a site's user id) unless its adapter scopes
#: them itself (a Telegram bot, a Meta page).
GLOBAL_IDENTITY_CHANNELS = frozenset({"email"})


_MERGED_INTO = sa.select(t.contacts.c.merged_into_id).where(t.contacts.c.id == sa.bindparam("id"))


async def follow_merges(conn: Any, contact_id: int) -> int:
    """The contact ``contact_id`` was merged into, following the chain (itself if none)."""
    for _ in range(20):  # merge chains are short; 20 guards against a cycle
        row = (await conn.execute(_MERGED_INTO, {"id": contact_id})).one()
        if row.merged_into_id is None:
            return contact_id
        contact_id = int(row.merged_into_id)
    return contact_id


def inbox_scope(inbox_id: int) -> str:
    """The identity scope of ids that are unique only within one inbox."""
    return f"inbox:{inbox_id}"


def scoped_identity(inbox: Any, info: ContactInfo) -> ContactInfo:
    """The identity an inbound message is filed under: per inbox unless the channel's ids
    are global addresses or the adapter gave a scope of its own."""
    if info.scope or inbox.kind in GLOBAL_IDENTITY_CHANNELS:
        return info
    return dataclasses.replace(info, scope=inbox_scope(int(inbox.id)))


async def contact_for(conn: AsyncConnection, actor: Actor, contact_id: int) -> Any:
    """A contact the actor may see: one with a conversation in one of its inboxes."""
    row = (await conn.execute(sa.select(t.contacts).where(t.contacts.c.id == contact_id))).first()
    if row is None:
        raise NotFound(f"contact {contact_id} not found")
    visible = await visible_inbox_ids(conn, actor)
    if visible is None:
        return row
    c = t.conversations.c
    seen = (
        await conn.execute(
            sa.select(c.id).where(c.contact_id == contact_id, c.inbox_id.in_(visible)).limit(1)
        )
    ).first()
    if seen is None:
        raise NotFound(f"contact {contact_id} not found")
    return row


async def contact_detail(conn: AsyncConnection, actor: Actor, contact_id: int) -> dict[str, Any]:
    row = await contact_for(conn, actor, contact_id)
    idents = (
        await conn.execute(
            sa.select(t.contact_identities).where(t.contact_identities.c.contact_id == contact_id)
        )
    ).all()
    visible = await visible_inbox_ids(conn, actor)
    if visible is not None:
        kinds = await _visible_kinds(conn, contact_id, visible)
        idents = [i for i in idents if _identity_visible(i, kinds, visible)]
    return serialize.contact(row, list(idents))


async def _visible_kinds(conn: AsyncConnection, contact_id: int, visible: set[int]) -> set[str]:
    """Channel kinds of the inboxes through which the actor reaches this contact."""
    c, i = t.conversations.c, t.inboxes.c
    rows = await conn.execute(
        sa.select(i.kind)
        .join(t.conversations, c.inbox_id == i.id)
        .where(c.contact_id == contact_id, c.inbox_id.in_(visible))
        .distinct()
    )
    return {str(r[0]) for r in rows}


def _identity_visible(ident: Any, kinds: set[str], visible: set[int]) -> bool:
    """An identity of another inbox (its scope names it) or of a channel the actor does
    not reach this contact through is not shown: it is what that inbox knows."""
    if str(ident.scope).startswith("inbox:"):
        return ident.scope in {inbox_scope(n) for n in visible}
    return ident.channel in kinds


async def _require_whole(conn: AsyncConnection, actor: Actor, contact_id: int) -> None:
    """Merging moves every conversation of a contact: an agent may merge only contacts
    whose conversations are all in inboxes it can see (else it would attach another
    inbox's conversations to a contact it knows, or the reverse)."""
    visible = await visible_inbox_ids(conn, actor)
    if visible is None:
        return
    c = t.conversations.c
    hidden = (
        await conn.execute(
            sa.select(c.id).where(c.contact_id == contact_id, c.inbox_id.not_in(visible)).limit(1)
        )
    ).first()
    if hidden is not None:
        raise Forbidden(
            "This contact also has conversations in inboxes you cannot see, "
            "so only an admin can merge it."
        )


async def update_contact(
    ctx: AppContext, actor: Actor, contact_id: int, fields: Mapping[str, Any]
) -> dict[str, Any]:
    async with transaction(ctx) as tx:
        await contact_for(tx.conn, actor, contact_id)
        await tx.conn.execute(
            sa.update(t.contacts)
            .where(t.contacts.c.id == contact_id)
            .values(**fields, updated_at=utcnow())
        )
        row = (
            await tx.conn.execute(sa.select(t.contacts).where(t.contacts.c.id == contact_id))
        ).one()
        data = serialize.contact(row)
        for inbox_id in await _inboxes_of(tx.conn, contact_id):
            await tx.emit(EventType.CONTACT_UPDATED, {"contact": data}, inbox_id=inbox_id)
    return data


async def _inboxes_of(conn: AsyncConnection, contact_id: int) -> list[int]:
    c = t.conversations.c
    rows = await conn.execute(sa.select(c.inbox_id).where(c.contact_id == contact_id).distinct())
    return [int(r[0]) for r in rows]


async def merge(ctx: AppContext, actor: Actor, target_id: int, source_id: int) -> dict[str, Any]:
    """Merge ``source`` into ``target``: one customer, every channel, one history."""
    if target_id == source_id:
        raise InvalidInput("source_id: cannot merge a contact into itself")
    async with transaction(ctx) as tx:
        target = await contact_for(tx.conn, actor, target_id)
        source = await contact_for(tx.conn, actor, source_id)
        await _require_whole(tx.conn, actor, target_id)
        await _require_whole(tx.conn, actor, source_id)
        await tx.conn.execute(
            sa.update(t.contact_identities)
            .where(t.contact_identities.c.contact_id == source_id)
            .values(contact_id=target_id)
        )
        moved = (
            await tx.conn.execute(
                sa.select(t.conversations).where(t.conversations.c.contact_id == source_id)
            )
        ).all()
        for conv in moved:
            await update_conversation(tx, conv, {"contact_id": target_id})
        await tx.conn.execute(
            sa.update(t.contacts)
            .where(t.contacts.c.id == target_id)
            .values(
                name=target.name or source.name,
                email=target.email or source.email,
                phone=target.phone or source.phone,
                avatar_url=target.avatar_url or source.avatar_url,
                attributes={**(source.attributes or {}), **(target.attributes or {})},
                updated_at=utcnow(),
            )
        )
        await tx.conn.execute(
            sa.update(t.contacts)
            .where(t.contacts.c.id == source_id)
            .values(merged_into_id=target_id, updated_at=utcnow())
        )
        for inbox_id in await _inboxes_of(tx.conn, target_id):
            await tx.emit(
                EventType.CONTACT_MERGED,
                {"target_id": target_id, "source_id": source_id},
                inbox_id=inbox_id,
            )
    async with ctx.db.read() as conn:
        return await contact_detail(conn, actor, target_id)


async def list_contacts(
    conn: AsyncConnection, actor: Actor, q: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Newest first; merged-away contacts are hidden (their target stands for them)."""
    k = t.contacts.c
    query = sa.select(t.contacts).where(k.merged_into_id.is_(None))
    visible = await visible_inbox_ids(conn, actor)
    if visible is not None:
        c = t.conversations.c
        query = query.where(
            sa.exists(sa.select(c.id).where(c.contact_id == k.id, c.inbox_id.in_(visible)))
        )
    if q:
        like = f"%{q.lower()[:200]}%"
        query = query.where(
            sa.or_(
                sa.func.lower(k.name).like(like),
                sa.func.lower(k.email).like(like),
                k.phone.like(like),
            )
        )
    if cursor:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise InvalidInput(f"cursor: expected a contact id, got {cursor[:40]!r}")
        query = query.where(k.id < int(cursor))
    rows = (await conn.execute(query.order_by(k.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    return {
        "items": [serialize.contact(r) for r in rows[:limit]],
        "next_cursor": str(rows[limit - 1].id) if more else None,
    }
