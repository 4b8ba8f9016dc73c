"""One bus subscription per process, shared by every visitor socket on it.

A subscription per socket would cost a Redis connection (XREAD) per idle visitor; the
design target is tens of thousands of idle widget sockets per node. The fan-out reads the
bus once and hands each event to the sockets of its inbox. A socket registers its queue
*before* it replays its backlog, so registration plays the role of "subscribe first".

Each socket is a ``VisitorSink``: events wait in a list that exists only while it is
non-empty, and a pump task exists only while there is something to filter and send. An
idle visitor socket therefore costs its reader (the ASGI task) and a few slots, which is
what lets a node hold tens of thousands of them (bench/README.md, idle sockets).

A visitor that cannot keep up (``ws_queue_size`` events waiting) is disconnected rather
than buffered without bound; the widget reconnects and resumes from its last event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Any, Protocol

from server.context import AppContext
from server.events.bus import STREAM_RESET, Subscription
from server.events.types import StreamEvent

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013  # a visitor that fell behind: reconnect and resume from its last id
SERVICE_RESTART = 1012  # the node is stopping: reconnect (maybe to another node) and resume


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Filter(Protocol):
    async def frame(self, item: StreamEvent) -> dict[str, Any] | None:
        """The frame this visitor may see of an event (None: not for this visitor)."""


class VisitorSink:
    """One visitor socket's outbound side: bounded waiting list, pump only while busy."""

    __slots__ = (
        "_filter",
        "_items",
        "_socket",
        "close_code",
        "limit",
        "live",
        "pump_task",
        "seen",
    )

    def __init__(self, socket: Socket, filter_: Filter, limit: int) -> None:
        self._socket, self._filter = socket, filter_
        self.limit = limit
        self._items: list[StreamEvent] | None = None
        self.seen: set[str] | None = None  # ids the replay sent: each dropped once when live
        self.close_code: int | None = None
        self.live = False
        self.pump_task: asyncio.Task[None] | None = None

    def offer(self, item: StreamEvent) -> bool:
        """Queue an event; False when the sink is closing (it fell behind or was closed)."""
        if self.close_code is not None:
            return False
        items = self._items
        if items is None:
            self._items = [item]
        elif len(items) >= self.limit:
            self.close(TRY_AGAIN_LATER)
            return False
        else:
            items.append(item)
        self._kick()
        return True

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        self._items = None  # the client resumes from the stream; free memory now
        self._kick()

    def go_live(self, seen: set[str]) -> None:
        """The replay is written: from now on the pump writes, skipping replayed ids."""
        self.seen = seen or None
        self.live = True
        self._kick()

    async def stop(self) -> None:
        task = self.pump_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def close_socket(self, code: int) -> None:
        with contextlib.suppress(RuntimeError):  # closed already (by us or the client)
            await self._socket.close(code)

    def _kick(self) -> None:
        if self.live and (self.pump_task is None or self.pump_task.done()):
            self.pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                if self.close_code is not None:
                    await self.close_socket(self.close_code)
                    return
                items, self._items = self._items, None
                if not items:
                    return
                for item in items:
                    if self.seen and item.id in self.seen:
                        self.seen.discard(item.id)  # the replay delivered it; each id once
                        continue
                    frame = await self._filter.frame(item)
                    if frame is not None and self.close_code is None:
                        await self._socket.send_text(json.dumps(frame, default=str))
        except Exception:  # the socket went away mid-send; its reader ends the session
            log.debug("visitor socket pump ended", exc_info=True)
        finally:
            self.pump_task = None


class VisitorFanout:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self.limit = ctx.settings.ws_queue_size
        self._sinks: dict[int, set[VisitorSink]] = defaultdict(set)
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
        self._close_all(SERVICE_RESTART)

    def _close_all(self, code: int) -> None:
        for sinks in list(self._sinks.values()):
            for sink in list(sinks):
                sink.close(code)

    def register(self, inbox_id: int, sink: VisitorSink) -> None:
        self._sinks[inbox_id].add(sink)

    def unregister(self, inbox_id: int, sink: VisitorSink) -> None:
        sinks = self._sinks.get(inbox_id)
        if sinks is not None:
            sinks.discard(sink)
            if not sinks:
                del self._sinks[inbox_id]

    async def _run(self, sub: Subscription) -> None:
        async for item in sub:
            if item.event.type == STREAM_RESET:  # the stream was lost: no resume is proven
                self._close_all(SERVICE_RESTART)  # visitors resume and are told to resync
                continue
            inbox_id = item.event.inbox_id
            if inbox_id is None:
                continue
            for sink in list(self._sinks.get(inbox_id, ())):
                if not sink.offer(item):
                    self.unregister(inbox_id, sink)
