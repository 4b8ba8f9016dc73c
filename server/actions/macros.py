"""Macros: named action lists an agent runs on a conversation in one click (docs/automation.md).

Shared macros (visible to everyone, created by admins) and personal ones (their owner
only). A run is one transaction: every action, one activity line ("Macro 'Refund' by Ana:
added label refund and resolved the conversation"), the rules its changes fire. A reply or
note a macro sends is the agent's own (a human reply: it does stop the FRT clock).
Actions that fail (a deleted agent or team) are listed in the answer and the line.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions import automation, rule_store
from server.actions._conv import update_conversation
from server.actions._tx import Tx, transaction
from server.actions.access import conversation_for
from server.actions.replies import enqueue_delivery
from server.actions.rule_actions import ActionFailed, Outcome, execute
from server.actions.rules import activity_line
from server.actors import Actor
from server.context import AppContext
from server.domain.rules import Action, Rule
from server.events.types import EventType
from server.exceptions import Forbidden, InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow

ALLOWED = (
    "assign_agent",
    "assign_team",
    "add_label",
    "remove_label",
    "set_priority",
    "snooze",
    "resolve",
    "send_reply",
    "add_note",
)


def _serialize(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "visibility": row.visibility,
        "owner_id": row.owner_id,
        "actions": row.actions or [],
    }


def _validate(name: str, actions: list[dict[str, Any]]) -> Rule:
    for n, action in enumerate(actions):
        if action.get("type") not in ALLOWED:
            raise InvalidInput(
                f"actions[{n}].type: macros can run {', '.join(ALLOWED)}; "
                f"got {action.get('type')!r}",
                details=[{"field": f"actions[{n}].type", "message": "not a macro action"}],
            )
    return rule_store.parse({"name": name, "trigger": "conversation_updated", "actions": actions})


async def save(
    ctx: AppContext, actor: Actor, data: dict[str, Any], macro_id: int | None = None
) -> dict[str, Any]:
    rule = _validate(data["name"], data["actions"])
    await rule_store.check_references(ctx, rule.actions)
    if data["visibility"] == "shared" and not actor.is_admin:
        raise Forbidden("shared macros are created by admins; make it personal instead")
    now = utcnow()
    values = {
        "name": rule.name,
        "actions": data["actions"],
        "visibility": data["visibility"],
        "updated_at": now,
    }
    m = t.macros.c
    async with transaction(ctx) as tx:
        if macro_id is None:
            query: Any = t.macros.insert().values(**values, owner_id=actor.id, created_at=now)
        else:
            await _own(tx.conn, actor, macro_id)
            query = sa.update(t.macros).where(m.id == macro_id).values(**values)
        row = (await tx.conn.execute(query.returning(t.macros))).one()
    return _serialize(row)


async def _visible(conn: Any, actor: Actor, macro_id: int) -> Any:
    m = t.macros.c
    row = (await conn.execute(sa.select(t.macros).where(m.id == macro_id))).first()
    if row is None or (row.visibility == "personal" and row.owner_id != actor.id):
        raise NotFound(f"macro {macro_id} not found")
    return row


async def _own(conn: Any, actor: Actor, macro_id: int) -> Any:
    row = await _visible(conn, actor, macro_id)
    if row.owner_id != actor.id and not actor.is_admin:
        raise Forbidden("only its owner or an admin can change a shared macro")
    return row


async def list_for(ctx: AppContext, actor: Actor) -> list[dict[str, Any]]:
    m = t.macros.c
    async with ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(t.macros)
            .where(sa.or_(m.visibility == "shared", m.owner_id == actor.id))
            .order_by(m.name, m.id)
        )
        return [_serialize(r) for r in rows]


async def delete(ctx: AppContext, actor: Actor, macro_id: int) -> None:
    async with transaction(ctx) as tx:
        await _own(tx.conn, actor, macro_id)
        await tx.conn.execute(sa.delete(t.macros).where(t.macros.c.id == macro_id))


async def run(ctx: AppContext, actor: Actor, conversation_id: int, macro_id: int) -> dict[str, Any]:
    async with transaction(ctx) as tx:
        conv = await conversation_for(tx.conn, actor, conversation_id, lock=True)
        macro = await _visible(tx.conn, actor, macro_id)
        rule = _validate(macro.name, list(macro.actions or []))
        outcomes: list[Outcome] = []
        row = conv
        for action in rule.actions:
            try:
                outcome, row = await _execute(tx, ctx, actor, rule, action, row)
            except ActionFailed as exc:
                outcome = Outcome(action.type, False, f"could not {exc.verb}: {exc.reason}")
            outcomes.append(outcome)
        row = await activity_line(tx, f"Macro '{rule.name}' by {actor.name}:", rule, row, outcomes)
        row = await automation.on_update(tx, ctx, row)
    return {
        "conversation": serialize.conversation(row),
        "results": [o.as_dict() for o in outcomes],
    }


async def _execute(
    tx: Tx, ctx: AppContext, actor: Actor, rule: Rule, action: Action, conv: Any
) -> tuple[Outcome, Any]:
    if action.type not in ("send_reply", "add_note"):
        return await execute(tx, ctx, rule, action, conv)
    note = action.type == "add_note"
    now = utcnow()
    row = (
        await tx.conn.execute(
            t.messages.insert()
            .values(
                conversation_id=conv.id,
                inbox_id=conv.inbox_id,
                direction="out",
                kind="note" if note else "message",
                sender_type="agent",
                sender_id=actor.id,
                is_auto=False,  # the agent chose to send it: a human reply
                text=str(action.params["text"]),
                attachments=[],
                status="sent" if note else "pending",
                content_attributes={"sender_name": actor.name, "macro": rule.name},
                sent_at=now,
                created_at=now,
            )
            .returning(t.messages)
        )
    ).one()
    await tx.emit(
        EventType.MESSAGE_CREATED,
        {"message": serialize.message(row)},
        inbox_id=conv.inbox_id,
        conversation_id=conv.id,
    )
    if note:
        from server.actions import notifications

        await notifications.notify_mentions(tx, conv, row)
        return Outcome("add_note", True, text="added a private note"), conv
    await enqueue_delivery(tx, row)  # the one outbox insert (server/actions/replies.py)
    tx.after_commit.append(ctx.outbox_wakeup.set)
    updated = await update_conversation(
        tx, conv, {"last_message_at": now}, recompute_clock=True, now=now
    )
    return Outcome("send_reply", True, text="sent a reply"), updated
