"""Redis Streams bus: the shared event stream when several server processes run.

Why Streams (and not pub/sub plus a history list): one ``XADD`` both orders an event and
stores it, so the live feed and the replay history can never disagree. Pub/sub would need
a second structure for history, and a subscriber that reconnects would have a window in
which a message went to pub/sub but not yet to history, or the other way round.

Event ids ARE the Redis stream ids (``<ms>-<seq>``). Redis assigns them inside ``XADD``,
which Redis executes one at a time, so ids increase in exactly the order in which events
become readable: a reader that has seen id N can never later be handed an id below N. A
database sequence cannot promise that (server/realtime/PROTOCOL.md, "Why these ids"); this
can, across any number of app nodes, at no extra cost.

Three promises, each kept by Redis itself:

* **No duplicates after a crash.** A committed event that was published but not yet
  marked published is published again at the next start (``republish_pending``). The
  publish Lua script remembers ``db_id -> stream id`` (``SET`` with a TTL) in the same
  atomic step as the ``XADD``, so a second publish of the same row returns the first id
  and adds nothing.
* **Bounded history.** ``XADD ... MAXLEN ~ history`` trims the oldest entries (``~``
  lets Redis trim whole radix-tree nodes: cheap, and never below ``history``).
* **Explicit gaps, also at run time.** A Redis that restarts without its data (or with
  an older snapshot) loses events that some node may not have read yet. Every reader
  checks, after each reconnect and every ``CHECK_EVERY`` seconds, that the stream is the
  one it was reading (the ``since`` marker is unchanged) and did not lose entries past
  its cursor; if not, it yields a ``STREAM_RESET`` marker and the hub tells every socket
  to resync (PROTOCOL.md). The publish script recreates the marker in the same atomic
  step as the first ``XADD`` into a new stream, so no id of a new stream is below it.
* **Explicit gaps.** ``replay`` raises ResyncRequired when anything after the client's
  id was trimmed (below the first kept entry after a trim, or below
  ``max-deleted-entry-id``), when the id is from before this
  stream was created (Redis lost its data: the ``since`` marker is newer than the id),
  when it is ahead of the stream, or when it is not a stream id at all (for example an
  id handed out by the in-process bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError, ResponseError

from server.events.bus import STREAM_RESET, ResyncRequired
from server.events.types import Event, StreamEvent
from server.log_throttle import Throttle

log = logging.getLogger(__name__)
_throttled = Throttle(log)  # an outage fails every reader's every retry the same way

PREFIX = "{sb}"  # one hash tag: every key lives in the same slot on a Redis Cluster
STREAM = f"{PREFIX}:events"
SINCE = f"{PREFIX}:events:since"
REVOCATION_MARK = f"{PREFIX}:sessions:revoked"
DEDUPE_TTL = 7 * 86_400  # a week: far longer than any crash-to-restart gap
BLOCK_MS = 5_000  # XREAD BLOCK: long enough to be idle, short enough to notice close()
READ_COUNT = 500  # entries per XREAD: bounds one batch's memory while keeping up
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0)  # reader reconnect backoff: capped at 1 s, so
# live delivery resumes within a second of Redis coming back
CHECK_EVERY = 5.0  # seconds between a reader's checks that its stream was not reset
# The reader's socket timeout must outlast a BLOCK that returns empty: redis-py 8 defaults
# to 5 s, exactly BLOCK_MS, and every idle read then "timed out" into the retry backoff,
# holding back events for seconds (found by bench/ws_nodes.py).
READ_SOCKET_TIMEOUT = BLOCK_MS / 1000 + 10
# Commands share one pool. A burst (a reconnect storm's presence writes) waits for a free
# connection instead of failing with "Too many connections" (redis-py's default pool
# raises at 100), which used to kill the sockets of the storm.
POOL_SIZE = 50
POOL_WAIT = 20.0  # seconds a command waits for a pooled connection before it fails
# A pooled connection that died with Redis fails its next command ("Connection closed by
# server"); redis-py retries such a command on a fresh connection. Three tries within
# ~0.2 s hide a dead connection and a blip, and fail fast when Redis is really down.
COMMAND_RETRY = Retry(ExponentialBackoff(cap=0.1, base=0.02), 3)
COMMAND_TIMEOUT = 5.0  # seconds: a frozen Redis fails a command instead of hanging it
CONNECT_TIMEOUT = 2.0

# KEYS[1] = stream, KEYS[2] = since marker, KEYS[3..] = dedupe keys of the events that
# have a db_id (in order). ARGV[1] = maxlen, ARGV[2] = ttl, then per event: "1"/"0" (has a
# dedupe key), data. A stream without a since marker is new (Redis lost its data): the
# marker is set before the first XADD, from the same clock, so it is below every new id.
_PUBLISH = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] * 1000 + math.floor(now[2] / 1000) .. '-0', 'NX')
end
local ids = {}
local k = 3
for i = 3, #ARGV, 2 do
  local id = false
  local key = nil
  if ARGV[i] == '1' then
    key = KEYS[k]
    k = k + 1
    id = redis.call('GET', key)
  end
  if not id then
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 1])
    if key then redis.call('SET', key, id, 'NX', 'EX', ARGV[2]) end
  end
  ids[#ids + 1] = id
end
return ids
"""


def parse_stream_id(value: str) -> tuple[int, int] | None:
    """``"<ms>-<seq>"`` → (ms, seq); None for anything else."""
    ms, sep, seq = value.partition("-")
    if not sep or not (ms + seq).isascii() or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)


def _encode(event: Event) -> str:
    return json.dumps(
        {
            "t": event.type,
            "p": event.payload,
            "i": event.inbox_id,
            "c": event.conversation_id,
            "d": event.db_id,
            "a": event.audience,
            "x": event.extra,
        },
        separators=(",", ":"),
        default=str,
    )


def _decode(entry_id: Any, fields: Any) -> StreamEvent:
    raw = json.loads(fields[b"e"])
    event = Event(
        raw["t"],
        raw["p"],
        raw["i"],
        raw["c"],
        db_id=raw["d"],
        audience=raw["a"],
        extra=raw.get("x") or {},
    )
    return StreamEvent(text_of(entry_id), event)


def text_of(value: Any) -> str:
    """Redis replies are bytes (no decode_responses: payloads stay raw until parsed)."""
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisSubscription:
    """Reads the stream with ``XREAD BLOCK`` from a cursor on its own connection.

    The cursor is fixed when the reader starts (``ready()`` returns once it is), and the
    reader reconnects with backoff from the same cursor, so a Redis blip loses nothing.
    A Redis that came back without the entries past the cursor is noticed (``_verify``)
    and reported with a ``STREAM_RESET`` marker instead of passing over the gap.
    """

    def __init__(self, bus: RedisBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()
        self._ready = asyncio.Event()
        self._closing = False
        self._since: str | None = None  # the stream this reader reads (its since marker)
        self.cursor: str | None = None  # where reading began (set before ready() returns)
        self._client: aioredis.Redis = aioredis.from_url(
            bus.url, socket_timeout=READ_SOCKET_TIMEOUT
        )
        self._task = asyncio.get_running_loop().create_task(self._read(), name="redis-xread")

    async def ready(self) -> None:
        await self._ready.wait()

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._bus._subscriptions.discard(self)
        self._closing = True
        # redis-py may absorb a cancellation that lands inside a blocking read, so the
        # reader also gets its connection cut and a flag that ends its loop.
        self._task.cancel()
        with contextlib.suppress(RedisError, OSError):
            await self._client.connection_pool.disconnect()
        await asyncio.wait({self._task}, timeout=BLOCK_MS / 1000 + 1)
        self._queue.put_nowait(None)

    async def _read(self) -> None:
        client = self._client
        cursor: str | None = None
        failures = 0
        loop = asyncio.get_running_loop()
        checked = 0.0
        try:
            while not self._closing:
                try:
                    if cursor is None:
                        self._since = await self._bus.ensure_since()
                        cursor = self.cursor = await self._bus.last_id()
                        checked = loop.time()
                        self._ready.set()
                    elif failures or loop.time() - checked >= CHECK_EVERY:
                        cursor = await self._verify(cursor)
                        checked = loop.time()
                    cursor = await self._read_batch(client, cursor)
                    failures = 0
                except RedisError as exc:
                    if self._closing:
                        return
                    delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                    failures += 1
                    _throttled.warning("read", "redis stream read failed (%s); retrying", exc)
                    await asyncio.sleep(delay)
        finally:
            await client.aclose()

    async def _verify(self, cursor: str) -> str:
        """The cursor to read on from: the same one, or after a reset the new head."""
        reason = await self._bus.discontinuity(cursor, self._since)
        if reason is None:
            return cursor
        self._since = await self._bus.ensure_since()
        head = await self._bus.last_id()
        log.warning("%s: every socket is told to resync (new head %s)", reason, head)
        marker = Event(STREAM_RESET, {"reason": reason}, audience="internal")
        self._queue.put_nowait(StreamEvent(head, marker))
        return head

    async def _read_batch(self, client: aioredis.Redis, cursor: str) -> str:
        reply: Any = await client.xread({STREAM: cursor}, count=READ_COUNT, block=BLOCK_MS)
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                cursor = text_of(entry_id)
                try:
                    item = _decode(entry_id, fields)
                except (ValueError, KeyError, TypeError):  # not ours: skip, never stall
                    log.error("skipping malformed stream entry %s", cursor)
                    continue
                self._queue.put_nowait(item)
        return cursor


class RedisBus:
    def __init__(self, url: str, history: int = 100_000) -> None:
        self.url = url
        self.history = history
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=POOL_WAIT,
            retry=COMMAND_RETRY,
            socket_timeout=COMMAND_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
        )
        self._redis: aioredis.Redis = aioredis.Redis.from_pool(pool)  # closes the pool too
        self._publish = self._redis.register_script(_PUBLISH)
        self._subscriptions: set[RedisSubscription] = set()
        self._published_last = "0"  # the newest id this process published (see discontinuity)

    @property
    def redis(self) -> aioredis.Redis:
        """The shared command connection pool (presence uses it too)."""
        return self._redis

    async def start(self) -> None:
        await self._redis.ping()
        await self.ensure_since()

    async def ensure_since(self, *, renew: bool = False) -> str:
        """The stream's since marker, set now if the stream is new (Redis lost its data)
        or ``renew`` says its history can no longer be trusted.

        It marks when this stream began; an id below it is from a stream Redis lost.
        """
        seconds, micros = await self._redis.time()
        now = f"{int(seconds) * 1000 + int(micros) // 1000}-0"
        await self._redis.set(SINCE, now, nx=not renew)
        return text_of(await self._redis.get(SINCE))

    async def discontinuity(self, cursor: str, since: str | None) -> str | None:
        """Why a reader at ``cursor`` of the stream marked ``since`` may have missed
        events (None: it cannot have)."""
        now = await self._redis.get(SINCE)
        if now is None or text_of(now) != since:
            self._published_last = "0"  # an id of the old stream: meaningless in the new one
            if now is None:
                return "the event stream was lost (Redis restarted without its data)"
            return "the event stream was reset"
        published = self._published_last  # read before the stream: no publish overtakes it
        info = await self._stream_info()
        # What this node read last, and published last, must still be there (unless
        # trimmed): a Redis restored from an older snapshot lost them, and new entries
        # may already sit above them. Then resumes from the lost ids must fail too, on
        # every node: a new marker, which every reader notices within CHECK_EVERY.
        for mark in (cursor, published):
            position = parse_stream_id(mark or "0") or (0, 0)
            if position == (0, 0) or position < info["first"]:
                continue
            if position > info["last"] or not await self._redis.xrange(
                STREAM, min=mark, max=mark, count=1
            ):
                await self.ensure_since(renew=True)
                self._published_last = "0"
                return (
                    f"the event stream lost entries (Redis restarted from an older snapshot): "
                    f"{mark} is gone"
                )
        return None

    async def stop(self) -> None:
        for sub in list(self._subscriptions):
            await sub.close()
        await self._redis.aclose()

    async def publish(self, events: Sequence[Event]) -> list[str]:
        if not events:
            return []
        keys = [STREAM, SINCE] + [
            f"{PREFIX}:published:{e.db_id}" for e in events if e.db_id is not None
        ]
        argv: list[Any] = [self.history, DEDUPE_TTL]
        for event in events:
            argv += ["1" if event.db_id is not None else "0", _encode(event)]
        ids = [text_of(i) for i in await self._publish(keys=keys, args=argv)]
        newest = max(ids, key=lambda i: parse_stream_id(i) or (0, 0))
        if (parse_stream_id(newest) or (0, 0)) > (parse_stream_id(self._published_last) or (0, 0)):
            self._published_last = newest
        return ids

    def subscribe(self) -> RedisSubscription:
        sub = RedisSubscription(self)
        self._subscriptions.add(sub)
        return sub

    async def replay(self, after_id: str) -> list[StreamEvent]:
        await self._check_resumable(after_id)
        start = "-" if after_id == "0" else f"({after_id}"
        entries: Any = await self._redis.xrange(STREAM, min=start, max="+")
        return [_decode(entry_id, fields) for entry_id, fields in entries]

    async def last_id(self) -> str:
        newest = await self._redis.xrevrange(STREAM, count=1)
        return text_of(newest[0][0]) if newest else "0"

    async def revocation_mark(self) -> str | None:
        """Changes whenever a session is revoked on any node (server/realtime/
        session_cache.py). A random value, not a counter: a Redis that lost its data
        starts again from "no mark", which no cached entry was stamped with after a
        revocation, rather than from a count an old entry might match again."""
        value = await self._redis.get(REVOCATION_MARK)
        return None if value is None else text_of(value)

    async def mark_revocation(self) -> None:
        await self._redis.set(REVOCATION_MARK, secrets.token_hex(8))

    async def _check_resumable(self, after_id: str) -> None:
        if after_id == "0":
            position = (0, 0)
        elif (parsed := parse_stream_id(after_id)) is not None:
            position = parsed
        else:
            raise ResyncRequired(f"event id {after_id!r} is not from this event stream")
        info = await self._stream_info()
        since = parse_stream_id(text_of(await self._redis.get(SINCE) or b"0-0")) or (0, 0)
        if position != (0, 0) and position < since:
            raise ResyncRequired(f"event id {after_id!r} is from before this stream began")
        if position < info["deleted"] or (info["trimmed"] and position < info["first"]):
            raise ResyncRequired(f"event id {after_id!r} is older than the kept history")
        if position > info["last"]:
            raise ResyncRequired(f"event id {after_id!r} is ahead of the stream")

    async def _stream_info(self) -> dict[str, Any]:
        """Where the kept history starts and ends, and whether anything was removed.

        MAXLEN trimming does not move ``max-deleted-entry-id`` (only XDEL does), so a trim
        is recognised by ``entries-added > length``: then every id below the first kept
        entry may have lost successors. (A client whose id is exactly the last trimmed
        entry is told to resync although it missed nothing: safe, and rare.)
        """
        try:
            info = await self._redis.xinfo_stream(STREAM)
        except ResponseError:  # no stream yet: nothing was ever published
            return {"deleted": (0, 0), "last": (0, 0), "first": (0, 0), "trimmed": False}
        first = info.get("first-entry")
        return {
            "deleted": _position(info.get("max-deleted-entry-id")),
            "last": _position(info.get("last-generated-id")),
            "first": _position(first[0]) if first else (0, 0),
            "trimmed": int(info.get("entries-added", 0)) > int(info.get("length", 0)),
        }


def _position(value: Any) -> tuple[int, int]:
    return parse_stream_id(text_of(value or b"0-0")) or (0, 0)
