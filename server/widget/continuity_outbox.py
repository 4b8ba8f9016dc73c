"""Sends queued continuity mails through the email inbox's own adapter, with retries.

Why a queue of its own (``continuity_mail``) and not a second ``outbox`` row: an outbox
row is *the* delivery of a message through the inbox it belongs to (one per message, the
``uq_outbox_message`` key, and its result becomes the message's own status and provider
id). A continuity mail is a second delivery of a chat reply, through another inbox (the
email inbox named by ``email_continuity.email_inbox_id``), to an address chosen when it
was queued; its result must not overwrite the chat delivery's status. So it has the same
promises in a table of its own: committed before any send, claimed atomically by one
node, retried with the outbox's backoff on a transient error (SMTP 4xx, a dropped
connection), failed with the server's reason on a permanent one (SMTP 5xx), and sent
with the Message-ID fixed when it was queued, so a retry is never a second, different
mail. Its status is on the reply (``content_attributes.email_continuity``), for agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import sqlalchemy as sa

from adapters.base import ContactInfo, OutboundMessage, PermanentError, TransientError
from adapters.email.compose import clean
from server.actions import continuity_delivery as queue
from server.context import AppContext
from server.exceptions import DatabaseUnavailable
from server.metrics import DELIVERIES
from server.storage import schema as t
from server.storage.continuity_schema import continuity_mail
from server.storage.shared_clock import seconds_until

log = logging.getLogger(__name__)
SEND_TIMEOUT = 60.0  # one attempt; below CLAIM_SECONDS so a hung send is retried elsewhere
CHANNEL = "email_continuity"  # the channel label of its attempts in /metrics
POLL_SECONDS = 30.0  # safety net for mails queued by other nodes (no wake-up crosses nodes)


async def run(ctx: AppContext) -> None:
    while True:
        try:
            await deliver_due(ctx)
            await _sleep(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database blip must not end the loop
            if not isinstance(exc, DatabaseUnavailable):
                log.exception("email continuity delivery round failed")
            await asyncio.sleep(1.0)


async def deliver_due(ctx: AppContext) -> int:
    """Make one attempt at every due mail; the number attempted."""
    rows = await queue.claim(ctx)
    await asyncio.gather(*(deliver(ctx, row) for row in rows))
    return len(rows)


async def _sleep(ctx: AppContext) -> None:
    wake = queue.wakeup(ctx)
    delay = POLL_SECONDS
    due = await queue.next_due(ctx)
    if due is not None:
        delay = max(0.0, min(delay, await seconds_until(ctx.db, due)))
    wake.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=delay)


async def deliver(ctx: AppContext, row: Any) -> None:
    """One attempt; every outcome is recorded on the row and on the reply."""
    max_attempts = ctx.settings.outbox_max_attempts
    try:
        adapter = await ctx.channels.get(row.email_inbox_id) if ctx.channels else None
        if adapter is None or adapter.kind != "email":
            reason = "the continuity email inbox is disabled or not an email inbox"
            await queue.mark_retry(ctx, row, reason, max_attempts)
            return
        message = await build(ctx, row)
        await asyncio.wait_for(adapter.send(message), timeout=SEND_TIMEOUT)
        await queue.mark_sent(ctx, row)
        DELIVERIES.labels(CHANNEL, "sent").inc()
    except asyncio.CancelledError:
        raise
    except DatabaseUnavailable:
        raise  # nothing can be recorded now; the claim lapses and the mail is retried
    except PermanentError as exc:
        DELIVERIES.labels(CHANNEL, "failed").inc()
        await queue.mark_failed(ctx, row, exc.reason)
    except TransientError as exc:
        DELIVERIES.labels(CHANNEL, "retry").inc()
        await queue.mark_retry(ctx, row, exc.reason, max_attempts, exc.retry_after)
    except TimeoutError:
        await queue.mark_retry(ctx, row, f"no answer within {SEND_TIMEOUT:.0f} s", max_attempts)
    except Exception as exc:
        log.exception("continuity mail %s (message %s) failed", row.id, row.message_id)
        await queue.mark_retry(ctx, row, f"internal error: {type(exc).__name__}", max_attempts)


async def build(ctx: AppContext, row: Any) -> OutboundMessage:
    """The mail for one queued row, read now (the reply's current text)."""
    m, c, i = t.messages.c, t.conversations.c, t.inboxes.c
    async with ctx.db.read() as conn:
        msg = (await conn.execute(sa.select(t.messages).where(m.id == row.message_id))).one()
        conv = (
            await conn.execute(
                sa.select(c.id, c.token, i.name.label("site"))
                .join(t.inboxes, i.id == c.inbox_id)
                .where(c.id == msg.conversation_id)
            )
        ).one()
        refs = await _earlier_mails(conn, conv.id, row.id)
    return compose(row, msg, conv, refs)


async def _earlier_mails(conn: Any, conversation_id: int, before: int) -> tuple[str, ...]:
    """Message-IDs of this conversation's earlier continuity mails: the visitor's mail
    client shows them as one thread."""
    q, m = continuity_mail.c, t.messages.c
    rows = await conn.execute(
        sa.select(q.provider_id)
        .join(t.messages, m.id == q.message_id)
        .where(m.conversation_id == conversation_id, q.id < before, q.state == "sent")
        .order_by(q.id)
    )
    return tuple(r.provider_id for r in rows)


def compose(row: Any, msg: Any, conv: Any, refs: tuple[str, ...]) -> OutboundMessage:
    """Pure: the reply as an email. The Reply-To the email adapter writes carries the
    conversation token, so the visitor's answer lands in this chat conversation
    (server.actions.inbound._continuity_route)."""
    author = clean(str((msg.content_attributes or {}).get("sender_name") or conv.site))
    return OutboundMessage(
        message_id=msg.id,
        conversation_id=conv.id,
        provider_id=row.provider_id,
        text=(
            f"{author} replied to your chat:\n\n{msg.text or ''}\n\n"
            "Reply to this email, or come back to the chat on our website.\n"
        ),
        html=None,
        attachments=(),
        recipient=ContactInfo(external_id=row.to_address, email=row.to_address),
        author_name=None,
        subject=f"New reply from {clean(conv.site)}",
        thread_refs=refs,
        channel_data={},
        conversation_token=conv.token,
        content_attributes={},
        attempt=row.attempts,
    )
