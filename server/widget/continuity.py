"""Email continuity: an agent reply the visitor has not seen for a few minutes is emailed.

"Not seen" is the read receipt: a visitor with the chat open marks replies read at once,
so a reply still unread after ``after_minutes`` means the visitor left. The email goes out
through the SMTP settings of the email inbox named by ``email_continuity.email_inbox_id``,
only to an address the visitor gave, at most once per reply: the message is claimed
(``content_attributes.emailed_at``, guarded by its version) before the send, so two nodes
never both send it. A failed send is logged and not retried: the reply is still in the
chat, the email is a courtesy.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import sqlalchemy as sa

from adapters.base import ChannelError, ConfigInvalid
from adapters.email.compose import clean, plus_address, valid_address
from adapters.email.config import parse_config
from adapters.email.smtp_send import send_mail
from server.context import AppContext
from server.storage import schema as t
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0  # the delay is minutes; checking twice a minute is precise enough
_UNREAD = ("sent", "delivered")


async def run(ctx: AppContext) -> None:
    while True:
        try:
            await sweep(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad inbox or SMTP server must not stop the loop
            log.exception("email continuity sweep failed")
        await asyncio.sleep(SWEEP_SECONDS)


async def sweep(ctx: AppContext, now: datetime | None = None) -> int:
    """Email every due reply; return how many were sent."""
    now = now or utcnow()
    sent = 0
    for inbox in await _inboxes(ctx):
        rules = (inbox.config or {}).get("email_continuity") or {}
        if not rules.get("enabled") or not rules.get("email_inbox_id"):
            continue
        mail = await _mail_config(ctx, int(rules["email_inbox_id"]))
        if mail is None:
            continue
        cutoff = now - timedelta(minutes=int(rules.get("after_minutes", 5)))
        for row in await _due(ctx, inbox.id, cutoff):
            if await _claim(ctx, row, now):
                sent += await _send(inbox, mail, row, ctx.settings.allow_private_urls)
    return sent


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


async def _mail_config(ctx: AppContext, inbox_id: int) -> Any:
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id, t.inboxes.c.kind == "email")
            )
        ).first()
    if row is None:
        log.warning("email continuity: inbox %s is not an email inbox", inbox_id)
        return None
    try:
        return parse_config({**(row.config or {}), **ctx.secrets.decrypt_json(row.secrets)})
    except ConfigInvalid as exc:
        log.warning("email continuity: inbox %s config unusable: %s", inbox_id, exc.reason)
        return None


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
                )
                .order_by(m.id)
                .limit(100)
            )
        ).all()
    return [
        r
        for r in rows
        if "emailed_at" not in (r.content_attributes or {}) and valid_address(r.contact_email or "")
    ]


async def _claim(ctx: AppContext, row: Any, now: datetime) -> bool:
    m = t.messages.c
    attrs = {**(row.content_attributes or {}), "emailed_at": now.isoformat()}
    async with ctx.db.write() as conn:
        done = await conn.execute(
            sa.update(t.messages)
            .where(m.id == row.id, m.version == row.version)
            .values(content_attributes=attrs, version=m.version + 1)
        )
    return bool(done.rowcount)


async def _send(inbox: Any, mail: Any, row: Any, allow_private: bool) -> int:
    msg = compose(inbox.name, mail.address, mail.from_name, row)
    try:
        await send_mail(mail, msg, mail.address, [row.contact_email], allow_private=allow_private)
    except ChannelError as exc:
        log.warning("email continuity: message %s not emailed: %s", row.id, exc.reason)
        return 0
    return 1


def compose(site: str, address: str, from_name: str, row: Any) -> EmailMessage:
    author = (row.content_attributes or {}).get("sender_name") or site
    msg = EmailMessage()
    msg["From"] = formataddr((clean(from_name or site), address))
    msg["To"] = row.contact_email
    # The +token address routes the visitor's answer back into this chat conversation
    # (server.actions.inbound._continuity_route).
    msg["Reply-To"] = plus_address(address, row.conv_token)
    msg["Subject"] = clean(f"New reply from {site}")
    msg["Message-ID"] = make_msgid(domain=address.partition("@")[2] or None)
    msg.set_content(
        f"{clean(str(author))} replied to your chat:\n\n{row.text or ''}\n\n"
        "Reply to this email, or come back to the chat on our website.\n"
    )
    return msg
