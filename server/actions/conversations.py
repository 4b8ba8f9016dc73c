"""Agent commands on a conversation: status, assignment, labels, priority."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions import automation, csat
from server.actions._conv import add_activity, locked, update_conversation
from server.actions._tx import transaction
from server.actions.access import conversation_for
from server.actors import Actor
from server.context import AppContext
from server.domain.status import Command, IllegalTransition, Status, transition
from server.exceptions import IllegalState, InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import shared_now

PRIORITIES = ("none", "low", "medium", "high", "urgent")
_VERBS = {
    Command.RESOLVE: "resolved",
    Command.REOPEN: "reopened",
    Command.SNOOZE: "snoozed",
    Command.PEND: "set to pending",
    Command.OPEN: "opened",
}


async def change_status(
    ctx: AppContext,
    actor: Actor,
    conversation_id: int,
    command: Command,
    *,
    snoozed_until: datetime | None = None,
) -> dict[str, Any]:
    now = utcnow()
    if command == Command.SNOOZE and (snoozed_until is None or snoozed_until <= now):
        raise InvalidInput("snoozed_until: a snooze needs a time in the future")
    async with transaction(ctx) as tx:
        conv = await conversation_for(tx.conn, actor, conversation_id, lock=True)
        try:
            new = transition(Status(conv.status), command)
        except IllegalTransition as exc:
            raise IllegalState(str(exc), details={"status": conv.status}) from None
        fields: dict[str, Any] = {
            "status": new.value,
            "snoozed_until": snoozed_until if new == Status.SNOOZED else None,
            "resolved_at": now if new == Status.RESOLVED else None,
        }
        await add_activity(
            tx,
            conv,
            f"{_VERBS[command].capitalize()} by {actor.name}",
            {"status": new.value, "actor_id": actor.id},
            actor.id,
            now,
        )
        row = await update_conversation(tx, conv, fields, recompute_clock=True, now=now)
        row = await automation.on_status(tx, ctx, conv, row)  # issue 15: queues, rules
        await csat.on_resolved(tx, ctx, row)  # docs/csat.md: ask the customer
    return serialize.conversation(row)


async def assign(
    ctx: AppContext,
    actor: Actor,
    conversation_id: int,
    *,
    assignee_id: int | str | None = "keep",
    team_id: int | str | None = "keep",
) -> dict[str, Any]:
    """Assign to an agent and/or a team ("keep" leaves a field unchanged; None clears it)."""
    async with transaction(ctx) as tx:
        conv = await conversation_for(tx.conn, actor, conversation_id, lock=True)
        fields: dict[str, Any] = {}
        notes = []
        if assignee_id != "keep":
            fields["assignee_id"] = assignee_id
            notes.append(await _assignee_note(tx.conn, conv.inbox_id, assignee_id))
        if team_id != "keep":
            fields["team_id"] = team_id
            notes.append(await _team_note(tx.conn, team_id))
        if not fields:
            raise InvalidInput("give assignee_id and/or team_id")
        await add_activity(
            tx,
            conv,
            f"{'; '.join(notes)} by {actor.name}",
            {"assignment": {k: v for k, v in fields.items()}, "actor_id": actor.id},
            actor.id,
            utcnow(),
        )
        row = await update_conversation(tx, conv, fields)
        row = await automation.on_assign(tx, ctx, conv, row, actor.name)  # issue 15
    return serialize.conversation(row)


async def _assignee_note(conn: Any, inbox_id: int, user_id: Any) -> str:
    if user_id is None:
        return "Unassigned"
    u, im = t.users.c, t.inbox_members.c
    row = (
        await conn.execute(sa.select(u.name, u.role, u.is_active).where(u.id == user_id))
    ).first()
    member = (
        await conn.execute(
            sa.select(im.user_id).where(im.inbox_id == inbox_id, im.user_id == user_id)
        )
    ).first()
    if row is None or not row.is_active or (member is None and row.role != "admin"):
        raise InvalidInput(f"assignee_id: agent {user_id} is not an active member of this inbox")
    return f"Assigned to {row.name}"


async def _team_note(conn: Any, team_id: Any) -> str:
    if team_id is None:
        return "Removed from team"
    row = (await conn.execute(sa.select(t.teams.c.name).where(t.teams.c.id == team_id))).first()
    if row is None:
        raise InvalidInput(f"team_id: team {team_id} does not exist")
    return f"Assigned to team {row.name}"


async def set_labels(
    ctx: AppContext,
    actor: Actor,
    conversation_id: int,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> dict[str, Any]:
    for label in [*add, *remove]:
        if not label.strip() or len(label) > 100:
            raise InvalidInput("labels: each label is 1 to 100 characters")
    async with transaction(ctx) as tx:
        conv = await conversation_for(tx.conn, actor, conversation_id, lock=True)
        labels = [x for x in (conv.labels or []) if x not in remove]
        labels += [x for x in add if x not in labels]
        row = await update_conversation(tx, conv, {"labels": labels})
        row = await automation.on_update(tx, ctx, row)  # issue 15: rules
    return serialize.conversation(row)


async def set_priority(
    ctx: AppContext, actor: Actor, conversation_id: int, priority: str
) -> dict[str, Any]:
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority: expected one of {', '.join(PRIORITIES)}, got {priority!r}")
    async with transaction(ctx) as tx:
        conv = await conversation_for(tx.conn, actor, conversation_id, lock=True)
        # priority selects the SLA target, so the deadline is recomputed
        row = await update_conversation(tx, conv, {"priority": priority}, recompute_clock=True)
        row = await automation.on_update(tx, ctx, row)  # issue 15: rules
    return serialize.conversation(row)


async def wake_snoozed(ctx: AppContext, now: datetime | None = None) -> int:
    """Reopen conversations whose snooze expired (run by the timer worker), by the shared
    clock: a node whose wall clock stepped an hour ahead woke every snooze ending within
    the hour (server/storage/shared_clock.py)."""
    c = t.conversations.c
    async with ctx.db.read() as conn:
        now = now or await shared_now(conn)
        due = [
            r.id
            for r in (
                await conn.execute(
                    sa.select(c.id).where(c.status == Status.SNOOZED.value, c.snoozed_until <= now)
                )
            ).all()
        ]
    for conversation_id in due:
        async with transaction(ctx) as tx:
            row = (
                await tx.conn.execute(
                    locked(
                        tx,
                        sa.select(t.conversations).where(
                            c.id == conversation_id, c.status == Status.SNOOZED.value
                        ),
                    )
                )
            ).first()
            if row is None:
                continue
            await add_activity(tx, row, "Snooze ended", {"status": Status.OPEN.value}, None, now)
            await update_conversation(
                tx,
                row,
                {"status": Status.OPEN.value, "snoozed_until": None},
                recompute_clock=True,
                now=now,
            )
    return len(due)


__all__ = ["NotFound", "assign", "change_status", "set_labels", "set_priority", "wake_snoozed"]
