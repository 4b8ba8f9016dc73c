"""The WebSocket protocol the server runs: uvicorn's ``websockets-sansio``, lighter per socket.

uvicorn builds a full ``asyncio.Queue`` (three deques and an Event) for the messages of
every socket and an ``asyncio.Event`` for write back-pressure, and keeps the parsed
handshake request and response for the socket's lifetime. An agent or visitor socket
receives a frame every few seconds at most, so those structures are mostly empty memory:
about 4 KiB of every idle socket (measured with tracemalloc; bench/README.md, idle
sockets). This subclass swaps in ``_Inbox`` and ``_Flag``, which allocate only while
something waits, and drops the handshake objects once the handshake is answered.
Behaviour is uvicorn's own: every test in the suite runs through this class
(``server/cli.py`` and ``tests/conftest.py`` pass it as ``ws=``).

It also offers the application a synchronous write, ``scope["extensions"]
["switchboard.send_now"]``: a text frame written at once when the socket is open and its
buffer has room (exactly what uvicorn's ``send`` does when it does not have to wait), or
``False`` without writing. The hub uses it to flush every socket of a fan-out round from
one callback instead of waking one task per socket (``server/realtime/connection.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN

SEND_NOW = "switchboard.send_now"


class _Inbox:
    """The subset of ``asyncio.Queue`` uvicorn uses (put_nowait / get / empty)."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        waiters = self._waiters
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
                    break

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None
        items = self._items
        item = items.pop(0)
        if not items:
            self._items = None
        return item


class _Flag:
    """The subset of ``asyncio.Event`` uvicorn uses (set / clear / wait / is_set)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][SEND_NOW] = self.send_now

    def send_now(self, text: str, wire: dict[str, bytes] | None = None) -> bool:
        """Write one text frame now if nothing would make ``send`` wait; else False.

        ``wire``: frames already serialized in this fan-out round, by text. A server's
        frames are not masked, so without extensions (no permessage-deflate) the bytes of
        a text frame are the same on every socket: serialized once, written to all.
        """
        if (
            not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        conn = self.conn
        if wire is not None and not conn.extensions and conn.state is OPEN:
            if conn.expect_continuation_frame:
                return False
            data = wire.get(text)
            if data is None:
                data = wire[text] = Frame(Opcode.TEXT, text.encode()).serialize(
                    mask=False, extensions=[]
                )
            pending = conn.data_to_send()  # anything websockets queued (a pong)
            self.transport.write(b"".join(pending) + data if pending else data)
            return True
        try:
            conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(conn.data_to_send()))
        return True

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Answered: uvicorn reads neither object again (the ASGI scope keeps the
            # request headers the application needs).
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
