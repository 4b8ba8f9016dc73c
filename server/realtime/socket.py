"""The agent WebSocket endpoint ``/ws`` (protocol in PROTOCOL.md).

Phases of one socket: authenticate → wait for ``hello`` → register with the hub (live
events start buffering) → load the access view → replay after ``last_event_id`` → open
the resume gate and start the pump → read client frames until the socket closes.
Registering before the replay is what makes resume gap-free; the gate (drop live ids at
or below the last replayed id) is what makes it duplicate-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.actions.access import conversation_for
from server.actors import Actor
from server.api.auth import COOKIE
from server.events.bus import ResyncRequired
from server.events.types import EventType
from server.exceptions import NotFound
from server.realtime import frames
from server.realtime.client_queue import Audience, ClientQueue, ResumeGate
from server.realtime.connection import Connection
from server.realtime.hub import REPLAY_BATCH_BYTES, REVOKED_CLOSE_CODE, Hub

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 30.0  # seconds a client has to say hello before we hang up
HELLO_TIMEOUT_CODE = 4408
FORBIDDEN_ORIGIN_CODE = 4403
CONVERSATION_CACHE = 500  # conversation → inbox entries kept per socket


async def agent_socket(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    actor = await _authenticate(websocket)
    if actor is None:
        return
    try:
        hello = await asyncio.wait_for(_wait_hello(websocket), HELLO_TIMEOUT)
    except TimeoutError:
        await websocket.close(HELLO_TIMEOUT_CODE, "no hello frame")
        return
    except WebSocketDisconnect:
        return
    conn = Connection(websocket, actor, ClientQueue(hub.ctx.settings.ws_queue_size), hub.writer)
    conn.last_seen = asyncio.get_running_loop().time()
    hub.register(conn)
    try:
        await _start(hub, conn, hello)
        await _read_loop(hub, conn)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unregister(conn)
        await _finish(hub, conn)


async def _authenticate(websocket: WebSocket) -> Actor | None:
    """Bearer header or session cookie. Never a token in the URL: URLs reach access logs,
    proxy logs and browser history (PROTOCOL.md, docs/security.md)."""
    hub: Hub = websocket.app.state.hub
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    by_cookie = not token
    token = token or websocket.cookies.get(COOKIE, "")
    actor = await hub.sessions.actor_for(token) if token else None
    if actor is None:
        await websocket.close(REVOKED_CLOSE_CODE, "log in first")
        return None
    if by_cookie and not _same_origin(websocket):
        # A cookie rides along on cross-site socket handshakes; only our pages may use it.
        await websocket.close(FORBIDDEN_ORIGIN_CODE, "cross-origin socket refused")
        return None
    return actor


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # not a browser: no ambient-credential risk
    allowed = {websocket.headers.get("host", "")}
    public = websocket.app.state.ctx.settings.public_url
    if public:
        allowed.add(urlsplit(public).netloc)
    return urlsplit(origin).netloc in allowed


async def _wait_hello(websocket: WebSocket) -> frames.Hello:
    while True:
        text = await _receive_text(websocket)
        if text is None:
            await websocket.send_text(
                frames.error("binary_not_supported", "expected JSON text frames")
            )
            continue
        try:
            frame = frames.parse(text)
        except frames.FrameError as exc:
            await websocket.send_text(frames.error(exc.code, exc.message))
            continue
        if isinstance(frame, frames.Hello):
            return frame
        await websocket.send_text(
            frames.error("hello_required", "the first frame must be a hello frame")
        )


async def _receive_text(websocket: WebSocket) -> str | None:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text: str | None = message.get("text")
    return text


async def _start(hub: Hub, conn: Connection, hello: frames.Hello) -> None:
    # Read (or taken from the node's cache, views.py) now that the socket is registered:
    # a role change committed since the handshake was announced before this socket could
    # hear it (agent.updated).
    conn.actor, visible = await hub.views.view(conn.actor)
    hub.set_audience(conn, Audience(conn.actor.id, visible is None, visible or set()))
    await _resume(hub, conn, hello.last_event_id)
    for frame in frames.batches(hub.presence_frames(), REPLAY_BATCH_BYTES):
        await conn.websocket.send_text(frame)
    conn.go_live()  # from here on the pump is the only writer
    await hub.update_presence(conn)


async def _resume(hub: Hub, conn: Connection, last_event_id: str | None) -> None:
    bus, send = hub.ctx.bus, conn.websocket.send_text
    if last_event_id is None:
        head = await _head(hub)
        conn.gate = ResumeGate(head)
        await send(frames.ready(head, resumed=False))
        return
    try:
        items = await bus.replay(last_event_id)
    except ResyncRequired as exc:
        head = await _head(hub)
        conn.gate = ResumeGate(head)
        await send(frames.resync_required(str(exc), head))
        await send(frames.ready(head, resumed=False))
        return
    except Exception:  # the bus is down (Redis outage): only the hub's own head is provable
        if hub.head is None:
            raise
        head = hub.head
        conn.gate = ResumeGate(head)
        if last_event_id != head:
            await send(frames.resync_required("the event stream is unavailable", head))
        await send(frames.ready(head, resumed=last_event_id == head))
        return
    await send(frames.ready(last_event_id, resumed=True))
    assert conn.audience is not None
    # One write per REPLAY_BATCH_BYTES, not per event; packed once per node (hub.py).
    for frame in hub.replay_frames(items, conn.audience):
        await send(frame)
    conn.gate = ResumeGate(items[-1].id if items else last_event_id)


async def _head(hub: Hub) -> str:
    """Where a fresh client starts: the stream's newest id, or while the bus is down the
    newest id this node dispatched (every later event still reaches the socket)."""
    try:
        return await hub.ctx.bus.last_id()
    except Exception:
        if hub.head is None:
            raise
        return hub.head


async def _read_loop(hub: Hub, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    while conn.close_request is None:
        text = await _receive_text(conn.websocket)
        conn.last_seen = loop.time()
        if text is None:
            _reply(conn, frames.error("binary_not_supported", "expected JSON text frames"))
            continue
        try:
            await _handle(hub, conn, frames.parse(text))
        except frames.FrameError as exc:
            _reply(conn, frames.error(exc.code, exc.message))
        except NotFound as exc:
            _reply(conn, frames.error("not_found", exc.message))


def _reply(conn: Connection, frame: str) -> None:
    """Direct answers go through the queue too: the pump is the socket's only writer."""
    conn.offer(None, frame)


async def _handle(hub: Hub, conn: Connection, frame: frames.ClientFrame) -> None:
    if isinstance(frame, frames.Ping):
        _reply(conn, frames.pong())
    elif isinstance(frame, frames.Hello):
        raise frames.FrameError("already_started", "hello was already received")
    elif isinstance(frame, frames.Presence):
        conn.presence = frame.status
        await hub.update_presence(conn)
    elif isinstance(frame, frames.Typing):
        await _typing(hub, conn, frame)
    elif isinstance(frame, frames.Viewing):
        await _viewing(hub, conn, frame.conversation_id)


async def _typing(hub: Hub, conn: Connection, frame: frames.Typing) -> None:
    inbox_id = await _conversation_inbox(hub, conn, frame.conversation_id)
    # A private note is for agents only: the event never reaches customer-facing audiences.
    await hub.publish_ephemeral(
        conn,
        EventType.TYPING,
        _who(conn)
        | {
            "conversation_id": frame.conversation_id,
            "inbox_id": inbox_id,
            "private": frame.private,
            "active": frame.active,
        },
        inbox_id=inbox_id,
        conversation_id=frame.conversation_id,
        audience="agents" if frame.private else "all",
    )


async def _viewing(hub: Hub, conn: Connection, conversation_id: int | None) -> None:
    target = None
    if conversation_id is not None:
        target = (conversation_id, await _conversation_inbox(hub, conn, conversation_id))
    if target == conn.viewing:
        return
    previous, conn.viewing = conn.viewing, target
    changes = [(previous, False)] if previous else []
    changes += [(target, True)] if target else []
    for (conv_id, inbox_id), active in changes:
        await hub.publish_ephemeral(
            conn,
            EventType.VIEWING,
            _who(conn) | {"conversation_id": conv_id, "inbox_id": inbox_id, "active": active},
            inbox_id=inbox_id,
            conversation_id=conv_id,
        )


async def _conversation_inbox(hub: Hub, conn: Connection, conversation_id: int) -> int:
    """The conversation's inbox, with the same access rule as REST (else NotFound)."""
    audience = conn.audience
    assert audience is not None
    cache = conn.conversation_inboxes
    if cache is None:
        cache = conn.conversation_inboxes = {}
    inbox_id = cache.get(conversation_id)
    if inbox_id is None:
        async with hub.ctx.db.read() as db:
            row = await conversation_for(db, conn.actor, conversation_id)
        inbox_id = int(row.inbox_id)
        if len(cache) >= CONVERSATION_CACHE:
            cache.clear()
        cache[conversation_id] = inbox_id
    if not audience.is_admin and inbox_id not in audience.inbox_ids:
        raise NotFound(f"conversation {conversation_id} not found")
    return inbox_id


def _who(conn: Connection) -> dict[str, Any]:
    return {"user_id": conn.actor.id, "name": conn.actor.name}


async def _finish(hub: Hub, conn: Connection) -> None:
    # A local reference: the pump clears ``conn.pump_task`` itself when it ends, which it
    # does while we wait for its close frame (a revoked socket), so re-reading the
    # attribute afterwards would find None and skip the clean-up below.
    task = conn.pump_task
    if task is not None and not task.done():
        if conn.close_request is not None:  # let the pump send its close frame
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), 2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    try:
        if conn.viewing is not None:
            await _viewing(hub, conn, None)
        await hub.update_presence(conn, leaving=True)
    except Exception:  # the bus may be down during shutdown; presence then expires
        log.warning("could not publish the departure of socket %s", conn.id, exc_info=True)


def routes() -> list[BaseRoute]:
    return [WebSocketRoute("/ws", agent_socket)]
