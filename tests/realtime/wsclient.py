"""A small agent-socket client for tests, on the ``websockets`` client library."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]


class AgentSocket:
    #: Every socket a test opened; the autouse fixture in conftest.py closes them.
    opened: list[AgentSocket] = []

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        AgentSocket.opened.append(self)
        self.ready: Frame | None = None
        self.before_ready: list[Frame] = []
        self.batches = 0  # batch frames received (their frames are handed out one by one)
        self._unpacked: deque[Frame] = deque()

    @classmethod
    async def open(
        cls,
        ws_url: str,
        token: str | None,
        last_event_id: str | None = None,
        *,
        hello: bool = True,
        **kwargs: Any,
    ) -> AgentSocket:
        url = f"{ws_url}/ws"
        headers = {"authorization": f"Bearer {token}"} if token else {}
        sock = cls(await connect(url, additional_headers=headers, **kwargs))
        if hello:
            await sock.send({"type": "hello", "last_event_id": last_event_id})
            sock.ready = await sock.until(lambda f: f["type"] == "ready", keep=sock.before_ready)
        return sock

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 10.0) -> Frame:
        """The next server frame; a ``batch`` frame is unpacked, in order (PROTOCOL.md)."""
        while not self._unpacked:
            frame: Frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if frame.get("type") != "batch":
                return frame
            self.batches += 1
            self._unpacked.extend(frame["frames"])
        return self._unpacked.popleft()

    async def until(
        self,
        match: Callable[[Frame], bool],
        *,
        keep: list[Frame] | None = None,
        timeout: float = 10.0,
    ) -> Frame:
        """The first frame that matches; frames before it go to ``keep`` if given."""

        async def scan() -> Frame:
            while True:
                frame = await self.recv(timeout)
                if match(frame):
                    return frame
                if keep is not None:
                    keep.append(frame)

        return await asyncio.wait_for(scan(), timeout)

    async def events(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """The next ``count`` event frames (other frames are skipped)."""
        got: list[Frame] = []
        while len(got) < count:
            got.append(await self.until(lambda f: f["type"] == "event", timeout=timeout))
        return got

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str | None]:
        """Wait for the server to close; return (code, reason)."""

        async def drain() -> None:
            try:
                while True:
                    await self.ws.recv()
            except ConnectionClosed:
                return

        await asyncio.wait_for(drain(), timeout)
        rcvd = self.ws.protocol.close_rcvd
        return (rcvd.code, rcvd.reason) if rcvd else (None, None)

    async def close(self) -> None:
        await self.ws.close()

    @classmethod
    async def close_all(cls) -> None:
        opened, cls.opened = cls.opened, []
        for sock in opened:
            await asyncio.wait_for(sock.ws.close(), 10)
