"""Inbound messages from any channel: dedupe, contact, threading, conversation, clock.

Dedupe is the unique key (inbox_id, external_id). Concurrent deliveries of the same
message race on that constraint; the loser's work rolls back (so it leaves no stray
contact or conversation) and it answers with the winner's message.

Group commit (docs/ingest.md): concurrent ingests of this process (API POSTs, webhook
batches, IMAP backfill, widget sends) share one write transaction and one commit. Each
message runs in a SAVEPOINT of its own, so one that fails is rolled back alone and gets
its own error; every caller is answered only after the commit that holds its message,
and the group's events are published after that commit, in commit order.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adapters.base import InboundMessage, IngestResult
from server import serialize
from server.actions import automation, clock
from server.actions._conv import locked, update_conversation, with_fields
from server.actions._tx import Tx, run_group
from server.actions.attachments import store_attachments
from server.actions.contacts import follow_merges, scoped_identity
from server.actions.identity_names import IDENTITY_COLUMNS, note_name
from server.actions.repeated_ids import reuses_id, under_own_key
from server.context import AppContext
from server.crypto import new_token
from server.domain.status import Command, Status, transition
from server.events.types import EventType
from server.metrics import MESSAGES_INGESTED
from server.sanitize import sanitize_html
from server.storage import schema as t
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
_ATTEMPTS = 4  # identity/dedupe races resolve in one retry; 4 leaves margin under load
# statements built once (their SQL compiled once, their cache key computed once)
_INBOX = sa.select(t.inboxes).where(t.inboxes.c.id == sa.bindparam("id"))
_IDENTITY = (
    sa.select(*IDENTITY_COLUMNS)
    .join(t.contacts, t.contacts.c.id == t.contact_identities.c.contact_id)
    .where(
        t.contact_identities.c.channel == sa.bindparam("channel"),
        t.contact_identities.c.scope == sa.bindparam("scope"),
        t.contact_identities.c.external_id == sa.bindparam("external_id"),
    )
)
_INSERT_CONTACT = t.contacts.insert().returning(t.contacts.c.id)
_INSERT_IDENTITY = t.contact_identities.insert()
_INSERT_CONVERSATION = t.conversations.insert().returning(t.conversations)
_INSERT_MESSAGE = t.messages.insert().returning(t.messages)
_LATEST = (
    sa.select(t.conversations)
    .where(
        t.conversations.c.inbox_id == sa.bindparam("inbox_id"),
        t.conversations.c.contact_id == sa.bindparam("contact_id"),
    )
    .order_by(t.conversations.c.id.desc())
    .limit(1)
)
_LATEST_LOCKED = _LATEST.with_for_update()  # PostgreSQL: see _conv.locked


async def ingest(ctx: AppContext, inbox_id: int, msg: InboundMessage) -> IngestResult:
    """Commit an inbound message (or find its earlier delivery). Safe to call concurrently."""
    inbox_id = await _continuity_route(ctx, inbox_id, msg)
    for attempt in range(_ATTEMPTS):
        # A redelivery is found by the unique constraint on the first attempt (the insert
        # fails and the transaction rolls back); echoes match provider ids, which carry no
        # constraint, so they are looked up first.
        if attempt > 0 or msg.is_echo:
            existing = await _find_existing(ctx, inbox_id, msg)
            if existing is not None and await reuses_id(ctx, existing, msg):
                msg = under_own_key(msg)  # issue 14: a reused id with other content is kept
                continue
            if existing is not None:
                return existing
        try:
            result = await _group(ctx).submit(inbox_id, msg)
        except IntegrityError:
            log.info("ingest race on inbox %s external id %s; retrying", inbox_id, msg.external_id)
            continue
        _after_ingest(ctx)
        return result
    raise RuntimeError(f"could not ingest {msg.external_id!r} after {_ATTEMPTS} attempts")


MAX_GROUP = 64  # messages per group transaction: bounds how long other writers wait


class _GroupCommit:
    """Queues this process's concurrent ingests and commits them in groups.

    One group at a time per process: while a group's transaction runs, newcomers queue
    and form the next group (on SQLite writes are serialised anyway; on PostgreSQL this
    also keeps two groups of one process from locking the same conversations in
    opposite orders).
    """

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.queue: list[tuple[int, InboundMessage, asyncio.Future[IngestResult]]] = []
        self.task: asyncio.Task[None] | None = None
        self.groups = 0  # groups committed (or failed) so far
        self.largest = 0  # members of the largest group so far

    def submit(self, inbox_id: int, msg: InboundMessage) -> asyncio.Future[IngestResult]:
        """Queue ``msg``; the future resolves once the commit holding it succeeded
        (or with this message's own error). Messages queued one after another are
        stored in that order."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self.queue.append((inbox_id, msg, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name="ingest-group-commit")
        return future

    async def _drain(self) -> None:
        while self.queue:
            await asyncio.sleep(0)  # let callers that are ready join this group
            batch, self.queue = self.queue[:MAX_GROUP], self.queue[MAX_GROUP:]
            batch = [item for item in batch if not item[2].done()]  # callers gone before
            if batch:
                await self._commit(batch)

    async def _commit(
        self, batch: list[tuple[int, InboundMessage, asyncio.Future[IngestResult]]]
    ) -> None:
        self.groups += 1
        self.largest = max(self.largest, len(batch))
        inboxes: dict[int, Any] = {}  # one read of each inbox row per group

        def unit(inbox_id: int, msg: InboundMessage) -> Any:
            async def run(tx: Tx) -> IngestResult:
                return await _ingest_in(tx, self.ctx, inbox_id, msg, inboxes)

            return run

        try:
            outcomes = await run_group(self.ctx, [unit(i, m) for i, m, _ in batch])
        except BaseException as exc:  # the group as a whole failed: nothing is committed
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the caller went away (cancelled); its message is stored
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


def _group(ctx: AppContext) -> _GroupCommit:
    found = ctx.extras.get("ingest_group")
    if found is None:
        found = ctx.extras["ingest_group"] = _GroupCommit(ctx)
    return found


async def ingest_many(
    ctx: AppContext, inbox_id: int, msgs: list[InboundMessage]
) -> list[IngestResult | Exception]:
    """Commit several messages in order (a batch delivery); one outcome per message.

    They are queued together, so they share group commits and are stored in the order
    given; a message that fails gets its exception as its outcome and the others are
    stored. A redelivery (or a message repeated in the batch) gets the stored message.
    """
    routed = [await _continuity_route(ctx, inbox_id, m) for m in msgs]
    futures = [
        None if m.is_echo else _group(ctx).submit(i, m) for i, m in zip(routed, msgs, strict=True)
    ]
    outcomes: list[IngestResult | Exception] = []
    for msg, future in zip(msgs, futures, strict=True):
        try:
            if future is None:  # echoes are looked up first: the one-by-one path
                outcomes.append(await ingest(ctx, inbox_id, msg))
                continue
            try:
                outcomes.append(await future)
                _after_ingest(ctx)
            except IntegrityError:  # a redelivery or race: the one-by-one path answers it
                outcomes.append(await ingest(ctx, inbox_id, msg))
        except Exception as exc:  # this message's own failure
            outcomes.append(exc)
    return outcomes


async def _continuity_route(ctx: AppContext, inbox_id: int, msg: InboundMessage) -> int:
    """Email continuity: a reply carrying another inbox's conversation token (a chat reply
    that was emailed to the visitor) belongs in that conversation, provided that inbox
    names this one as its continuity mailbox. The token is unguessable (144 bits)."""
    if not msg.conversation_token:
        return inbox_id
    c, i = t.conversations.c, t.inboxes.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(c.inbox_id, i.config)
                .join(t.inboxes, i.id == c.inbox_id)
                .where(c.token == msg.conversation_token)
            )
        ).first()
    if row is None or row.inbox_id == inbox_id:
        return inbox_id
    continuity = (row.config or {}).get("email_continuity") or {}
    if continuity.get("enabled") and continuity.get("email_inbox_id") == inbox_id:
        return int(row.inbox_id)
    return inbox_id


def _after_ingest(ctx: AppContext) -> None:
    hook = ctx.extras.get("on_ingest")
    if hook is not None:
        hook()


async def _find_existing(
    ctx: AppContext, inbox_id: int, msg: InboundMessage
) -> IngestResult | None:
    m = t.messages.c
    keys = [m.external_id == msg.external_id]
    if msg.is_echo:
        keys.append(m.provider_id == msg.external_id)  # our own send, seen coming back
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(m.id, m.conversation_id)
                .where(m.inbox_id == inbox_id, sa.or_(*keys))
                .limit(1)
            )
        ).first()
    return IngestResult(row.id, row.conversation_id, created=False) if row else None


async def _ingest_in(
    tx: Tx, ctx: AppContext, inbox_id: int, msg: InboundMessage, inboxes: dict[int, Any]
) -> IngestResult:
    inbox = inboxes.get(inbox_id)
    if inbox is None:
        inbox = inboxes[inbox_id] = (await tx.conn.execute(_INBOX, {"id": inbox_id})).one()
    now = utcnow()
    routed = await _threaded(tx, inbox, msg) if inbox.kind != "email" else None
    if routed is not None and msg.conversation_token == routed.token:
        # a continuity email reply: the conversation's customer wrote it, by email
        contact_id, conversation, created = routed.contact_id, routed, False
    else:
        contact_id = await _contact_for(tx, inbox, msg)
        conversation, created = await _conversation_for(tx, inbox, contact_id, msg, now)
    row = await _insert_message(tx, ctx, inbox, conversation, contact_id, msg, now)
    await tx.emit(
        EventType.MESSAGE_CREATED,
        {"message": serialize.message(row)},
        inbox_id=inbox_id,
        conversation_id=conversation.id,
    )
    updated = await update_conversation(
        tx,
        conversation,
        _conversation_fields(conversation, msg, row, inbox),
        recompute_clock=True,
        now=now,
        created=created,
        inbox=inbox,
    )
    await automation.on_inbound(tx, ctx, conversation, updated, row, created=created)  # issue 15
    channel = inbox.kind
    tx.after_commit.append(lambda: MESSAGES_INGESTED.labels(channel).inc())
    return IngestResult(row.id, conversation.id, created=True)


async def _contact_for(tx: Tx, inbox: Any, msg: InboundMessage) -> int:
    info = scoped_identity(inbox, msg.contact)  # per inbox unless global (actions/contacts.py)
    key = {"channel": inbox.kind, "scope": info.scope, "external_id": info.external_id}
    found = (await tx.conn.execute(_IDENTITY, key)).first()  # also what note_name reads
    if found is not None:
        await note_name(tx, inbox.kind, info, msg.sent_at or utcnow(), found)  # issue 14
        if found.merged_into_id is None:
            return int(found.contact_id)
        return await follow_merges(tx.conn, int(found.merged_into_id))
    now = utcnow()
    contact: dict[str, Any] = {
        "name": info.name,
        "email": info.email,
        "phone": info.phone,
        "avatar_url": info.avatar_url,
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }
    contact_id = (await tx.conn.execute(_INSERT_CONTACT, contact)).scalar_one()
    identity = {**key, "contact_id": contact_id, "verified": info.verified, "created_at": now}
    await tx.conn.execute(_INSERT_IDENTITY, identity)
    return int(contact_id)


async def _conversation_for(
    tx: Tx, inbox: Any, contact_id: int, msg: InboundMessage, now: Any
) -> tuple[Any, bool]:
    conv = await _threaded(tx, inbox, msg)
    if conv is None and inbox.kind != "email":
        conv = await _latest_for_contact(tx, inbox.id, contact_id)
    if conv is not None:
        return conv, False
    conversation = {
        "inbox_id": inbox.id,
        "contact_id": contact_id,
        "status": Status.OPEN.value,
        "priority": "none",
        "labels": [],
        "subject": msg.subject,
        "token": new_token(18),
        "channel_data": {},
        "version": 0,
        "created_at": now,
        "updated_at": now,
    }
    return (await tx.conn.execute(_INSERT_CONVERSATION, conversation)).one(), True


async def _threaded(tx: Tx, inbox: Any, msg: InboundMessage) -> Any:
    c, m = t.conversations.c, t.messages.c
    if msg.conversation_token:
        row = (
            await tx.conn.execute(
                locked(
                    tx,
                    sa.select(t.conversations).where(
                        c.token == msg.conversation_token, c.inbox_id == inbox.id
                    ),
                )
            )
        ).first()
        if row is not None:
            return row
    refs = [r for r in msg.thread_refs if r][-50:]  # the newest 50 references are plenty
    if not refs:
        return None
    hit = (
        await tx.conn.execute(
            sa.select(m.conversation_id)
            .where(m.inbox_id == inbox.id, sa.or_(m.external_id.in_(refs), m.provider_id.in_(refs)))
            .order_by(m.id.desc())
            .limit(1)
        )
    ).first()
    if hit is None:
        return None
    return (
        await tx.conn.execute(
            locked(tx, sa.select(t.conversations).where(c.id == hit.conversation_id))
        )
    ).one()


async def _latest_for_contact(tx: Tx, inbox_id: int, contact_id: int) -> Any:
    query = _LATEST_LOCKED if tx.conn.dialect.name == "postgresql" else _LATEST
    return (await tx.conn.execute(query, {"inbox_id": inbox_id, "contact_id": contact_id})).first()


async def _insert_message(
    tx: Tx,
    ctx: AppContext,
    inbox: Any,
    conversation: Any,
    contact_id: int,
    msg: InboundMessage,
    now: Any,
) -> Any:
    echo = msg.is_echo
    message = {
        "conversation_id": conversation.id,
        "inbox_id": inbox.id,
        "direction": "out" if echo else "in",
        "kind": "message",
        "sender_type": "agent" if echo else "contact",
        "sender_id": None if echo else contact_id,
        "is_auto": msg.is_auto,
        "text": msg.text,
        "html": sanitize_html(msg.html) if msg.html else None,
        "attachments": [],
        "external_id": msg.external_id,
        "status": "sent" if echo else "received",
        "content_attributes": dict(msg.content_attributes),
        "sent_at": clock.received_time(msg.sent_at, now),
        "created_at": now,
    }
    row = (await tx.conn.execute(_INSERT_MESSAGE, message)).one()
    if msg.attachments:
        refs = await store_attachments(
            tx, inbox.id, row.id, msg.attachments, ctx.settings.max_attachment_bytes
        )
        await tx.conn.execute(
            sa.update(t.messages).where(t.messages.c.id == row.id).values(attachments=refs)
        )
        row = with_fields(row, {"attachments": refs})
    return row


def _conversation_fields(
    conversation: Any, msg: InboundMessage, row: Any, inbox: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    sent_at = row.sent_at
    if conversation.last_message_at is None or sent_at >= conversation.last_message_at:
        fields["last_message_at"] = sent_at
    if msg.channel_data:
        fields["channel_data"] = {**(conversation.channel_data or {}), **msg.channel_data}
    if msg.subject and not conversation.subject:
        fields["subject"] = msg.subject
    if msg.is_auto or msg.is_echo:
        return fields
    fields["last_customer_message_at"] = sent_at
    new_status = transition(Status(conversation.status), Command.CUSTOMER_MESSAGE)
    if new_status.value != conversation.status:
        fields.update(status=new_status.value, snoozed_until=None, resolved_at=None)
    window = _reply_window_hours(inbox)
    if window is not None:
        fields["reply_window_closes_at"] = sent_at + timedelta(hours=window)
    return fields


def _reply_window_hours(inbox: Any) -> float | None:
    from adapters.registry import ADAPTERS

    adapter = ADAPTERS.get(inbox.kind)
    return adapter.capabilities.reply_window_hours if adapter is not None else None


__all__ = ["ingest", "ingest_many"]
