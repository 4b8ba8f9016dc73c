"""Saved views (docs/views.md): the views an agent sees, each with its live count."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server import queries
from server.actors import Actor
from server.storage import schema as t
from server.storage.views_schema import saved_views


async def count(conn: AsyncConnection, actor: Actor, filters: dict[str, str]) -> int:
    """Conversations this agent would see in the list with these filters."""
    c = t.conversations.c
    query = (
        sa.select(sa.func.count())
        .select_from(t.conversations)
        .join(t.contacts, t.contacts.c.id == c.contact_id)
    )
    params = {k: v for k, v in filters.items() if k != "sort"}
    return int(await conn.scalar(await queries.scope_filters(conn, actor, query, params)) or 0)


async def views_of(conn: AsyncConnection, actor: Actor) -> list[dict[str, Any]]:
    v = saved_views.c
    rows = await conn.execute(
        sa.select(saved_views)
        .where(sa.or_(v.owner_id == actor.id, v.shared.is_(True)))
        .order_by(v.shared.desc(), v.name, v.id)
    )
    return [{**view_json(r, actor), "count": await count(conn, actor, r.filters)} for r in rows]


def view_json(row: Any, actor: Actor) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "shared": row.shared,
        "mine": row.owner_id == actor.id,
        "filters": row.filters,
    }
