"""Agent-started conversations (docs/outreach.md): an email to an address or contact, or a
WhatsApp template to a phone number.

The opening message is an agent reply like any other (committed with its outbox row,
retried, with a status) but it answers nothing: the conversation's first segment starts at
the customer's first message (docs/frt.md). The conversation waits on the customer
(``pending``) and is assigned to the agent who started it. Channels whose customers must
write first (chat widget, Telegram, Messenger, Instagram) refuse with a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions._conv import load_inbox, update_conversation
from server.actions._tx import Tx, transaction
from server.actions.access import visible_inbox_ids
from server.actions.contacts import contact_for
from server.actions.replies import ReplyRequest, enqueue_delivery, insert_reply
from server.actors import Actor
from server.context import AppContext
from server.crypto import new_token
from server.domain.status import Status
from server.exceptions import InvalidInput, NotFound
from server.storage import schema as t
from server.storage.schema import utcnow

EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,30}$")
STARTS = {"email", "whatsapp"}


@dataclass(frozen=True)
class StartRequest:
    inbox_id: int
    text: str
    email: str | None = None
    phone: str | None = None
    contact_id: int | None = None
    name: str | None = None
    subject: str | None = None
    template: dict[str, Any] | None = None
    client_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


async def start_conversation(
    ctx: AppContext, actor: Actor, req: StartRequest
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Create the conversation and queue its opening message; returns (conversation,
    message, created). A repeated ``client_id`` returns the first result."""
    async with transaction(ctx) as tx:
        inbox = await _inbox(tx, actor, req.inbox_id)
        again = await _existing(tx, inbox.id, req.client_id)
        if again is not None:
            return again[0], again[1], False
        address = _address(inbox, req)
        contact_id = await _contact(tx, actor, inbox, address, req)
        conv = await _conversation(tx, inbox, contact_id, actor, req)
        attrs = {"template": req.template} if req.template else None
        reply = ReplyRequest(conv.id, req.text, client_id=req.client_id, content_attributes=attrs)
        row = await insert_reply(tx, conv, actor, reply)
        await enqueue_delivery(tx, row)
        tx.after_commit.append(ctx.outbox_wakeup.set)
        updated = await update_conversation(
            tx,
            conv,
            {"last_message_at": row.sent_at},
            recompute_clock=True,
            now=row.sent_at,
            created=True,
            inbox=inbox,
        )
    return serialize.conversation(updated, channel=inbox.kind), serialize.message(row), True


async def _inbox(tx: Tx, actor: Actor, inbox_id: int) -> Any:
    visible = await visible_inbox_ids(tx.conn, actor)
    if visible is not None and inbox_id not in visible:
        raise NotFound(f"inbox {inbox_id} not found")
    try:
        inbox = await load_inbox(tx, inbox_id)
    except sa.exc.NoResultFound:
        raise NotFound(f"inbox {inbox_id} not found") from None
    if inbox.kind not in STARTS:
        raise InvalidInput(
            f"inbox_id: a {inbox.kind} inbox cannot start a conversation; its customers "
            "must write first (email and WhatsApp can)"
        )
    return inbox


async def _existing(tx: Tx, inbox_id: int, client_id: str | None) -> tuple[Any, Any] | None:
    if not client_id:
        return None
    m = t.messages.c
    msg = (
        await tx.conn.execute(
            sa.select(t.messages).where(m.inbox_id == inbox_id, m.client_id == client_id)
        )
    ).first()
    if msg is None:
        return None
    conv = (
        await tx.conn.execute(
            sa.select(t.conversations).where(t.conversations.c.id == msg.conversation_id)
        )
    ).one()
    return serialize.conversation(conv), serialize.message(msg)


def _address(inbox: Any, req: StartRequest) -> str | None:
    """The customer's address on this channel, checked (None: take the contact's)."""
    if inbox.kind == "email":
        if not (req.subject or "").strip():
            raise InvalidInput("subject: an email needs a subject")
        if not req.text.strip():
            raise InvalidInput("text: write the email's text")
        if req.email is None:
            return None
        address = req.email.strip().lower()
        if not EMAIL.match(address) or len(address) > 320:
            raise InvalidInput(f"email: {req.email!r} is not an email address")
        return address
    if not req.template:
        raise InvalidInput(
            "template: WhatsApp lets a business write first only with an approved template "
            '({"name", "language"})'
        )
    if req.phone is None:
        return None
    if not PHONE.match(req.phone.strip()):
        raise InvalidInput(f"phone: {req.phone!r} is not a phone number with country code")
    return re.sub(r"\D", "", req.phone)  # WhatsApp ids are the digits of the number


async def _contact(tx: Tx, actor: Actor, inbox: Any, address: str | None, req: StartRequest) -> int:
    known = await contact_for(tx.conn, actor, req.contact_id) if req.contact_id else None
    if address is None:
        if known is None:
            wanted = "email" if inbox.kind == "email" else "phone"
            raise InvalidInput(f"{wanted}: give the customer's {wanted} or a contact_id")
        address = known.email if inbox.kind == "email" else re.sub(r"\D", "", known.phone or "")
        if not address:
            raise InvalidInput(f"contact_id: this contact has no {inbox.kind} address")
        address = address.lower()
    scope = "" if inbox.kind == "email" else str((inbox.config or {}).get("phone_number_id", ""))
    ci = t.contact_identities.c
    found = (
        await tx.conn.execute(
            sa.select(ci.contact_id).where(
                ci.channel == inbox.kind, ci.scope == scope, ci.external_id == address
            )
        )
    ).first()
    if found is not None:
        return int(found.contact_id)
    contact_id = int(known.id) if known is not None else await _new_contact(tx, inbox, address, req)
    await tx.conn.execute(
        t.contact_identities.insert().values(
            contact_id=contact_id,
            channel=inbox.kind,
            scope=scope,
            external_id=address,
            verified=False,
            created_at=utcnow(),
        )
    )
    return contact_id


async def _new_contact(tx: Tx, inbox: Any, address: str, req: StartRequest) -> int:
    now = utcnow()
    email = address if inbox.kind == "email" else None
    phone = f"+{address}" if inbox.kind == "whatsapp" else None
    return int(
        (
            await tx.conn.execute(
                t.contacts.insert()
                .values(
                    name=req.name or None,
                    email=email,
                    phone=phone,
                    attributes={},
                    created_at=now,
                    updated_at=now,
                )
                .returning(t.contacts.c.id)
            )
        ).scalar_one()
    )


async def _conversation(
    tx: Tx, inbox: Any, contact_id: int, actor: Actor, req: StartRequest
) -> Any:
    now = utcnow()
    return (
        await tx.conn.execute(
            t.conversations.insert()
            .values(
                inbox_id=inbox.id,
                contact_id=contact_id,
                status=Status.PENDING.value,
                assignee_id=actor.id,
                priority="none",
                labels=[],
                subject=(req.subject or "").strip() or None,
                token=new_token(18),
                channel_data={},
                version=0,
                created_at=now,
                updated_at=now,
            )
            .returning(t.conversations)
        )
    ).one()
