"""Per-node cache of access views: agent → (role, inbox ids it sees), for socket start.

Every socket of an agent needs the same view (``visible_inbox_ids``, identical to REST);
a reconnect storm used to read it from the database once per socket. It is read once per
agent per node here, and dropped when an event that may change it is dispatched by the
hub: ``inbox.updated`` (membership: anyone's view), ``agent.updated`` (that agent's role
or membership) and ``stream.reset`` (events may be lost: everything).

Why a cached view is as good as a fresh read: the socket asks only once it is registered
with the hub (socket.py), so every event dispatched from then on reaches it and is
applied to its ``Audience`` in stream order. A cached view holds every change whose event
was dispatched before it was read, and nothing was dispatched since that could change it
(that would have dropped it; a read that overlapped such a dispatch is not kept: the
generation check). So the view plus the events the socket hears is exactly what a read at
registration would give, like before.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from server.actions.access import visible_inbox_ids
from server.actors import Actor
from server.api.auth import current_role
from server.context import AppContext
from server.events.bus import STREAM_RESET
from server.events.types import EventType, StreamEvent

MAX_VIEWS = 50_000  # agents kept per node; cleared wholesale when full

View = tuple[str, frozenset[int] | None]  # role, visible inbox ids (None: all)


class AccessViews:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._views: dict[int, View] = {}
        self._flights: dict[int, asyncio.Future[View]] = {}
        self._generation = 0
        self.reads = 0

    async def view(self, actor: Actor) -> tuple[Actor, set[int] | None]:
        """The actor with its current role, and the inbox ids it sees (None: all)."""
        cached = self._views.get(actor.id)
        if cached is None:
            flight = self._flights.get(actor.id)
            if flight is None:
                flight = asyncio.ensure_future(self._read(actor))
                self._flights[actor.id] = flight
                flight.add_done_callback(lambda f: self._landed(actor.id, f))
            cached = await asyncio.shield(flight)
        role, visible = cached
        actor = actor if role == actor.role else replace(actor, role=role)
        return actor, None if visible is None else set(visible)

    def _landed(self, user_id: int, flight: asyncio.Future[View]) -> None:
        if self._flights.get(user_id) is flight:
            del self._flights[user_id]
        if not flight.cancelled():
            flight.exception()  # retrieved: every waiter got it already

    async def _read(self, actor: Actor) -> View:
        generation = self._generation
        self.reads += 1
        async with self.ctx.db.read() as db:
            actor = await current_role(db, actor)
            visible = await visible_inbox_ids(db, actor)
        view = (actor.role, None if visible is None else frozenset(visible))
        if generation == self._generation:
            if len(self._views) >= MAX_VIEWS:
                self._views.clear()
            self._views[actor.id] = view
        return view

    def follow(self, item: StreamEvent) -> None:
        """Called by the hub for every dispatched event, before any socket gets it."""
        kind = item.event.type
        if kind == EventType.AGENT_UPDATED:
            user = item.event.payload.get("user")
            user_id = user.get("id") if isinstance(user, dict) else None
            self.forget(user_id if isinstance(user_id, int) else None)
        elif kind in (EventType.INBOX_UPDATED, STREAM_RESET):
            self.forget(None)

    def forget(self, user_id: int | None) -> None:
        self._generation += 1
        if user_id is None:
            self._views.clear()
            self._flights.clear()  # reads in flight began before the change: join none
        else:
            self._views.pop(user_id, None)
            self._flights.pop(user_id, None)
