"""One agent socket as the hub sees it: who it is, what it may see, what it still owes.

Writing. The hub offers frames to the connection's bounded queue; the connection marks
itself dirty with the node's ``Writer``. After the fan-out of the current bus batch the
writer flushes every dirty socket from ONE callback: everything queued for a socket leaves
as one frame (several frames become one ``batch`` frame, see PROTOCOL.md), written
synchronously when the socket's buffer has room (``ws_protocol.SEND_NOW``). Only a socket
that cannot take it now (buffer full: a slow client) or that must be closed gets a pump
task, which awaits it; so a slow socket delays nobody else, and an idle socket holds no
task and no queue storage, only its reader (the ASGI task). Once live, exactly one of the
writer or the pump writes, so frames leave in queue order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

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
from server.realtime.ws_protocol import SEND_NOW

log = logging.getLogger(__name__)


class Writer:
    """The node's one writer: flushes dirty sockets once per loop iteration."""

    __slots__ = ("_dirty", "_scheduled")

    def __init__(self) -> None:
        self._dirty: list[Connection] = []
        self._scheduled = False

    def mark(self, conn: Connection) -> None:
        self._dirty.append(conn)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, []
        wire: dict[str, bytes] = {}  # each distinct frame serialized once per round
        for conn in dirty:
            try:
                conn.flush(wire)
            except Exception:  # one broken socket must not stop the others' writes
                log.exception("flushing socket %s failed", conn.id)


class Connection:
    __slots__ = (
        "actor",
        "audience",
        "close_request",
        "conversation_inboxes",
        "dirty",
        "gate",
        "id",
        "last_seen",
        "live",
        "pending",
        "presence",
        "pump_task",
        "queue",
        "send_now",
        "unsent",
        "viewing",
        "websocket",
        "writer",
    )

    def __init__(
        self, websocket: WebSocket, actor: Actor, queue: ClientQueue, writer: Writer
    ) -> None:
        self.websocket = websocket
        self.actor = actor
        self.queue = queue
        self.writer = writer
        extensions = websocket.scope.get("extensions") or {}
        self.send_now: Callable[[str, dict[str, bytes] | None], bool] | None = extensions.get(
            SEND_NOW
        )
        self.id = secrets.token_hex(8)
        self.audience: Audience | None = None  # None until loaded: events wait in pending
        self.pending: list[StreamEvent] | None = None
        self.gate: ResumeGate | None = None
        self.presence = "online"
        self.viewing: tuple[int, int] | None = None  # (conversation_id, inbox_id)
        self.conversation_inboxes: dict[int, int] | None = None  # access cache, lazily
        self.close_request: tuple[int, str] | None = None
        self.last_seen = 0.0  # loop time of the last frame from the client
        self.live = False  # True once the replay is sent: from then on the writer writes
        self.dirty = False
        self.unsent: str | None = None  # taken from the queue, not yet written
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
        if not self.queue.offer(event_id, frame) and self.queue.state is QueueState.OVERFLOWED:
            # Marked now: the socket's pump may be stuck on a client that stopped reading;
            # the queue is already freed, and the close goes out as soon as it can (a
            # client that never reads again is dropped by the protocol ping timeout).
            self.request_close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            return
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
        """Have the writer flush this socket soon (once the replay has been written)."""
        if self.live and not self.dirty:
            self.dirty = True
            self.writer.mark(self)

    # Called by the writer ------------------------------------------------------------

    def flush(self, wire: dict[str, bytes] | None = None) -> None:
        self.dirty = False
        if self.pump_task is not None:
            return  # the pump is writing (waiting on a slow socket); it takes the queue
        if self.queue.state is QueueState.OVERFLOWED or self.close_request is not None:
            self._start_pump()  # closing awaits the close handshake
            return
        text = self._take()
        if text is None:
            return
        if self.send_now is None or not self.send_now(text, wire):
            self.unsent = text  # full buffer (or no synchronous send): the pump awaits it
            self._start_pump()

    def _take(self) -> str | None:
        """Everything queued, past the resume gate, as one frame (None: nothing)."""
        items = self.queue.take()
        if not items:
            return None
        gate = self.gate
        batch = []
        for event_id, frame in items:
            if gate is not None and event_id is not None:
                if not gate.admit(event_id):
                    continue  # the replay sent it already
                gate = None  # ids only grow: every later event is past the floor too
            batch.append(frame)
        self.gate = gate
        if not batch:
            return None
        return batch[0] if len(batch) == 1 else frames.batch(batch)

    def _start_pump(self) -> None:
        if self.pump_task is None:
            self.pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        """Await the socket until everything queued is written, or close it if asked."""
        try:
            await self._drain()
        except Exception:  # the peer went away mid-write; its reader ends the session
            log.debug("socket %s: pump ended", self.id, exc_info=True)
        finally:
            self.pump_task = None  # a finished task is not kept per idle socket

    async def _drain(self) -> None:
        send = self.websocket.send_text
        while True:
            if self.queue.state is QueueState.OVERFLOWED and self.close_request is None:
                self.close_request = (OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            if self.close_request is not None:
                self.unsent = None
                await self._close(*self.close_request)
                return
            text, self.unsent = self.unsent, None
            if text is None:
                text = self._take()
            if text is None:
                return
            await send(text)

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the peer may already be gone
            await self.websocket.close(code, reason)
