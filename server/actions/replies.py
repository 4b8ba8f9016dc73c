"""Agent replies and private notes.

A public reply is committed (status ``pending``) together with its outbox row before any
send attempt; the outbox worker delivers it. A ``client_id`` makes the send idempotent: a
retried request returns the original message. ``last_seen_message_id`` is the stale-reply
guard: if a newer customer message or another author's reply arrived since, the send is
held (StaleReply with those messages) unless ``force`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions import automation
from server.actions._conv import load_inbox, update_conversation
from server.actions._tx import Tx, transaction
from server.actions.access import conversation_for
from server.actors import Actor
from server.context import AppContext
from server.events.types import EventType
from server.exceptions import Conflict, InvalidInput, StaleReply
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import shared_now_sql

MAX_TEXT = 65_536  # far above any channel's limit; the adapter splits or refuses per channel


@dataclass(frozen=True)
class ReplyRequest:
    conversation_id: int
    text: str
    private: bool = False
    client_id: str | None = None
    last_seen_message_id: int | None = None
    force: bool = False
    content_attributes: dict[str, Any] | None = None  # e.g. {"template": {...}}
    attachment_ids: tuple[int, ...] = ()


async def reply(ctx: AppContext, actor: Actor, req: ReplyRequest) -> tuple[dict[str, Any], bool]:
    """Post a reply or note; returns (message, created)."""
    _validate(req)
    async with transaction(ctx) as tx:
        conv = await conversation_for(tx.conn, actor, req.conversation_id, lock=True)
        existing = await _existing(tx, conv, actor, req)
        if existing is not None:
            return serialize.message(existing), False
        if not req.private and not req.force:
            await _guard_stale(tx, conv, actor, req.last_seen_message_id)
        inbox = await load_inbox(tx, conv.inbox_id)
        if not req.private:
            _check_reply_window(conv, inbox, req, utcnow())
        row = await _insert(tx, conv, actor, req)
        if not req.private:
            await _enqueue(tx, row)
            tx.after_commit.append(ctx.outbox_wakeup.set)
        updated = await update_conversation(
            tx,
            conv,
            {"last_message_at": row.sent_at},
            recompute_clock=not req.private,
            now=row.sent_at,
        )
        await automation.on_reply(tx, ctx, updated, row)  # issue 15: mentions, rules
    return serialize.message(row), True


def _validate(req: ReplyRequest) -> None:
    if not req.text.strip() and not req.attachment_ids and not req.content_attributes:
        raise InvalidInput("text: a reply needs text, an attachment or a template")
    if len(req.text) > MAX_TEXT:
        raise InvalidInput(f"text: longer than {MAX_TEXT} characters")


async def _existing(tx: Tx, conv: Any, actor: Actor, req: ReplyRequest) -> Any:
    if not req.client_id:
        return None
    m = t.messages.c
    row = (
        await tx.conn.execute(
            sa.select(t.messages).where(m.inbox_id == conv.inbox_id, m.client_id == req.client_id)
        )
    ).first()
    if row is not None and (row.conversation_id != conv.id or row.sender_id != actor.id):
        raise Conflict("client_id: already used for another message")
    return row


async def _guard_stale(tx: Tx, conv: Any, actor: Actor, last_seen: int | None) -> None:
    if last_seen is None:
        return
    m = t.messages.c
    newer = (
        await tx.conn.execute(
            sa.select(t.messages)
            .where(
                m.conversation_id == conv.id,
                m.id > last_seen,
                m.kind == "message",
                sa.or_(m.direction == "in", m.sender_id.is_(None), m.sender_id != actor.id),
            )
            .order_by(m.id)
        )
    ).all()
    if newer:
        raise StaleReply(
            f"{len(newer)} new message(s) arrived since you last looked; review before sending",
            details={"messages": [serialize.message(r) for r in newer]},
        )


def _check_reply_window(conv: Any, inbox: Any, req: ReplyRequest, now: datetime) -> None:
    closes = conv.reply_window_closes_at
    template = (req.content_attributes or {}).get("template")
    if closes is not None and closes < now and not template:
        raise Conflict(
            f"the {inbox.kind} reply window closed at {closes.isoformat()}: "
            "send an approved template instead",
            details={"reply_window_closes_at": closes.isoformat()},
        )


async def _insert(tx: Tx, conv: Any, actor: Actor, req: ReplyRequest) -> Any:
    now = utcnow()
    attachments = await _claim_attachments(tx, conv, req.attachment_ids)
    row = (
        await tx.conn.execute(
            t.messages.insert()
            .values(
                conversation_id=conv.id,
                inbox_id=conv.inbox_id,
                direction="out",
                kind="note" if req.private else "message",
                sender_type="agent",
                sender_id=actor.id,
                is_auto=False,
                text=req.text,
                attachments=attachments,
                client_id=req.client_id,
                status="sent" if req.private else "pending",
                content_attributes={**(req.content_attributes or {}), "sender_name": actor.name},
                sent_at=now,
                created_at=now,
            )
            .returning(t.messages)
        )
    ).one()
    if attachments:
        await tx.conn.execute(
            sa.update(t.attachments)
            .where(t.attachments.c.id.in_(req.attachment_ids))
            .values(message_id=row.id)
        )
    await tx.emit(
        EventType.MESSAGE_CREATED,
        {"message": serialize.message(row)},
        inbox_id=conv.inbox_id,
        conversation_id=conv.id,
    )
    return row


async def _claim_attachments(tx: Tx, conv: Any, ids: tuple[int, ...]) -> list[dict[str, Any]]:
    if not ids:
        return []
    a = t.attachments.c
    rows = (
        await tx.conn.execute(
            sa.select(a.id, a.filename, a.content_type, a.size).where(
                a.id.in_(ids), a.inbox_id == conv.inbox_id, a.message_id.is_(None)
            )
        )
    ).all()
    if len(rows) != len(set(ids)):
        raise InvalidInput("attachment_ids: unknown or already used attachment")
    return [
        {
            "id": r.id,
            "filename": r.filename,
            "content_type": r.content_type,
            "size": r.size,
            "url": f"/api/attachments/{r.id}",
        }
        for r in rows
    ]


async def _enqueue(tx: Tx, row: Any) -> None:
    now = shared_now_sql(tx.conn)  # the queue's clock (server/storage/shared_clock.py)
    await tx.conn.execute(
        t.outbox.insert().values(
            message_id=row.id,
            inbox_id=row.inbox_id,
            state="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )


#: Shared with agent-started conversations (server/actions/outreach.py): the same insert
#: and outbox row as a reply, so an opening message is delivered, retried and shown alike.
insert_reply = _insert
enqueue_delivery = _enqueue
