"""The outbox worker: delivers committed replies through their channel adapter.

Runs on every node; rows are claimed atomically so each delivery attempt happens on one
node. It wakes when a reply is committed (``ctx.outbox_wakeup``) or when the next retry
is due, and polls every ``outbox_poll_interval`` seconds as a safety net for replies
committed by other nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import sqlalchemy as sa

from adapters.base import (
    Attachment,
    ContactInfo,
    OutboundMessage,
    PermanentError,
    TransientError,
)
from server.actions import delivery, signatures
from server.context import AppContext
from server.exceptions import DatabaseUnavailable
from server.metrics import DELIVERIES, DELIVERY_SECONDS, STATE
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import seconds_until

log = logging.getLogger(__name__)
SEND_TIMEOUT = 60.0  # one attempt; below CLAIM_SECONDS so a hung send is retried elsewhere
OUTAGE_PAUSE = 1.0  # s between rounds while the database is away (a send's outcome that
# could not be recorded is retried with the same delivery id once its claim lapses)


async def run(ctx: AppContext) -> None:
    while True:
        try:
            await _round(ctx)
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable:  # logged once per interval by server/storage/db.py
            await asyncio.sleep(OUTAGE_PAUSE)
        except Exception:
            log.exception("outbox round failed")
            await asyncio.sleep(OUTAGE_PAUSE)


async def _round(ctx: AppContext) -> None:
    """Deliver what is due now, or sleep until something is (or a wake-up)."""
    rows = await delivery.claim(ctx)
    if rows:
        await asyncio.gather(*(deliver(ctx, row) for row in rows))
        return
    await _sleep(ctx)


async def _sleep(ctx: AppContext) -> None:
    STATE.outbox_depth = await delivery.depth(ctx)
    delay = ctx.settings.outbox_poll_interval
    due = await delivery.next_due(ctx)
    if due is not None:
        delay = max(0.0, min(delay, await seconds_until(ctx.db, due)))
    ctx.outbox_wakeup.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ctx.outbox_wakeup.wait(), timeout=delay)


async def deliver(ctx: AppContext, row: Any) -> None:
    """One attempt; every outcome is recorded, nothing is dropped."""
    channel = "unknown"
    try:
        message = await build_outbound(ctx, row)
        if message is None:
            await delivery.mark_failed(ctx, row.id, "not a public message: never sent")
            return
        adapter = await ctx.channels.get(row.inbox_id) if ctx.channels else None
        if adapter is None:
            await delivery.mark_retry(
                ctx,
                row.id,
                "inbox is disabled or its channel is missing",
                ctx.settings.outbox_max_attempts,
            )
            return
        channel = adapter.kind
        result = await asyncio.wait_for(adapter.send(message), timeout=SEND_TIMEOUT)
        await delivery.mark_sent(ctx, row.id, result.provider_id, result.status)
        DELIVERIES.labels(channel, "sent").inc()
        DELIVERY_SECONDS.labels(channel).observe((utcnow() - row.created_at).total_seconds())
    except asyncio.CancelledError:
        raise
    except DatabaseUnavailable:
        raise  # nothing can be recorded now; the claim lapses and the row is retried
    except PermanentError as exc:
        DELIVERIES.labels(channel, "failed").inc()
        await delivery.mark_failed(ctx, row.id, exc.reason)
    except TransientError as exc:
        DELIVERIES.labels(channel, "retry").inc()
        await delivery.mark_retry(
            ctx, row.id, exc.reason, ctx.settings.outbox_max_attempts, exc.retry_after
        )
    except TimeoutError:
        await delivery.mark_retry(
            ctx, row.id, f"no answer within {SEND_TIMEOUT:.0f} s", ctx.settings.outbox_max_attempts
        )
    except Exception as exc:
        log.exception("delivery of outbox %s (message %s) failed", row.id, row.message_id)
        await delivery.mark_retry(
            ctx, row.id, f"internal error: {type(exc).__name__}", ctx.settings.outbox_max_attempts
        )


async def build_outbound(ctx: AppContext, row: Any) -> OutboundMessage | None:
    m, c = t.messages.c, t.conversations.c
    async with ctx.db.read() as conn:
        msg = (await conn.execute(sa.select(t.messages).where(m.id == row.message_id))).one()
        if msg.kind != "message" or msg.direction != "out":
            return None  # private notes never leave the server, whatever queued them
        conv = (
            await conn.execute(sa.select(t.conversations).where(c.id == msg.conversation_id))
        ).one()
        recipient = await _recipient(conn, conv)
        refs = await _thread_refs(conn, conv.id, msg.id)
        files = await _attachments(conn, msg)
        signature = await signatures.for_outbound(conn, msg)  # issue 14: email only uses it
    attrs = {**(msg.content_attributes or {}), **signature}
    return OutboundMessage(
        message_id=msg.id,
        conversation_id=conv.id,
        provider_id=msg.provider_id,
        text=msg.text,
        html=None,
        attachments=files,
        recipient=recipient,
        author_name=attrs.get("sender_name"),
        subject=conv.subject,
        thread_refs=refs,
        channel_data=dict(conv.channel_data or {}),
        conversation_token=conv.token,
        content_attributes=attrs,
        attempt=row.attempts,
    )


async def _recipient(conn: Any, conv: Any) -> ContactInfo:
    ci, k = t.contact_identities.c, t.contacts.c
    inbox = (
        await conn.execute(sa.select(t.inboxes.c.kind).where(t.inboxes.c.id == conv.inbox_id))
    ).one()
    contact = (await conn.execute(sa.select(t.contacts).where(k.id == conv.contact_id))).one()
    ident = (
        await conn.execute(
            sa.select(t.contact_identities)
            .where(ci.contact_id == conv.contact_id, ci.channel == inbox.kind)
            # this inbox's own identity first: a merged contact's id on another inbox
            # is not this integration's to see (docs/security.md)
            .order_by((ci.scope == f"inbox:{conv.inbox_id}").desc(), ci.id.desc())
            .limit(1)
        )
    ).first()
    return ContactInfo(
        external_id=ident.external_id if ident else (contact.email or ""),
        scope=ident.scope if ident else "",
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
    )


async def _thread_refs(conn: Any, conversation_id: int, before_id: int) -> tuple[str, ...]:
    m = t.messages.c
    rows = (
        await conn.execute(
            sa.select(m.external_id, m.provider_id)
            .where(
                m.conversation_id == conversation_id,
                m.id < before_id,
                m.kind == "message",
            )
            .order_by(m.sent_at, m.id)
        )
    ).all()
    return tuple(r.external_id or r.provider_id for r in rows if r.external_id or r.provider_id)


async def _attachments(conn: Any, msg: Any) -> tuple[Attachment, ...]:
    a = t.attachments.c
    rows = (
        await conn.execute(sa.select(t.attachments).where(a.message_id == msg.id).order_by(a.id))
    ).all()
    return tuple(Attachment(r.filename, r.content_type, r.data, r.content_id) for r in rows)
