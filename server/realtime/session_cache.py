"""Per-node cache of socket sessions: token → (agent, expiry), for the ``/ws`` handshake.

A reconnect storm opens the sockets of the same few sessions again and again; reading
each token from the database again cost a quarter of a socket's set-up. Here a token is
read once per node and then answered from memory, while revocation stays immediate on
every node (docs/accounts.md: a revoked session opens no socket anywhere):

* Every revocation (logout, password change or reset, deactivation, a revoked token,
  sessions ended by the two-factor rule) goes through ``Hub.revoke``, which changes the
  bus's *revocation mark* (a random value in Redis, shared by every node; a variable for
  the in-process bus) before the revoking request answers.
* Each entry is stamped with the mark read *before* its database read. A hit is used only
  while the mark is still the same, so a revocation made anywhere is seen by the next
  handshake on every node without waiting for the bus to deliver anything; afterwards
  each token is read from the database once more and stamped anew. The read-before
  order means an entry can never carry a newer mark than the data it holds.
* The ``session.revoked`` bus event also drops the matching entries at once (memory),
  and ``agent.updated`` drops the agent's entries (a changed name or role is re-read).
* An entry also lapses after ``ttl`` seconds (the hub's token re-check period) and at
  the token's own expiry; if the mark cannot be read (the bus is down), the database is
  asked as before.

Only the socket handshake uses this; REST requests read the token every time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from server.actors import Actor
from server.api.auth import session_for_token
from server.context import AppContext
from server.crypto import token_hash
from server.events.bus import STREAM_RESET
from server.events.types import EventType, StreamEvent
from server.realtime.client_queue import SESSION_REVOKED
from server.storage.schema import utcnow

MAX_ENTRIES = 50_000  # tokens kept per node; cleared wholesale when full


class _Entry:
    __slots__ = ("actor", "expires_at", "mark", "stale_after")

    def __init__(self, actor: Actor, expires_at: datetime | None, mark: Any, stale: float):
        self.actor, self.expires_at, self.mark, self.stale_after = actor, expires_at, mark, stale


class SessionCache:
    def __init__(self, ctx: AppContext, ttl: float) -> None:
        self.ctx = ctx
        self.ttl = ttl
        self._entries: dict[str, _Entry] = {}
        self._flights: dict[tuple[str, Any], asyncio.Future[Actor | None]] = {}
        self.hits = 0
        self.misses = 0

    async def _mark(self) -> tuple[bool, Any]:
        read = getattr(self.ctx.bus, "revocation_mark", None)
        if read is None:
            return False, None
        try:
            return True, await read()
        except Exception:  # the bus is down: trust only the database
            return False, None

    async def actor_for(self, token: str) -> Actor | None:
        key = token_hash(token)
        known, mark = await self._mark()
        entry = self._entries.get(key)
        if (
            known
            and entry is not None
            and entry.mark == mark
            and entry.stale_after > time.monotonic()
            and (entry.expires_at is None or entry.expires_at > utcnow())
        ):
            self.hits += 1
            return entry.actor
        if not known:
            found = await session_for_token(self.ctx, token)
            return found[0] if found else None
        # One database read per token and mark, however many sockets of the session
        # arrive at once (a storm): the others wait for it.
        flight = self._flights.get((key, mark))
        if flight is None:
            self.misses += 1
            flight = asyncio.ensure_future(self._fill(key, token, mark))
            self._flights[(key, mark)] = flight
            flight.add_done_callback(lambda f: self._landed(key, mark, f))
        return await asyncio.shield(flight)

    def _landed(self, key: str, mark: Any, flight: asyncio.Future[Actor | None]) -> None:
        self._flights.pop((key, mark), None)
        if not flight.cancelled():
            flight.exception()  # retrieved: every waiter got it already

    async def _fill(self, key: str, token: str, mark: Any) -> Actor | None:
        found = await session_for_token(self.ctx, token)
        if found is None:
            self._entries.pop(key, None)
            return None
        actor, expires_at = found
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = _Entry(actor, expires_at, mark, time.monotonic() + self.ttl)
        return actor

    async def revoked(self, **which: Any) -> None:
        """A revocation was committed: every node's entries stop being trusted now."""
        self.forget(**which)
        mark = getattr(self.ctx.bus, "mark_revocation", None)
        if mark is not None:
            await mark()

    def follow(self, item: StreamEvent) -> None:
        """Called by the hub for every dispatched event."""
        event = item.event
        if event.type == SESSION_REVOKED:
            p = event.payload
            self.forget(
                token_id=p.get("token_id"),
                user_id=p.get("user_id"),
                keep_token_id=p.get("keep_token_id"),
            )
        elif event.type == EventType.AGENT_UPDATED:
            user = event.payload.get("user")
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                self.forget(user_id=user["id"])
        elif event.type == STREAM_RESET:
            self.clear()

    def forget(
        self,
        *,
        token_id: Any = None,
        user_id: Any = None,
        keep_token_id: Any = None,
    ) -> None:
        """Drop the entries of a revoked token or of a user's tokens (but ``keep_token_id``)."""
        if token_id is None and user_id is None:
            return
        for key, entry in list(self._entries.items()):
            actor = entry.actor
            if keep_token_id is not None and actor.token_id == keep_token_id:
                continue
            if (token_id is not None and actor.token_id == token_id) or (
                user_id is not None and actor.id == user_id
            ):
                del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
