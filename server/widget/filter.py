"""Which bus events a visitor's socket may see, and in what shape.

Only events of the visitor's own conversations; of those only public messages (never
notes or activity lines) and typing by agents in the reply box (never in a private note).
"""

from __future__ import annotations

from typing import Any

from server.context import AppContext
from server.events.types import EventType, StreamEvent
from server.widget import history, shapes
from server.widget.sessions import Visitor

_MESSAGE_EVENTS = (EventType.MESSAGE_CREATED, EventType.MESSAGE_UPDATED)
_NEGATIVE_CACHE = 10_000  # other visitors' conversations remembered as "not mine"


class VisitorFilter:
    """Per visitor socket; its caches are allocated on first use (most sockets idle)."""

    __slots__ = ("_avatars", "_ctx", "_mine", "_others", "_visitor")

    def __init__(self, ctx: AppContext, visitor: Visitor) -> None:
        self._ctx, self._visitor = ctx, visitor
        self._mine: set[int] | None = None
        self._others: set[int] | None = None
        self._avatars: dict[int, str | None] = {}

    async def frame(self, item: StreamEvent) -> dict[str, Any] | None:
        event = item.event
        if event.inbox_id != self._visitor.inbox_id or event.conversation_id is None:
            return None
        if event.type not in _MESSAGE_EVENTS and event.type != EventType.TYPING:
            return None
        if not await self._owns(event.conversation_id):
            return None
        if event.type == EventType.TYPING:
            return _typing(event.payload, event.conversation_id)
        message = event.payload.get("message")
        if not isinstance(message, dict) or not shapes.is_public(message):
            return None
        await self._load_avatar(message)
        public = shapes.from_event(message, self._avatars)
        return {"type": "event", "id": item.id, "event": event.type, "message": public}

    async def _owns(self, conversation_id: int) -> bool:
        if self._mine and conversation_id in self._mine:
            return True
        if self._others and conversation_id in self._others:
            return False
        async with self._ctx.db.read() as conn:
            mine = await history.owns_conversation(conn, self._visitor, conversation_id)
        if mine:
            self._mine = self._mine or set()
            self._mine.add(conversation_id)
        else:
            if self._others is None or len(self._others) > _NEGATIVE_CACHE:
                self._others = set()
            self._others.add(conversation_id)
        return mine

    async def _load_avatar(self, message: dict[str, Any]) -> None:
        sender = message.get("sender_id")
        if message.get("sender_type") == "contact" or not sender or sender in self._avatars:
            return
        async with self._ctx.db.read() as conn:
            self._avatars.update(await history.avatars(conn, [sender]))


def _typing(payload: dict[str, Any], conversation_id: int) -> dict[str, Any] | None:
    """Agent typing reaches the visitor only when the agent says it is not a private note.

    The agent socket (server/realtime) publishes ``{"user_id", "name", "private", "active"}``.
    """
    if payload.get("sender_type") == "contact" or payload.get("private") is not False:
        return None
    name = payload.get("name")
    active = payload.get("active", payload.get("typing"))
    return {
        "type": "typing",
        "conversation_id": conversation_id,
        "typing": bool(active),
        "name": name if isinstance(name, str) else None,
    }
