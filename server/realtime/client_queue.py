"""Per-client event queue and filter: which events a socket gets, and in what state. Pure.

The asyncio shell (``hub.py``) owns sockets and tasks; this module decides:

* ``position``: the total order of stream ids, so a resumed socket can drop live events it
  already got from the replay (``ResumeGate``).
* ``Audience``: the socket's access view — identical to REST (``visible_inbox_ids``),
  updated in stream order when an ``inbox.updated`` event changes membership or an
  ``agent.updated`` event changes the user's role.
* ``ClientQueue``: a bounded outbound queue. Overflow policy "close and resume": a client
  that cannot keep up is not allowed to hold memory or stall the fan-out; the hub closes
  its socket with OVERFLOW_CLOSE_CODE and the client reconnects with its last event id,
  catching up from the stream history (or being told to resync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from server.events.types import EPHEMERAL, EventType, StreamEvent

OVERFLOW_CLOSE_CODE = 4000
OVERFLOW_CLOSE_REASON = "overflow, resume"
#: Bus-only events the hub acts on and never forwards to any client.
INTERNAL_AUDIENCE = "internal"
SESSION_REVOKED = "session.revoked"


def position(event_id: str) -> tuple[int, int]:
    """Sort key of a stream id ``<a>-<seq>`` (Redis ``<ms>-<seq>``, memory ``<epoch>-<seq>``).

    Ids are compared only within one stream, where the prefix either grows (Redis
    milliseconds) or is constant (the memory bus epoch, read as hex), so the key orders
    ids exactly as the bus assigned them. "0" (the empty stream) sorts first.
    """
    if event_id == "0":
        return (0, 0)
    head, sep, seq = event_id.rpartition("-")
    if not sep or not seq.isdigit():
        raise ValueError(f"expected a stream id like '<n>-<seq>', got {event_id!r}")
    return (int(head) if head.isdigit() else int(head, 16), int(seq))


class ResumeGate:
    """Drops live events at or below the point the replay already covered."""

    def __init__(self, floor: str) -> None:
        self.floor = position(floor)

    def admit(self, event_id: str) -> bool:
        return position(event_id) > self.floor


@dataclass(slots=True)
class Audience:
    """A socket's access view. Changed only through ``apply_membership``/``apply_role``,
    whose True answer tells the hub to re-index its sockets (``hub.AudienceIndex``)."""

    user_id: int
    is_admin: bool
    inbox_ids: set[int] = field(default_factory=set)  # ignored for admins (they see all)

    def sees(self, item: StreamEvent) -> bool:
        event = item.event
        if event.audience == INTERNAL_AUDIENCE:
            return False
        if event.audience == "admins":
            return self.is_admin
        if event.inbox_id is None or self.is_admin:
            return True
        return event.inbox_id in self.inbox_ids

    def apply_membership(self, item: StreamEvent) -> bool:
        """Follow ``inbox.updated`` events that carry the inbox's member list. True if
        this audience changed."""
        event = item.event
        members = event.payload.get("member_ids")
        if event.type != EventType.INBOX_UPDATED or event.inbox_id is None:
            return False
        if not isinstance(members, list):
            return False
        if self.user_id in members:
            if event.inbox_id in self.inbox_ids:
                return False
            self.inbox_ids.add(event.inbox_id)
        else:
            if event.inbox_id not in self.inbox_ids:
                return False
            self.inbox_ids.discard(event.inbox_id)
        return True

    def apply_role(self, item: StreamEvent) -> bool:
        """Follow ``agent.updated`` events about this socket's user (a role change takes
        effect at once, like membership). True if this audience changed."""
        event = item.event
        user = event.payload.get("user")
        if event.type != EventType.AGENT_UPDATED or not isinstance(user, dict):
            return False
        if user.get("id") != self.user_id:
            return False
        self.is_admin = user.get("role") == "admin"
        inbox_ids = event.payload.get("inbox_ids")
        if isinstance(inbox_ids, list):
            self.inbox_ids = {i for i in inbox_ids if isinstance(i, int)}
        return True


def replayable(item: StreamEvent) -> bool:
    """Ephemeral events matter only while they happen: a resumed client skips old ones."""
    return item.event.type not in EPHEMERAL and item.event.audience != INTERNAL_AUDIENCE


class QueueState(Enum):
    OPEN = "open"
    OVERFLOWED = "overflowed"  # the owner must close the socket and let the client resume
    CLOSED = "closed"


class ClientQueue:
    """Bounded FIFO of encoded frames, with the overflow policy above.

    Storage exists only while frames wait: an idle socket's queue is three slots.
    """

    __slots__ = ("_items", "limit", "state")

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError(f"expected a positive queue limit, got {limit}")
        self.limit = limit
        self.state = QueueState.OPEN
        self._items: list[tuple[str | None, str]] | None = None

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else 0

    def offer(self, event_id: str | None, frame: str) -> bool:
        """Queue a frame; False when the queue is (or just became) unusable."""
        if self.state is not QueueState.OPEN:
            return False
        items = self._items
        if items is None:
            self._items = [(event_id, frame)]
            return True
        if len(items) >= self.limit:
            self.state = QueueState.OVERFLOWED
            self._items = None  # the client resumes from the stream; free memory now
            return False
        items.append((event_id, frame))
        return True

    def take(self) -> list[tuple[str | None, str]]:
        items, self._items = self._items, None
        return items or []

    def close(self) -> None:
        self.state = QueueState.CLOSED
        self._items = None


def describe(item: StreamEvent) -> dict[str, Any]:
    """The event as clients see it (``event`` field of an ``event`` frame)."""
    return item.event.to_wire()
