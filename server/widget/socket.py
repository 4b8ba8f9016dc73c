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
import json
import logging
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.context import AppContext
from server.events.bus import ResyncRequired
from server.exceptions import RateLimited, SwitchboardError
from server.widget import actions, history, sessions
from server.widget.fanout import VisitorFanout, VisitorSink
from server.widget.filter import VisitorFilter
from server.widget.gate import (
    check_origin,
    checked_visitor,
    inbox_by_key,
    limits,
    require_verified,
)

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 10.0  # a socket that never says hello holds a slot for nothing
POLICY_VIOLATION = 1008


async def widget_socket(ws: WebSocket) -> None:
    admitted = await _admit(ws)
    if admitted is not None:
        await _serve(ws, ws.app.state.ctx, *admitted)


async def _admit(ws: WebSocket) -> tuple[sessions.Visitor, Any] | None:
    """Origin, hello and token checks: (visitor, last event id), or None once refused.

    Its own frame, so the inbox row and hello frame it reads are freed when it returns
    rather than held for the socket's lifetime (idle sockets per GiB is a target).
    """
    ctx: AppContext = ws.app.state.ctx
    try:
        inbox = await inbox_by_key(ctx, ws.query_params.get("key", ""))
        check_origin(inbox, ws.headers.get("origin"))
    except SwitchboardError as exc:
        await ws.close(POLICY_VIOLATION, exc.message[:120])
        return None
    await ws.accept()
    try:
        hello = await asyncio.wait_for(ws.receive_json(), HELLO_TIMEOUT)
        visitor = await checked_visitor(ctx, inbox.id, str(hello.get("token", "")), ws)
        require_verified(inbox, visitor)
    except (TimeoutError, ValueError, AttributeError, SwitchboardError) as exc:
        reason = exc.message if isinstance(exc, SwitchboardError) else "expected a hello frame"
        await _send(ws, {"type": "error", "message": reason})
        await ws.close(POLICY_VIOLATION, reason[:120])
        return None
    except WebSocketDisconnect:
        return None
    await sessions.touch(ctx, visitor)
    return visitor, hello.get("last_event_id")


async def _serve(ws: WebSocket, ctx: AppContext, visitor: sessions.Visitor, after: Any) -> None:
    """Register first, replay, then go live; this coroutine is the socket's reader."""
    fanout: VisitorFanout = ws.app.state.widget_fanout
    filt = VisitorFilter(ctx, visitor)
    sink = VisitorSink(ws, filt, fanout.limit)
    fanout.register(visitor.inbox_id, sink)  # FIRST: nothing published from here is missed
    try:
        sink.go_live(await _replay(ws, ctx, filt, after))
        await _read(ws, ctx, visitor)  # until the client leaves or the sink closes us
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-replay
    finally:
        fanout.unregister(visitor.inbox_id, sink)
        await sink.stop()
        await sink.close_socket(sink.close_code or 1000)


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


async def _read(ws: WebSocket, ctx: AppContext, visitor: sessions.Visitor) -> None:
    while True:
        try:
            frame = json.loads(await ws.receive_text())
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
            await _send(ws, {"type": "error", "message": "frames must be JSON objects"})
            continue
        except WebSocketDisconnect:
            return
        if not isinstance(frame, dict):
            continue
        try:
            await _handle(ws, ctx, visitor, frame)
        except RateLimited:
            continue
        except SwitchboardError as exc:
            await _send(ws, {"type": "error", "message": exc.message})


async def _handle(
    ws: WebSocket,
    ctx: AppContext,
    visitor: sessions.Visitor,
    frame: dict[str, Any],
) -> None:
    kind = frame.get("type")
    lim = limits(ctx)
    lim.frames_per_socket.check(f"s{visitor.session_id}:{id(ws)}")
    if kind == "ping":
        await _send(ws, {"type": "pong"})
    elif kind == "typing":
        lim.typing_per_session.check(str(visitor.session_id))
        async with ctx.db.read() as conn:
            conversation_id = await history.latest_conversation_id(conn, visitor)
        if conversation_id is not None:
            await actions.publish_typing(ctx, visitor, conversation_id, bool(frame.get("typing")))
    elif kind == "seen":
        mid = frame.get("message_id")
        if type(mid) is not int or not 0 < mid < 2**63:  # a BIGINT id, or the database refuses
            await _send(ws, {"type": "error", "message": "seen: expected a message_id"})
            return
        lim.seen_per_visitor.check(f"v{visitor.session_id}")
        await actions.mark_seen(ctx, visitor, mid)
    else:
        await _send(ws, {"type": "error", "message": f"unknown frame type {kind!r}"})


async def _send(ws: WebSocket, frame: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(frame, default=str))


def routes() -> list[BaseRoute]:
    return [WebSocketRoute("/widget/ws", widget_socket)]


__all__ = ["routes"]
