"""Saved views (docs/views.md): writes. A personal view belongs to its owner; a shared one
is seen by every agent and changed by admins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.actions._tx import transaction
from server.actors import Actor
from server.context import AppContext
from server.exceptions import Forbidden, InvalidInput, NotFound
from server.storage.schema import utcnow
from server.storage.views_schema import saved_views

FILTER_KEYS = ("status", "inbox_id", "team_id", "assignee", "label", "q", "sort")
MAX_VIEWS = 50  # per agent, shared ones included: a sidebar, not a database


def clean_filters(raw: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(raw) - set(FILTER_KEYS))
    if unknown:
        raise InvalidInput(
            f"filters: unknown {', '.join(unknown)}; expected some of {', '.join(FILTER_KEYS)}"
        )
    out: dict[str, str] = {}
    for key, value in raw.items():
        if value is None or value == "":
            continue
        if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 200:
            raise InvalidInput(f"filters.{key}: expected a short text or number")
        out[key] = str(value)
    return out


async def create(
    ctx: AppContext, actor: Actor, name: str, shared: bool, filters: dict[str, str]
) -> Any:
    if shared and not actor.is_admin:
        raise Forbidden("only admins create shared views")
    async with transaction(ctx) as tx:
        v = saved_views.c
        count = await tx.conn.scalar(
            sa.select(sa.func.count()).select_from(saved_views).where(v.owner_id == actor.id)
        )
        if int(count or 0) >= MAX_VIEWS:
            raise InvalidInput(f"name: at most {MAX_VIEWS} views per person; delete one first")
        now = utcnow()
        return (
            await tx.conn.execute(
                saved_views.insert()
                .values(
                    name=name,
                    owner_id=actor.id,
                    shared=shared,
                    filters=filters,
                    created_at=now,
                    updated_at=now,
                )
                .returning(saved_views)
            )
        ).one()


async def _editable(conn: Any, actor: Actor, view_id: int) -> Any:
    row = (await conn.execute(sa.select(saved_views).where(saved_views.c.id == view_id))).first()
    if row is None or (not row.shared and row.owner_id != actor.id):
        raise NotFound(f"view {view_id} not found")
    if row.shared and not actor.is_admin:
        raise Forbidden("only admins change shared views")
    return row


async def update(ctx: AppContext, actor: Actor, view_id: int, changes: dict[str, Any]) -> Any:
    async with transaction(ctx) as tx:
        await _editable(tx.conn, actor, view_id)
        if changes.get("shared") and not actor.is_admin:
            raise Forbidden("only admins share views")
        return (
            await tx.conn.execute(
                sa.update(saved_views)
                .where(saved_views.c.id == view_id)
                .values(**changes, updated_at=utcnow())
                .returning(saved_views)
            )
        ).one()


async def delete(ctx: AppContext, actor: Actor, view_id: int) -> None:
    async with transaction(ctx) as tx:
        await _editable(tx.conn, actor, view_id)
        await tx.conn.execute(sa.delete(saved_views).where(saved_views.c.id == view_id))
