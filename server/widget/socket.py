"""The visitor WebSocket at /widget/ws?key=<inbox public key>.

Protocol (JSON text frames)::

    → {"type": "hello", "token": "<visitor token>", "last_event_id": "<id>" | null}
    ← {"type": "ready", "last_event_id": "<id>"}      (after the replay, if any)
    ← {"type": "resync_required"}                     (refetch history over REST)
    ← {"type": "event", "id": "<id>", "event": "message.created"|"message.updated",
       "message": {public message}}
    ← {"type": "typing", "conversation_id": n, "typing": bool, "name": str | null}
    → {"type": "typing", "typing": bool}
    → {"type": "seen", "message_id": n}
    → {"type": "ping"}  ←  {"type": "pong"}

Resume without gaps: register with the process's fan-out (its bus subscription is already
live) first, then replay after the client's last id, then stream live events, dropping those
the replay already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.api.auth import RateLimiter
from server.context import AppContext
from server.events.bus import ResyncRequired
from server.exceptions import RateLimited, SwitchboardError
from server.widget import actions, history, sessions
from server.widget.fanout import Item, VisitorFanout
from server.widget.filter import VisitorFilter
from server.widget.gate import check_origin, inbox_by_key, require_verified

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 10.0  # a socket that never says hello holds a slot for nothing
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013  # a visitor that fell behind: reconnect and resume from its last id


async def widget_socket(ws: WebSocket) -> None:
    ctx: AppContext = ws.app.state.ctx
    try:
        inbox = await inbox_by_key(ctx, ws.query_params.get("key", ""))
        check_origin(inbox, ws.headers.get("origin"))
    except SwitchboardError as exc:
        await ws.close(POLICY_VIOLATION, exc.message[:120])
        return
    await ws.accept()
    try:
        hello = await asyncio.wait_for(ws.receive_json(), HELLO_TIMEOUT)
        visitor = await sessions.visitor_for_token(ctx, inbox.id, str(hello.get("token", "")))
        require_verified(inbox, visitor)
    except (TimeoutError, ValueError, AttributeError, SwitchboardError) as exc:
        reason = exc.message if isinstance(exc, SwitchboardError) else "expected a hello frame"
        await _send(ws, {"type": "error", "message": reason})
        await ws.close(POLICY_VIOLATION, reason[:120])
        return
    except WebSocketDisconnect:
        return
    await sessions.touch(ctx, visitor)
    await _serve(ws, ctx, visitor, hello.get("last_event_id"))


async def _serve(ws: WebSocket, ctx: AppContext, visitor: sessions.Visitor, after: Any) -> None:
    fanout: VisitorFanout = ws.app.state.widget_fanout
    queue = fanout.register(visitor.inbox_id)  # FIRST: nothing published from here is missed
    filt = VisitorFilter(ctx, visitor)
    tasks: list[asyncio.Task[None]] = []
    try:
        seen = await _replay(ws, ctx, filt, after)
        tasks = [
            asyncio.create_task(_pump(ws, queue, filt, seen)),
            asyncio.create_task(_read(ws, ctx, visitor)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-replay
    finally:
        fanout.unregister(visitor.inbox_id, queue)
        behind = bool(tasks) and tasks[0].done()  # the pump ends only when we fell behind
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(RuntimeError):
            await ws.close(TRY_AGAIN_LATER if behind else 1000)


async def _replay(ws: WebSocket, ctx: AppContext, filt: VisitorFilter, after: Any) -> set[str]:
    sent: set[str] = set()
    last = await ctx.bus.last_id()
    if isinstance(after, str) and after:
        try:
            backlog = await ctx.bus.replay(after)
        except ResyncRequired:
            await _send(ws, {"type": "resync_required"})
            backlog = []
        for item in backlog:
            sent.add(item.id)
            last = item.id
            frame = await filt.frame(item)
            if frame is not None:
                await _send(ws, frame)
    await _send(ws, {"type": "ready", "last_event_id": last})
    return sent


async def _pump(
    ws: WebSocket, queue: asyncio.Queue[Item], filt: VisitorFilter, seen: set[str]
) -> None:
    """Returns (and the socket closes with 1013) when the fan-out says we fell behind."""
    while (item := await queue.get()) is not None:
        if item.id in seen:
            seen.discard(item.id)  # the replay delivered it already; each id comes once
            continue
        frame = await filt.frame(item)
        if frame is not None:
            await _send(ws, frame)


async def _read(ws: WebSocket, ctx: AppContext, visitor: sessions.Visitor) -> None:
    typing_limit = RateLimiter(limit=20, window=10.0)  # a keypress storm is not 20 events/s
    while True:
        try:
            frame = json.loads(await ws.receive_text())
        except ValueError:
            await _send(ws, {"type": "error", "message": "frames must be JSON objects"})
            continue
        except WebSocketDisconnect:
            return
        if not isinstance(frame, dict):
            continue
        try:
            await _handle(ws, ctx, visitor, frame, typing_limit)
        except RateLimited:
            continue
        except SwitchboardError as exc:
            await _send(ws, {"type": "error", "message": exc.message})


async def _handle(
    ws: WebSocket,
    ctx: AppContext,
    visitor: sessions.Visitor,
    frame: dict[str, Any],
    typing_limit: RateLimiter,
) -> None:
    kind = frame.get("type")
    if kind == "ping":
        await _send(ws, {"type": "pong"})
    elif kind == "typing":
        typing_limit.check("t")
        async with ctx.db.read() as conn:
            conversation_id = await history.latest_conversation_id(conn, visitor)
        if conversation_id is not None:
            await actions.publish_typing(ctx, visitor, conversation_id, bool(frame.get("typing")))
    elif kind == "seen" and isinstance(frame.get("message_id"), int):
        await actions.mark_seen(ctx, visitor, frame["message_id"])
    else:
        await _send(ws, {"type": "error", "message": f"unknown frame type {kind!r}"})


async def _send(ws: WebSocket, frame: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(frame, default=str))


def routes() -> list[BaseRoute]:
    return [WebSocketRoute("/widget/ws", widget_socket)]


__all__ = ["routes"]
