"""The visitor WebSocket: live public messages only, gap-free resume, typing, origin check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from server.events.types import Event, EventType
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.support.services import RedisServer
from tests.widget.helpers import Visitor, create_webchat_inbox

Socket = websockets.ClientConnection


async def _connect(
    server: Running, key: str, token: str, last: str | None = None, origin: str | None = None
) -> tuple[Socket, dict[str, Any]]:
    ws = await websockets.connect(f"{server.ws_url}/widget/ws?key={key}", origin=origin)
    await ws.send(json.dumps({"type": "hello", "token": token, "last_event_id": last}))
    frames = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        frames.append(frame)
        if frame["type"] == "ready":
            return ws, {"ready": frame, "before": frames[:-1]}


async def _next(ws: Socket, kind: str = "event") -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == kind:
            return frame  # type: ignore[no-any-return]


async def test_live_stream_has_public_messages_only(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor, other = (Visitor(server.client(), inbox["public_key"]) for _ in range(2))
    await visitor.start()
    await other.start()
    conv = (await visitor.send("hi")).json()["message"]["conversation_id"]
    ws, _ = await _connect(server, inbox["public_key"], visitor.token)
    try:
        await other.send("someone else")
        await admin.post(
            f"/api/conversations/{conv}/messages", json={"text": "note", "private": True}
        )
        await admin.post(f"/api/conversations/{conv}/status", json={"status": "resolved"})
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "public reply"})
        frame = await _next(ws)
        assert frame["event"] == "message.created"
        assert frame["message"]["text"] == "public reply"
        assert set(frame["message"]) >= {"id", "text", "author", "status"}
        assert "content_attributes" not in frame["message"]
    finally:
        await ws.close()


async def test_resume_replays_missed_events_exactly_once(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    await visitor.start()
    conv = (await visitor.send("hi")).json()["message"]["conversation_id"]
    ws, hello = await _connect(server, inbox["public_key"], visitor.token)
    last = hello["ready"]["last_event_id"]
    await ws.close()
    for i in range(3):
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": f"r{i}"})
    ws, hello = await _connect(server, inbox["public_key"], visitor.token, last)
    try:
        created = [
            f["message"]["text"] for f in hello["before"] if f.get("event") == "message.created"
        ]
        assert created == ["r0", "r1", "r2"]
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "r3"})
        frame = await _next(ws)
        while frame["event"] != "message.created":
            frame = await _next(ws)
        assert frame["message"]["text"] == "r3"
    finally:
        await ws.close()
    ws, hello = await _connect(server, inbox["public_key"], visitor.token, "bogus-1")
    assert [f["type"] for f in hello["before"]] == ["resync_required"]
    await ws.close()


async def test_typing_both_ways(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    await visitor.start()
    conv = (await visitor.send("hi")).json()["message"]["conversation_id"]
    sub = server.ctx.bus.subscribe()
    ws, _ = await _connect(server, inbox["public_key"], visitor.token)
    try:
        await ws.send(json.dumps({"type": "typing", "typing": True}))
        async for item in sub:
            if item.event.type == EventType.TYPING:
                assert item.event.conversation_id == conv
                assert item.event.payload["sender_type"] == "contact"
                break
        for private in (True, False):
            await server.ctx.bus.publish(
                [
                    Event(
                        EventType.TYPING,
                        {"user_id": 1, "active": True, "private": private, "name": f"Ana{private}"},
                        inbox["id"],
                        conv,
                    )
                ]
            )
        frame = await _next(ws, "typing")
        assert frame["name"] == "AnaFalse"
    finally:
        await sub.close()
        await ws.close()


async def test_socket_refuses_foreign_origin_and_bad_token(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin, allowed_origins=["http://shop.example"])
    visitor = Visitor(server.client(), inbox["public_key"], origin="http://shop.example")
    await visitor.start()
    with pytest.raises(websockets.InvalidStatus):
        await _connect(server, inbox["public_key"], visitor.token, origin="http://evil.example")
    ws = await websockets.connect(
        f"{server.ws_url}/widget/ws?key={inbox['public_key']}", origin="http://shop.example"
    )
    await ws.send(json.dumps({"type": "hello", "token": "forged"}))
    assert json.loads(await ws.recv())["type"] == "error"
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)


async def test_two_nodes_on_redis_visitor_on_one_agent_reply_on_other(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """Scale-out: the visitor's socket is on node A, the agent replies through node B."""
    redis_server.flush()
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    a = await start_server(make_settings(tmp_path / "a", db, redis_url=redis_server.url))
    b = await start_server(
        make_settings(tmp_path / "b", db, redis_url=redis_server.url, run_workers=False)
    )
    try:
        await set_admin_password(a)
        admin = await b.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_webchat_inbox(admin)
        visitor = Visitor(a.client(), inbox["public_key"])
        await visitor.start()
        conv = (await visitor.send("hi")).json()["message"]["conversation_id"]
        ws, hello = await _connect(a, inbox["public_key"], visitor.token)
        last = hello["ready"]["last_event_id"]
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "from node B"})
        frame = await _next(ws)
        assert frame["message"]["text"] == "from node B"
        await ws.close()
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "missed"})
        ws, hello = await _connect(a, inbox["public_key"], visitor.token, last)
        replayed = [
            f["message"]["text"] for f in hello["before"] if f.get("event") == "message.created"
        ]
        assert replayed == ["from node B", "missed"]
        await ws.close()
    finally:
        await b.stop()
        await a.stop()


async def test_a_visitor_that_falls_behind_is_closed_with_1013_and_resumes(
    tmp_path: Path,
) -> None:
    """More events at once than ws_queue_size: close 1013, then a resume loses nothing."""
    running = await start_server(
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'sb.db'}", ws_queue_size=5)
    )
    try:
        await set_admin_password(running)
        admin = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_webchat_inbox(admin)
        visitor = Visitor(running.client(), inbox["public_key"])
        await visitor.start()
        conv = (await visitor.send("hi")).json()["message"]["conversation_id"]
        ws, hello = await _connect(running, inbox["public_key"], visitor.token)
        last = hello["ready"]["last_event_id"]
        # One publish of 8 events of this inbox reaches the fan-out in one go: the
        # visitor's sink holds 5, the 6th closes it (the pump had no chance to drain).
        burst = [
            Event(EventType.CONVERSATION_UPDATED, {"n": n}, inbox["id"], conv) for n in range(8)
        ]
        await running.ctx.bus.publish(burst)
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 1013
        reply = await admin.post(f"/api/conversations/{conv}/messages", json={"text": "after"})
        assert reply.status_code == 201
        ws, hello = await _connect(running, inbox["public_key"], visitor.token, last)
        replayed = [
            f["message"]["text"] for f in hello["before"] if f.get("event") == "message.created"
        ]
        assert replayed == ["after"]
        await ws.close()
    finally:
        await running.stop()
