"""Bad frames on the visitor socket get an error frame and the socket keeps serving
(issue 11, hole 7): JSON nested past Python's recursion limit, an id beyond BIGINT."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets

from tests.conftest import Running
from tests.widget.helpers import Visitor, create_webchat_inbox


async def _next(ws: websockets.ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == kind:
            return frame  # type: ignore[no-any-return]


async def test_bad_frames_get_an_error_and_the_socket_keeps_serving(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    await visitor.start()
    await visitor.send("hi")
    url = f"{server.ws_url}/widget/ws?key={inbox['public_key']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "last_event_id": None}))
        await _next(ws, "ready")
        await ws.send("[" * 5000 + "]" * 5000)
        assert "JSON" in (await _next(ws, "error"))["message"]
        await ws.send(json.dumps({"type": "seen", "message_id": 10**30}))
        assert "message_id" in (await _next(ws, "error"))["message"]
        await ws.send(json.dumps({"type": "ping"}))
        await _next(ws, "pong")
