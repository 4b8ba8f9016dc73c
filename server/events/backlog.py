"""Committed events that still wait for the bus, and the order they must go out in.

When a publish fails (Redis down, restarting, unreachable), the events stay unpublished
in the database. From then on this process publishes nothing directly: later commits are
deferred too, and the republisher (``server/workers/marker.py``) drains the backlog from
the database in commit order, retrying until the bus is back. Only when a drain finds
nothing left — and nothing was deferred while it looked — do publishers go direct again.
That keeps events in commit order through an outage instead of letting the newest ones
overtake the ones that waited.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class PublishBacklog:
    pending: bool = False  # some committed events of this process wait for the bus
    deferred: int = 0  # publishes deferred so far (a drain compares it before and after)
    drained_by_worker: bool = False  # a republisher runs (else publishers keep trying)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def defers(self) -> bool:
        """Publishers must leave their events to the republisher."""
        return self.pending and self.drained_by_worker

    def defer(self) -> None:
        self.pending = True
        self.deferred += 1
        self.wakeup.set()

    def drained(self, deferred_before: int) -> bool:
        """Mark the backlog empty if nothing was deferred since ``deferred_before``."""
        if self.deferred != deferred_before:
            return False
        self.pending = False
        return True
