"""Event names and the event record. Clients use these exact strings.

Every event that concerns a conversation carries ``inbox_id`` (the access check for agents)
and ``conversation_id`` (the access check for widget visitors). Payloads carry entity
snapshots with a ``version`` so clients apply events idempotently: a snapshot whose version
is not newer than what the client holds is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"  # delivery status, edits
    CONTACT_UPDATED = "contact.updated"
    CONTACT_MERGED = "contact.merged"
    SLA_BREACHED = "sla.breached"  # payload: conversation, metric (frt|nrt), due_at
    SLA_NEAR_BREACH = "sla.near_breach"  # same payload; docs/frt.md "SLA events"
    INBOX_UPDATED = "inbox.updated"  # settings, membership
    AGENT_UPDATED = "agent.updated"  # role or state of an agent (sockets re-check access)
    CSAT_ANSWERED = "csat.answered"  # payload: survey (docs/csat.md)
    INBOX_HEALTH = "inbox.health"  # a channel watcher connected, failed, or lags (admins)
    TYPING = "typing"  # ephemeral: not stored
    PRESENCE = "presence"  # ephemeral: not stored
    VIEWING = "viewing"  # ephemeral: not stored


#: Events that are never written to the database (they matter only while they happen).
EPHEMERAL = frozenset(
    {EventType.TYPING, EventType.PRESENCE, EventType.VIEWING, EventType.INBOX_HEALTH}
)


@dataclass(frozen=True)
class Event:
    type: str
    payload: dict[str, Any]
    inbox_id: int | None = None
    conversation_id: int | None = None
    db_id: int | None = None  # row id in `events` (not a resume cursor: PROTOCOL.md)
    audience: str = "agents"  # agents | admins | all (visitors filter by conversation)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "inbox_id": self.inbox_id,
            "conversation_id": self.conversation_id,
            "payload": self.payload,
        }


@dataclass(frozen=True)
class StreamEvent:
    """An event after the bus assigned it its place in the stream."""

    id: str
    event: Event
