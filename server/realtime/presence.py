"""Who is online: per-connection presence entries that expire unless refreshed.

Each socket holds one entry (user, connection) → "online" | "away", refreshed by the hub's
heartbeat. A user's status is the best of their live entries (online > away > offline).
Entries expire after ``ttl`` seconds without a refresh, so when a node dies (``kill -9``,
lost host) its agents turn offline on every other node within one TTL; nobody has to
clean up after the dead node.

Two stores behind one small interface: Redis keys with ``EX`` (shared by every node) and an
in-process dict with expiry times (the single-process default, used with the memory bus).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

import redis.asyncio as aioredis

from server.events.redis_bus import PREFIX, text_of

OFFLINE = "offline"
_RANK = {"online": 2, "away": 1}


def aggregate(statuses: Iterable[str]) -> str:
    """A user's status from all their connections' statuses."""
    best = max(statuses, key=lambda s: _RANK.get(s, 0), default=OFFLINE)
    return best if best in _RANK else OFFLINE


class PresenceStore(Protocol):
    async def touch(self, user_id: int, conn_id: str, status: str, ttl: float) -> None:
        """Create or refresh a connection's entry."""
        ...

    async def drop(self, user_id: int, conn_id: str) -> None: ...

    async def user_status(self, user_id: int) -> str: ...

    async def snapshot(self) -> dict[int, str]:
        """Every user with a live entry → their status (offline users are absent)."""
        ...


class MemoryPresence:
    """Entries per user, with per-status counts so a user's status is O(1) to read (a
    reconnect storm of one user's many sockets must not cost O(n) per socket); expired
    entries are swept when the user's earliest expiry has passed."""

    def __init__(self) -> None:
        self._entries: dict[int, dict[str, tuple[str, float]]] = {}
        self._counts: dict[int, dict[str, int]] = {}
        self._earliest: dict[int, float] = {}

    async def touch(self, user_id: int, conn_id: str, status: str, ttl: float) -> None:
        expires = time.monotonic() + ttl
        conns = self._entries.setdefault(user_id, {})
        counts = self._counts.setdefault(user_id, {})
        old = conns.get(conn_id)
        if old is not None:
            counts[old[0]] -= 1
        conns[conn_id] = (status, expires)
        counts[status] = counts.get(status, 0) + 1
        self._earliest[user_id] = min(self._earliest.get(user_id, expires), expires)

    async def drop(self, user_id: int, conn_id: str) -> None:
        old = self._entries.get(user_id, {}).pop(conn_id, None)
        if old is not None:
            self._counts[user_id][old[0]] -= 1

    async def user_status(self, user_id: int) -> str:
        now = time.monotonic()
        conns = self._entries.get(user_id)
        if conns and self._earliest.get(user_id, now) <= now:
            counts = self._counts[user_id]
            for conn_id in [c for c, (_s, expires) in conns.items() if expires <= now]:
                counts[conns.pop(conn_id)[0]] -= 1
            if conns:
                self._earliest[user_id] = min(expires for _s, expires in conns.values())
        if not conns:
            self._entries.pop(user_id, None)
            self._counts.pop(user_id, None)
            self._earliest.pop(user_id, None)
            return OFFLINE
        counts = self._counts[user_id]
        return aggregate(status for status, n in counts.items() if n > 0)

    async def snapshot(self) -> dict[int, str]:
        result = {}
        for user_id in list(self._entries):
            status = await self.user_status(user_id)
            if status != OFFLINE:
                result[user_id] = status
        return result


class RedisPresence:
    """``{sb}:presence:<user>:<conn>`` = status with EX ttl; sets index users and conns."""

    USERS = f"{PREFIX}:presence:users"

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    @staticmethod
    def _key(user_id: int, conn_id: str) -> str:
        return f"{PREFIX}:presence:{user_id}:{conn_id}"

    @staticmethod
    def _conns(user_id: int) -> str:
        return f"{PREFIX}:presence:conns:{user_id}"

    async def touch(self, user_id: int, conn_id: str, status: str, ttl: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(user_id, conn_id), status, px=int(ttl * 1000))
            pipe.sadd(self._conns(user_id), conn_id)
            pipe.sadd(self.USERS, str(user_id))
            await pipe.execute()

    async def drop(self, user_id: int, conn_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(user_id, conn_id))
            pipe.srem(self._conns(user_id), conn_id)
            await pipe.execute()

    async def user_status(self, user_id: int) -> str:
        conns = [text_of(c) for c in await self._redis.smembers(self._conns(user_id))]
        if not conns:
            await self._redis.srem(self.USERS, str(user_id))
            return OFFLINE
        values = await self._redis.mget([self._key(user_id, c) for c in conns])
        expired = [c for c, v in zip(conns, values, strict=True) if v is None]
        if expired:  # the entry's key expired: its node stopped refreshing it
            await self._redis.srem(self._conns(user_id), *expired)
        return aggregate(text_of(v) for v in values if v is not None)

    async def snapshot(self) -> dict[int, str]:
        result = {}
        for raw in await self._redis.smembers(self.USERS):
            user_id = int(raw)
            status = await self.user_status(user_id)
            if status != OFFLINE:
                result[user_id] = status
        return result
