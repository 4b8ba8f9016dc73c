"""One agent socket as the hub sees it: who it is, what it may see, what it still owes.

The pump task is the only writer to the socket (besides the handshake phase in
``socket.py``), so frames leave in queue order and a slow socket blocks only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from server.actors import Actor
from server.events.types import StreamEvent
from server.realtime.client_queue import (
    OVERFLOW_CLOSE_CODE,
    OVERFLOW_CLOSE_REASON,
    Audience,
    ClientQueue,
    QueueState,
    ResumeGate,
)

log = logging.getLogger(__name__)


@dataclass
class Connection:
    websocket: WebSocket
    actor: Actor
    queue: ClientQueue
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    audience: Audience | None = None  # None until loaded: events wait in ``pending``
    pending: list[StreamEvent] = field(default_factory=list)
    gate: ResumeGate | None = None
    presence: str = "online"
    viewing: tuple[int, int] | None = None  # (conversation_id, inbox_id)
    conversation_inboxes: dict[int, int] = field(default_factory=dict)  # access cache
    close_request: tuple[int, str] | None = None
    last_seen: float = 0.0  # loop time of the last frame from the client
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    pump_task: asyncio.Task[None] | None = None

    def request_close(self, code: int, reason: str) -> None:
        if self.close_request is None:
            self.close_request = (code, reason)
        self.queue.close()
        self.wakeup.set()

    async def pump(self) -> None:
        """Send queued frames until the socket must close; then close it with its code."""
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            if self.queue.state is QueueState.OVERFLOWED:
                self.request_close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            if self.close_request is not None:
                await self._close(*self.close_request)
                return
            for event_id, frame in self.queue.take():
                if event_id is not None and self.gate is not None and not self.gate.admit(event_id):
                    continue
                await self.websocket.send_text(frame)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the peer may already be gone
            await self.websocket.close(code, reason)
