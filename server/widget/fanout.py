"""One bus subscription per process, shared by every visitor socket on it.

A subscription per socket would cost a Redis connection (XREAD) per idle visitor; the
design target is tens of thousands of idle widget sockets per node. The fan-out reads the
bus once and hands each event to the sockets of its inbox. A socket registers its queue
*before* it replays its backlog, so registration plays the role of "subscribe first".

A visitor that cannot keep up (``ws_queue_size`` events waiting) is disconnected rather
than buffered without bound; the widget reconnects and resumes from its last event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from server.context import AppContext
from server.events.bus import Subscription
from server.events.types import StreamEvent

log = logging.getLogger(__name__)

#: ``None`` in a queue means "you fell behind: close and let the client resume".
Item = StreamEvent | None


class VisitorFanout:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._limit = ctx.settings.ws_queue_size
        self._queues: dict[int, set[asyncio.Queue[Item]]] = defaultdict(set)
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sub = self._ctx.bus.subscribe()
        ready = getattr(self._sub, "ready", None)
        if ready is not None:
            await ready()  # the cursor is fixed: nothing published from now on is missed
        self._task = asyncio.create_task(self._run(self._sub), name="widget-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            await self._sub.close()
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)

    def register(self, inbox_id: int) -> asyncio.Queue[Item]:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self._queues[inbox_id].add(queue)
        return queue

    def unregister(self, inbox_id: int, queue: asyncio.Queue[Item]) -> None:
        queues = self._queues.get(inbox_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[inbox_id]

    async def _run(self, sub: Subscription) -> None:
        async for item in sub:
            inbox_id = item.event.inbox_id
            if inbox_id is None:
                continue
            for queue in list(self._queues.get(inbox_id, ())):
                if queue.qsize() >= self._limit:
                    self.unregister(inbox_id, queue)
                    queue.put_nowait(None)
                else:
                    queue.put_nowait(item)
