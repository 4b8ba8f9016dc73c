"""The response clock: how long a customer waited for a human (FRT and NRT).

The definitions are docs/frt.md; exactly as implemented here:

- The timeline is sorted by `at`, stably (ties keep input order). Input order never matters
  otherwise: imports with a `sent_at` can arrive late, and an item before a segment's start
  is ignored for that segment.
- A conversation is cut into *segments*. A segment starts at the first customer message that
  arrives while no segment is open: the first customer message of the conversation, or the
  first one after the conversation was resolved. A STATUS item with status=resolved closes
  the current segment; if it had no response yet, the segment ends unanswered at that instant.
- Customer messages while a segment is open do not start another one, whether or not it was
  answered: FRT is the first response per cycle (open -> resolved), not every reply.
- A segment's response is the first item after its start with `counts_as_response=True`.
  The action layer sets that only for a PUBLIC reply by a HUMAN agent that was sent: notes,
  auto-replies, bot messages and failed sends are recorded but never stop the clock.
- wall_seconds = responded_at - started_at. business_seconds counts the same span inside the
  inbox's business hours, minus the time the conversation was PENDING or SNOOZED. A pause
  starts at a STATUS item moving to pending/snoozed and ends at the next STATUS item moving
  to any other status, or at a customer message (which reopens the conversation).
- NRT (next-response time): while a segment is open and already answered, a customer
  message that arrives when nobody is waiting starts a *wait*; the next counting response
  ends it; a resolve ends it unanswered. Same clocks and pauses as FRT.

Two ways to run the same rules: `compute_segments` here (a whole timeline, in hand-readable
passes) and `server.domain.waits.step` (one item onto a state, O(1) in the conversation's
length), which the action layer uses; tests/frt/test_waits.py holds them equal on every
hand-computed case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from server.domain.calendar import BusinessHours, add_business_seconds, business_seconds
from server.domain.status import Status

__all__ = [
    "ItemKind",
    "Segment",
    "TimelineItem",
    "compute_segments",
    "paused_intervals",
    "sla_deadline",
    "waiting_since",
]

_PAUSED = frozenset({Status.PENDING, Status.SNOOZED})


class ItemKind(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"  # any outbound item: reply, note, auto-reply, bot, failed send
    STATUS = "status"


@dataclass(frozen=True)
class TimelineItem:
    at: datetime  # aware; normalised to UTC
    kind: ItemKind
    message_id: str | None = None
    author_id: str | None = None
    counts_as_response: bool = False
    status: Status | None = None  # STATUS items only: the status the conversation moved to

    def __post_init__(self) -> None:
        """Reject items the definition cannot interpret rather than guess what they meant."""
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"at must be timezone-aware, got naive {self.at.isoformat()}")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        if self.counts_as_response and self.kind is not ItemKind.AGENT_REPLY:
            raise ValueError(f"counts_as_response: expected an agent_reply, got {self.kind}")
        if (self.kind is ItemKind.STATUS) != (self.status is not None):
            raise ValueError(f"status: set it exactly on status items, got {self.status!r}")


@dataclass(frozen=True)
class Segment:
    """One waiting cycle. Response fields are None while unanswered."""

    index: int
    started_at: datetime
    start_message_id: str | None
    responded_at: datetime | None
    response_message_id: str | None
    responder_id: str | None
    wall_seconds: float | None
    business_seconds: float | None
    ended_unanswered_at: datetime | None  # resolved with no response

    @property
    def is_waiting(self) -> bool:
        """Still open and unanswered: the live timer runs."""
        return self.responded_at is None and self.ended_unanswered_at is None


@dataclass
class _Cycle:
    start: TimelineItem
    response: TimelineItem | None = None
    ended_unanswered_at: datetime | None = None


def compute_segments(timeline: Sequence[TimelineItem], hours: BusinessHours) -> list[Segment]:
    """Cut the timeline into segments and measure each first response."""
    items = _sorted(timeline)
    pauses = _pauses(items)
    return [_segment(index, cycle, hours, pauses) for index, cycle in enumerate(_cycles(items))]


def waiting_since(timeline: Sequence[TimelineItem]) -> datetime | None:
    """When the customer started waiting now, or None if nobody is waiting on us.

    The first customer message after the last counting response (or after the last resolve).
    Unlike a segment start this also restarts after a follow-up to an answered message, which
    is what a "waiting for 12 min" badge should show. Pending and snoozed do not reset it.
    """
    since: datetime | None = None
    for item in _sorted(timeline):
        if item.kind is ItemKind.CUSTOMER_MESSAGE and since is None:
            since = item.at
        elif item.counts_as_response or item.status is Status.RESOLVED:
            since = None
    return since


def paused_intervals(
    timeline: Sequence[TimelineItem], until: datetime
) -> list[tuple[datetime, datetime]]:
    """Intervals spent pending or snoozed; a pause still running is cut at `until`.

    For live business-time timers: business_seconds(hours, started_at, now, paused_intervals(
    timeline, now)).
    """
    return [(start, until if end is None else end) for start, end in _pauses(_sorted(timeline))]


def sla_deadline(
    timeline: Sequence[TimelineItem], target_seconds: float, hours: BusinessHours
) -> datetime | None:
    """The instant the waiting segment breaches a first-response target in business seconds.

    None when no segment is waiting, while the conversation is paused (the clock is stopped,
    so there is no deadline until it resumes), or when the calendar never opens. The result
    may be in the past: the segment has already breached.
    """
    items = _sorted(timeline)
    cycles = _cycles(items)
    if not cycles or cycles[-1].response is not None or cycles[-1].ended_unanswered_at:
        return None
    pauses = _pauses(items)
    if pauses and pauses[-1][1] is None:
        return None
    closed = [(start, end) for start, end in pauses if end is not None]
    return add_business_seconds(hours, cycles[-1].start.at, target_seconds, closed)


def _sorted(timeline: Sequence[TimelineItem]) -> list[TimelineItem]:
    return sorted(timeline, key=lambda item: item.at)  # sorted() is stable


def _cycles(items: Sequence[TimelineItem]) -> list[_Cycle]:
    """One pass over sorted items: segment starts, first responses, resolves."""
    cycles: list[_Cycle] = []
    current: _Cycle | None = None
    for item in items:
        if item.kind is ItemKind.CUSTOMER_MESSAGE and current is None:
            current = _Cycle(start=item)
            cycles.append(current)
        elif item.counts_as_response and current is not None and current.response is None:
            current.response = item
        elif item.status is Status.RESOLVED and current is not None:
            if current.response is None:
                current.ended_unanswered_at = item.at
            current = None
    return cycles


def _pauses(items: Sequence[TimelineItem]) -> list[tuple[datetime, datetime | None]]:
    """Pending/snoozed intervals; the last one has end None if it is still running."""
    pauses: list[tuple[datetime, datetime | None]] = []
    paused_at: datetime | None = None
    for item in items:
        pausing = item.status in _PAUSED
        if pausing and paused_at is None:
            paused_at = item.at
        elif paused_at is not None and not pausing and _resumes(item):
            pauses.append((paused_at, item.at))
            paused_at = None
    if paused_at is not None:
        pauses.append((paused_at, None))
    return pauses


def _resumes(item: TimelineItem) -> bool:
    return item.kind is ItemKind.CUSTOMER_MESSAGE or item.kind is ItemKind.STATUS


def _segment(
    index: int,
    cycle: _Cycle,
    hours: BusinessHours,
    pauses: Sequence[tuple[datetime, datetime | None]],
) -> Segment:
    started_at, response = cycle.start.at, cycle.response
    wall = business = None
    if response is not None:
        wall = (response.at - started_at).total_seconds()
        closed = [(start, response.at if end is None else end) for start, end in pauses]
        business = business_seconds(hours, started_at, response.at, closed)
    return Segment(
        index=index,
        started_at=started_at,
        start_message_id=cycle.start.message_id,
        responded_at=None if response is None else response.at,
        response_message_id=None if response is None else response.message_id,
        responder_id=None if response is None else response.author_id,
        wall_seconds=wall,
        business_seconds=business,
        ended_unanswered_at=cycle.ended_unanswered_at,
    )
