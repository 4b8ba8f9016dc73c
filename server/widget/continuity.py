"""Email continuity: an agent reply the visitor has not seen for a few minutes is emailed.

"Not seen" is the read receipt: a visitor with the chat open marks replies read at once,
so a reply still unread after ``after_minutes`` means the visitor left. This sweep only
decides: it commits a continuity mail for each such reply, once (the queue's unique key
on the reply), to an address the visitor gave. Sending is the durable queue's work
(server/widget/continuity_outbox.py): through the adapter of the email inbox named by
``email_continuity.email_inbox_id``, retried, with its status on the reply for agents.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from adapters.email.compose import domain_of, outbound_message_id, valid_address
from server.actions import continuity_delivery
from server.context import AppContext
from server.exceptions import DatabaseUnavailable
from server.storage import schema as t
from server.storage.continuity_schema import continuity_mail
from server.storage.schema import utcnow
from server.widget import continuity_outbox

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0  # the delay is minutes; checking twice a minute is precise enough
_UNREAD = ("sent", "delivered")


async def run(ctx: AppContext) -> None:
    """The sweep and the delivery worker, side by side (cancelled together)."""
    await asyncio.gather(_sweep_loop(ctx), continuity_outbox.run(ctx))


async def _sweep_loop(ctx: AppContext) -> None:
    while True:
        try:
            await sweep(ctx)
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable:
            pass  # logged once per interval by server/storage/db.py (a traceback per sweep before)
        except Exception:  # one bad inbox must not stop the loop
            log.exception("email continuity sweep failed")
        await asyncio.sleep(SWEEP_SECONDS)


async def sweep(ctx: AppContext, now: datetime | None = None) -> int:
    """Queue a mail for every reply due at ``now``; return how many were queued."""
    now = now or utcnow()
    queued = 0
    for inbox in await _inboxes(ctx):
        rules = (inbox.config or {}).get("email_continuity") or {}
        if not rules.get("enabled") or not rules.get("email_inbox_id"):
            continue
        email_inbox = int(rules["email_inbox_id"])
        address = await _mail_address(ctx, email_inbox)
        if address is None:
            continue
        cutoff = now - timedelta(minutes=int(rules.get("after_minutes", 5)))
        for row in await _due(ctx, inbox.id, cutoff):
            # the Message-ID is fixed now: every attempt sends this one id
            provider_id = outbound_message_id(row.id, row.conv_token, domain_of(address))
            queued += await continuity_delivery.enqueue(
                ctx, row.id, email_inbox, row.contact_email, provider_id
            )
    return queued


async def _inboxes(ctx: AppContext) -> list[Any]:
    i = t.inboxes.c
    async with ctx.db.read() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(t.inboxes).where(i.kind == "webchat", i.is_active.is_(True))
                )
            ).all()
        )


async def _mail_address(ctx: AppContext, inbox_id: int) -> str | None:
    i = t.inboxes.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(sa.select(t.inboxes).where(i.id == inbox_id, i.kind == "email"))
        ).first()
    address = str((row.config or {}).get("address") or "") if row else ""
    if not valid_address(address):
        log.warning("email continuity: inbox %s is not an email inbox with an address", inbox_id)
        return None
    return address


async def _due(ctx: AppContext, inbox_id: int, cutoff: datetime) -> list[Any]:
    m, c, k = t.messages.c, t.conversations.c, t.contacts.c
    async with ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.messages, k.email.label("contact_email"), c.token.label("conv_token"))
                .join(t.conversations, c.id == m.conversation_id)
                .join(t.contacts, k.id == c.contact_id)
                .where(
                    m.inbox_id == inbox_id,
                    m.direction == "out",
                    m.kind == "message",
                    m.is_auto.is_(False),
                    m.status.in_(_UNREAD),
                    m.sent_at <= cutoff,
                    k.email.is_not(None),
                    ~sa.exists().where(continuity_mail.c.message_id == m.id),
                )
                .order_by(m.id)
                .limit(100)
            )
        ).all()
    return [
        r
        for r in rows
        if not _handled(r.content_attributes or {}) and valid_address(r.contact_email or "")
    ]


def _handled(attrs: dict[str, Any]) -> bool:
    """Queued already ("emailed_at": sent directly, before the queue existed)."""
    return continuity_delivery.ATTRIBUTE in attrs or "emailed_at" in attrs
