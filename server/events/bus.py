"""The bus seam: where committed events get their stream id and reach every node.

Ids are assigned here, at publish time, in one order per stream — never from a database
sequence (two transactions can commit out of sequence order; a reader that resumed past
the later id would never see the earlier one). See server/realtime/PROTOCOL.md ("Why these ids").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from server.events.types import Event, StreamEvent


class ResyncRequired(Exception):
    """The requested resume point is no longer (or never was) in the stream's history."""


#: What a subscription yields when it finds the stream lost or reset under it (Redis
#: restarted without its data, or lost its newest entries): events may have vanished
#: before this point, so no resume point from before it can be proven. Its id is where
#: the subscription goes on reading; its payload says why. Audience "internal": the hub
#: acts on it (every socket gets ``resync_required``) and never forwards it.
STREAM_RESET = "stream.reset"


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[StreamEvent]: ...

    async def close(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, events: Sequence[Event]) -> list[str]:
        """Append events to the stream; return their ids, in order."""
        ...

    def subscribe(self) -> Subscription:
        """Every event published from now on, on any node, in stream order — or, where
        the stream was lost under it, a ``STREAM_RESET`` marker in place of the gap."""
        ...

    async def replay(self, after_id: str) -> list[StreamEvent]:
        """Every event after ``after_id``; raises ResyncRequired if it was trimmed."""
        ...

    async def last_id(self) -> str:
        """The id of the newest event ("0" when empty): where a fresh client starts."""
        ...
