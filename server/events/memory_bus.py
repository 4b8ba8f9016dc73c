"""In-process bus: the embedded default for a single server process.

Ids are ``<epoch>-<seq>``. The epoch is random per process start, so a client resuming
with an id from before a restart gets ResyncRequired instead of a silent gap (history is
not kept across restarts).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import deque
from collections.abc import AsyncIterator, Sequence

from server.events.bus import ResyncRequired
from server.events.types import Event, StreamEvent


class _MemorySubscription:
    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

    def _put(self, item: StreamEvent | None) -> None:
        self._queue.put_nowait(item)

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._bus._subscribers.discard(self)
        self._put(None)


class MemoryBus:
    def __init__(self, history: int = 100_000) -> None:
        self.epoch = secrets.token_hex(4)
        self._seq = 0
        self._history: deque[StreamEvent] = deque(maxlen=history)
        self._subscribers: set[_MemorySubscription] = set()
        self._revocation_mark: str | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for sub in list(self._subscribers):
            await sub.close()

    async def publish(self, events: Sequence[Event]) -> list[str]:
        ids = []
        for event in events:
            self._seq += 1
            item = StreamEvent(f"{self.epoch}-{self._seq}", event)
            self._history.append(item)
            ids.append(item.id)
            for sub in self._subscribers:
                sub._put(item)
        return ids

    def subscribe(self) -> _MemorySubscription:
        sub = _MemorySubscription(self)
        self._subscribers.add(sub)
        return sub

    def _seq_of(self, event_id: str) -> int:
        if event_id == "0":
            return 0
        epoch, _, seq = event_id.partition("-")
        if epoch != self.epoch or not (seq.isascii() and seq.isdigit()):  # not "²"
            raise ResyncRequired(f"event id {event_id!r} is not from this server's history")
        return int(seq)

    async def replay(self, after_id: str) -> list[StreamEvent]:
        after = self._seq_of(after_id)
        if after > self._seq:
            raise ResyncRequired(f"event id {after_id!r} is ahead of the stream")
        oldest = self._seq - len(self._history) + 1
        if after + 1 < oldest:
            raise ResyncRequired(f"event id {after_id!r} is older than the kept history")
        skip = after + 1 - oldest
        return list(itertools.islice(self._history, max(skip, 0), None))

    async def last_id(self) -> str:
        return f"{self.epoch}-{self._seq}" if self._seq else "0"

    async def revocation_mark(self) -> str | None:
        """Changes whenever a session is revoked (server/realtime/session_cache.py)."""
        return self._revocation_mark

    async def mark_revocation(self) -> None:
        self._revocation_mark = secrets.token_hex(8)
