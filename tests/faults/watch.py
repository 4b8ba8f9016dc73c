"""Agent sockets that record what they received, and the check of PROTOCOL.md's promise.

The promise: every event exactly once, or an explicit ``resync_required``. A watcher keeps
every frame it got with the time it got it, so a test can ask, per socket: which messages
arrived, how often, and whether (and when) the socket was told to resync.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from tests.realtime.wsclient import AgentSocket


@dataclass
class Watcher:
    sock: AgentSocket
    texts: list[str] = field(default_factory=list)  # message.created texts, in arrival order
    resyncs: int = 0
    texts_at_last_resync: int = 0  # len(texts) when the last resync arrived
    last_resync_at: float = 0.0  # loop time it arrived
    closed: bool = False
    task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, ws_url: str, token: str) -> Watcher:
        watcher = cls(await AgentSocket.open(ws_url, token))
        watcher.task = asyncio.create_task(watcher._collect())
        return watcher

    async def _collect(self) -> None:
        try:
            while True:
                frame = await self.sock.recv(timeout=3600)
                if frame["type"] == "resync_required":
                    self.resyncs += 1
                    self.texts_at_last_resync = len(self.texts)
                    self.last_resync_at = asyncio.get_running_loop().time()
                elif frame["type"] == "event" and frame["event"]["type"] == "message.created":
                    self.texts.append(frame["event"]["payload"]["message"]["text"])
        except ConnectionClosed:
            self.closed = True

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def problems(self, sent: list[tuple[str, float]]) -> list[str]:
        """What breaks the promise for this socket ([] when it was kept).

        ``sent`` are the acknowledged messages with the loop time their request started.
        After a resync only messages sent after it arrived are owed as events (what was
        committed before it, the client refetches).
        """
        owed = [t for t, at in sent if not self.resyncs or at > self.last_resync_at]
        tail = self.texts[self.texts_at_last_resync :] if self.resyncs else self.texts
        counts = Counter(tail)
        missing = [t for t in owed if counts[t] == 0]
        twice = sorted(t for t, n in counts.items() if n > 1)
        found = []
        if self.closed:
            found.append("closed")
        if missing:
            found.append(f"{len(missing)} missed without resync: {missing[:5]}")
        if twice:
            found.append(f"{len(twice)} delivered twice: {twice[:5]}")
        return found


def summary(watchers: list[Watcher]) -> dict[str, Any]:
    return {
        "sockets": len(watchers),
        "resynced": sum(1 for w in watchers if w.resyncs),
        "received": [len(w.texts) for w in watchers],
    }
