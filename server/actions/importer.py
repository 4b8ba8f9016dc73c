"""History import (docs/import.md): conversations from another tool, each message at its
original time, written so the response clock yields what live traffic would have.

Nothing is sent: replies are stored as already sent, nothing enters the outbox, and no
automation runs. Idempotent: a conversation is found again by (inbox, external id) and each
event by its id, so re-running an import adds only what is new and changes nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from server.actions._conv import load_inbox, update_conversation
from server.actions._tx import Tx, transaction
from server.context import AppContext
from server.crypto import new_token, token_hash
from server.domain.csat import EDITABLE_FOR
from server.domain.importing import ImportConversation, ImportEvent, Person
from server.domain.status import Command, Status, transition
from server.exceptions import InvalidInput, NotFound
from server.reporting import rollup
from server.storage import schema as t
from server.storage.csat_schema import csat_surveys
from server.storage.import_schema import imported_conversations as imported
from server.storage.schema import utcnow

IDENTITY_CHANNEL = "import"
_VERBS = {
    "open": "Reopened",
    "pending": "Set to pending",
    "snoozed": "Snoozed",
    "resolved": "Resolved",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    external_id: str
    conversation_id: int
    created: bool
    added_events: int


async def import_conversation(
    ctx: AppContext, inbox_id: int, record: ImportConversation
) -> Outcome:
    """Write one conversation in one transaction; returns what changed."""
    async with transaction(ctx) as tx:
        inbox = await _inbox(tx, inbox_id)
        now = utcnow()
        conv, created = await _conversation(tx, inbox, record, now)
        seen = await _present_events(tx, conv.id, record.external_id)
        people = _People(tx)
        added = 0
        answers = [e for e in record.events if e.type == "csat"]
        for event in record.events:
            if event.type == "csat":
                continue  # stored as the segment's survey once the segments exist (below)
            if _external_id(record.external_id, event.id) not in seen:
                await _insert_event(tx, conv, record, event, people, now)
                added += 1
        if added or created:
            fields = {**await _final_fields(record, people), "clock_state": None}
            await update_conversation(
                tx, conv, fields, recompute_clock=True, now=now, created=created, inbox=inbox
            )
        if answers:
            conv = (
                await tx.conn.execute(
                    sa.select(t.conversations).where(t.conversations.c.id == conv.id)
                )
            ).one()
            for event in answers:
                added += await _csat_answer(tx, inbox, conv, record, event)
    return Outcome(record.external_id, int(conv.id), created, added)


async def _csat_answer(
    tx: Tx, inbox: Any, conv: Any, record: ImportConversation, event: ImportEvent
) -> int:
    """A CSAT answer from the old tool, stored as the survey a live resolve would have
    sent for that segment (sent when the segment was resolved) and answered at its time;
    counted in reports exactly as a live answer (docs/import.md). Returns 1 if it changed
    anything: a re-import changes nothing."""
    from server.actions.csat import record_answer  # csat imports the reply path
    from server.actions.csat import settings_for as csat_settings_for

    r, s = t.response_cycles.c, csat_surveys.c
    query = sa.select(t.response_cycles).where(r.conversation_id == conv.id)
    if event.segment is not None:
        query = query.where(r.idx == event.segment)
    else:
        query = query.where(r.started_at <= event.at).order_by(r.idx.desc()).limit(1)
    cycle = (await tx.conn.execute(query)).first()
    if cycle is None:
        raise InvalidInput(
            f"{record.external_id}: csat event {event.id!r}: no segment "
            f"{'#' + str(event.segment) if event.segment is not None else 'before it'}"
        )
    values = {"rating": event.rating, "comment": event.comment, "answered_at": event.at}
    old = (
        await tx.conn.execute(
            sa.select(csat_surveys).where(s.conversation_id == conv.id, s.cycle_idx == cycle.idx)
        )
    ).first()
    if old is not None:
        if all(getattr(old, k) == v for k, v in values.items()):
            return 0
        new = (
            await tx.conn.execute(
                sa.update(csat_surveys)
                .where(s.id == old.id)
                .values(**values)
                .returning(csat_surveys)
            )
        ).one()
        await record_answer(tx, old, new)
        return 1
    sent = cycle.resolved_at or event.at
    settings = await csat_settings_for(tx.conn, conv.inbox_id)
    new = (
        await tx.conn.execute(
            csat_surveys.insert()
            .values(
                conversation_id=conv.id,
                inbox_id=conv.inbox_id,
                cycle_idx=cycle.idx,
                token_hash=token_hash(new_token(16)),
                agent_id=conv.assignee_id
                if conv.assignee_id is not None
                else conv.first_responder_id,
                team_id=conv.team_id,
                channel=inbox.kind,
                labels=list(conv.labels or []),
                language=settings["language"],
                state="sent",
                sent_at=sent,
                editable_until=sent + EDITABLE_FOR,
                **values,
            )
            .returning(csat_surveys)
        )
    ).one()
    await rollup.apply(
        tx, conv.inbox_id, rollup.zone_of(inbox.business_hours), [],
        rollup.survey_entries(new._mapping),
    )  # fmt: skip
    return 1


async def _inbox(tx: Tx, inbox_id: int) -> Any:
    try:
        return await load_inbox(tx, inbox_id)
    except sa.exc.NoResultFound:
        raise NotFound(f"inbox {inbox_id} does not exist") from None


async def _conversation(
    tx: Tx, inbox: Any, record: ImportConversation, now: Any
) -> tuple[Any, bool]:
    c = t.conversations.c
    found = (
        await tx.conn.execute(
            sa.select(t.conversations)
            .join(imported, imported.c.conversation_id == c.id)
            .where(imported.c.inbox_id == inbox.id, imported.c.external_id == record.external_id)
        )
    ).first()
    if found is not None:
        return found, False
    contact_id = await _contact(tx, inbox.id, record.contact, now)
    row = (
        await tx.conn.execute(
            t.conversations.insert()
            .values(
                inbox_id=inbox.id,
                contact_id=contact_id,
                status=Status.OPEN.value,
                priority=record.priority,
                labels=list(record.labels),
                subject=record.subject,
                token=new_token(18),
                channel_data={},
                version=0,
                created_at=record.events[0].at,
                updated_at=now,
            )
            .returning(t.conversations)
        )
    ).one()
    await tx.conn.execute(
        imported.insert().values(
            inbox_id=inbox.id,
            external_id=record.external_id,
            conversation_id=row.id,
            created_at=now,
        )
    )
    return row, True


async def _contact(tx: Tx, inbox_id: int, person: Person, now: Any) -> int:
    """The contact of this inbox's imports with this external id (never another inbox's)."""
    ci = t.contact_identities.c
    scope = f"inbox:{inbox_id}"
    found = (
        await tx.conn.execute(
            sa.select(ci.contact_id).where(
                ci.channel == IDENTITY_CHANNEL,
                ci.scope == scope,
                ci.external_id == person.external_id,
            )
        )
    ).first()
    if found is not None:
        return int(found.contact_id)
    contact_id = (
        await tx.conn.execute(
            t.contacts.insert()
            .values(
                name=person.name,
                email=person.email,
                phone=person.phone,
                attributes={},
                created_at=now,
                updated_at=now,
            )
            .returning(t.contacts.c.id)
        )
    ).scalar_one()
    await tx.conn.execute(
        t.contact_identities.insert().values(
            contact_id=contact_id,
            channel=IDENTITY_CHANNEL,
            scope=scope,
            external_id=person.external_id,
            verified=False,
            created_at=now,
        )
    )
    return int(contact_id)


def _external_id(conversation: str, event: str) -> str:
    return f"import:{conversation}:{event}"


async def _present_events(tx: Tx, conversation_id: int, external_id: str) -> set[str]:
    m = t.messages.c
    rows = await tx.conn.execute(
        sa.select(m.external_id).where(
            m.conversation_id == conversation_id, m.external_id.like("import:%")
        )
    )
    return {r[0] for r in rows}


class _People:
    """Agents by their export identity: matched by email, or kept as deactivated accounts
    (no password, cannot log in) so reports still name who answered."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.cache: dict[str, int] = {}

    async def user_id(self, person: Person) -> int:
        key = (person.email or "").lower() or person.external_id
        if key not in self.cache:
            self.cache[key] = await self._find_or_create(person)
        return self.cache[key]

    async def _find_or_create(self, person: Person) -> int:
        u = self.tx.conn
        email = (person.email or "").strip().lower() or _placeholder_email(person.external_id)
        found = (
            await u.execute(sa.select(t.users.c.id).where(sa.func.lower(t.users.c.email) == email))
        ).first()
        if found is not None:
            return int(found.id)
        return int(
            (
                await u.execute(
                    t.users.insert()
                    .values(
                        email=email,
                        name=person.name or email.split("@")[0],
                        password_hash=None,
                        role="agent",
                        is_bot=False,
                        is_active=False,
                        created_at=utcnow(),
                    )
                    .returning(t.users.c.id)
                )
            ).scalar_one()
        )


def _placeholder_email(external_id: str) -> str:
    slug = re.sub(r"[^a-z0-9.-]+", "-", external_id.lower()).strip("-.")[:60] or "agent"
    return f"imported-{slug}@import.invalid"


async def _insert_event(
    tx: Tx, conv: Any, record: ImportConversation, event: ImportEvent, people: _People, now: Any
) -> None:
    agent_id = await people.user_id(event.agent) if event.agent is not None else None
    values: dict[str, Any] = {
        "conversation_id": conv.id,
        "inbox_id": conv.inbox_id,
        "external_id": _external_id(record.external_id, event.id),
        "sent_at": event.at,
        "created_at": now,
        "attachments": [],
        "content_attributes": {"imported": True},
        "is_auto": event.auto,
    }
    values.update(_shape(event, conv.contact_id, agent_id))
    await tx.conn.execute(t.messages.insert().values(**values))


def _shape(event: ImportEvent, contact_id: int, agent_id: int | None) -> dict[str, Any]:
    attrs: dict[str, Any]
    if event.type == "status":
        attrs = {"status": event.status, "actor_id": agent_id, "imported": True}
        return _activity(f"{_VERBS[str(event.status)]} (imported)", attrs, agent_id)
    if event.type == "assign":
        attrs = {"assignment": {"assignee_id": agent_id}, "imported": True}
        return _activity(
            "Assigned (imported)" if agent_id else "Unassigned (imported)", attrs, None
        )
    if event.sender == "customer":
        return {
            "direction": "in",
            "kind": "message",
            "sender_type": "contact",
            "sender_id": contact_id,
            "text": event.text,
            "status": "received",
        }
    return {
        "direction": "out",
        "kind": event.type,
        "text": event.text,
        "status": "sent",
        "sender_type": "bot" if event.sender == "bot" else "agent",
        "sender_id": None if event.sender == "bot" else agent_id,
    }


def _activity(text: str, attrs: dict[str, Any], actor_id: int | None) -> dict[str, Any]:
    return {
        "direction": "out",
        "kind": "activity",
        "text": text,
        "status": "sent",
        "sender_type": "agent" if actor_id else "system",
        "sender_id": actor_id,
        "content_attributes": attrs,
    }


async def _final_fields(record: ImportConversation, people: _People) -> dict[str, Any]:
    """Status, assignee and times after the whole history, as live traffic leaves them."""
    status, resolved_at, snoozed_until, assignee = Status.OPEN, None, None, None
    last_message = last_customer = None
    for e in record.events:
        if e.type == "status":
            status = Status(str(e.status))
            resolved_at = e.at if status is Status.RESOLVED else None
            snoozed_until = e.snoozed_until if status is Status.SNOOZED else None
        elif e.type == "assign":
            assignee = await people.user_id(e.agent) if e.agent is not None else None
        elif e.type == "message":
            last_message = e.at
            if e.sender == "customer":
                last_customer = e.at
                status = transition(status, Command.CUSTOMER_MESSAGE)
                if status is Status.OPEN:
                    resolved_at = snoozed_until = None
    return {
        "status": status.value,
        "resolved_at": resolved_at,
        "snoozed_until": snoozed_until,
        "assignee_id": assignee,
        "last_message_at": last_message,
        "last_customer_message_at": last_customer,
        "priority": record.priority,
        "labels": list(record.labels),
        "subject": record.subject,
    }
