"""Deleting a team or an inbox (admin). History is never deleted with them: a team's
conversations keep existing without a team, and an inbox that has conversations cannot be
deleted at all (disable it instead: is_active false stops its channel and keeps its history)."""

from __future__ import annotations

import sqlalchemy as sa

from server.actions import audit
from server.actions._tx import transaction
from server.context import AppContext
from server.events.types import EventType
from server.exceptions import Conflict, NotFound
from server.storage import schema as t


async def delete_team(ctx: AppContext, team_id: int) -> None:
    """Remove a team; its conversations stay, with no team."""
    async with transaction(ctx) as tx:
        row = (await tx.conn.execute(sa.select(t.teams).where(t.teams.c.id == team_id))).first()
        if row is None:
            raise NotFound(f"team {team_id} not found")
        c = t.conversations.c
        await tx.conn.execute(
            sa.update(t.conversations)
            .where(c.team_id == team_id)
            .values(team_id=None, version=c.version + 1)
        )
        await tx.conn.execute(sa.delete(t.team_members).where(t.team_members.c.team_id == team_id))
        await tx.conn.execute(sa.delete(t.teams).where(t.teams.c.id == team_id))
        await audit.record(
            tx.conn,
            "team.delete",
            target_type="team",
            target_id=team_id,
            details={"name": row.name},
        )


async def delete_inbox(ctx: AppContext, inbox_id: int) -> None:
    """Remove an inbox that never had a conversation (a mistake, a test); else Conflict."""
    async with transaction(ctx) as tx:
        row = (
            await tx.conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))
        ).first()
        if row is None:
            raise NotFound(f"inbox {inbox_id} not found")
        used = (
            await tx.conn.execute(
                sa.select(t.conversations.c.id)
                .where(t.conversations.c.inbox_id == inbox_id)
                .limit(1)
            )
        ).first()
        if used is not None:
            raise Conflict(
                "This inbox has conversations, so it cannot be deleted; disable it instead "
                "(its history stays and its channel stops)."
            )
        for table in (t.inbox_members, t.inbox_state, t.visitor_sessions, t.calendars):
            await tx.conn.execute(sa.delete(table).where(table.c.inbox_id == inbox_id))
        await tx.conn.execute(sa.delete(t.inboxes).where(t.inboxes.c.id == inbox_id))
        await audit.record(
            tx.conn,
            "inbox.delete",
            target_type="inbox",
            target_id=inbox_id,
            details={"name": row.name, "kind": row.kind},
        )
        # sockets drop the inbox from their lists (clients refetch the inbox directory)
        await tx.emit(
            EventType.INBOX_UPDATED, {"inbox": {"id": inbox_id, "deleted": True}}, inbox_id=inbox_id
        )
    if ctx.channels is not None:
        await ctx.channels.reload(inbox_id)  # stops its watcher: the row is gone
