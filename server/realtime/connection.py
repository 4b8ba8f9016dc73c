"""One agent socket as the hub sees it: who it is, what it may see, what it still owes.

Writing: the hub offers frames to the connection's bounded queue and calls ``kick()``.
A pump task exists only while there is something to send: ``kick()`` starts one, it
sends everything queued — several frames as ONE ``batch`` frame, one WebSocket write —
and ends when the queue is empty. An idle socket therefore holds no task of its own and
no queue storage, only its reader (the ASGI task); a busy node pays one task per socket
per fan-out round instead of one wake-up per event. The pump is still the only writer
once the socket is live, so frames leave in queue order and a slow socket blocks only its
own pump.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from starlette.websockets import WebSocket

from server.actors import Actor
from server.events.types import StreamEvent
from server.realtime import frames
from server.realtime.client_queue import (
    OVERFLOW_CLOSE_CODE,
    OVERFLOW_CLOSE_REASON,
    Audience,
    ClientQueue,
    QueueState,
    ResumeGate,
)

log = logging.getLogger(__name__)


class Connection:
    __slots__ = (
        "actor",
        "audience",
        "close_request",
        "conversation_inboxes",
        "gate",
        "id",
        "last_seen",
        "live",
        "pending",
        "presence",
        "pump_task",
        "queue",
        "viewing",
        "websocket",
    )

    def __init__(self, websocket: WebSocket, actor: Actor, queue: ClientQueue) -> None:
        self.websocket = websocket
        self.actor = actor
        self.queue = queue
        self.id = secrets.token_hex(8)
        self.audience: Audience | None = None  # None until loaded: events wait in pending
        self.pending: list[StreamEvent] | None = None
        self.gate: ResumeGate | None = None
        self.presence = "online"
        self.viewing: tuple[int, int] | None = None  # (conversation_id, inbox_id)
        self.conversation_inboxes: dict[int, int] | None = None  # access cache, lazily
        self.close_request: tuple[int, str] | None = None
        self.last_seen = 0.0  # loop time of the last frame from the client
        self.live = False  # True once the replay is sent: from then on the pump writes
        self.pump_task: asyncio.Task[None] | None = None

    def hold(self, item: StreamEvent) -> int:
        """Keep an event that arrived before the access view loaded; the count held."""
        if self.pending is None:
            self.pending = []
        self.pending.append(item)
        return len(self.pending)

    def take_pending(self) -> list[StreamEvent]:
        pending, self.pending = self.pending or [], None
        return pending

    def offer(self, event_id: str | None, frame: str) -> None:
        self.queue.offer(event_id, frame)  # on overflow the pump closes the socket
        self.kick()

    def request_close(self, code: int, reason: str) -> None:
        if self.close_request is None:
            self.close_request = (code, reason)
        self.queue.close()
        self.kick()  # a socket still replaying closes right after its replay (go_live)

    def go_live(self) -> None:
        self.live = True
        self.kick()

    def kick(self) -> None:
        """Make sure a pump runs if there is anything to write (or a close to send)."""
        if not self.live:
            return  # the replay is still being written; go_live() kicks
        task = self.pump_task
        if task is None or task.done():
            self.pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        """Send what is queued, batched; close the socket if asked; end when drained."""
        try:
            await self._drain()
        finally:
            self.pump_task = None  # a finished task is not kept per idle socket

    async def _drain(self) -> None:
        send = self.websocket.send_text
        while True:
            if self.queue.state is QueueState.OVERFLOWED and self.close_request is None:
                self.close_request = (OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            if self.close_request is not None:
                await self._close(*self.close_request)
                return
            items = self.queue.take()
            if not items:
                return
            gate = self.gate
            batch = [
                frame
                for event_id, frame in items
                if event_id is None or gate is None or gate.admit(event_id)
            ]
            if len(batch) == 1:
                await send(batch[0])
            elif batch:
                await send(frames.batch(batch))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the peer may already be gone
            await self.websocket.close(code, reason)
