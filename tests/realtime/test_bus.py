"""One behavioural suite for the Bus contract, run against MemoryBus and RedisBus.

RedisBus runs against a real redis-server (the session's ``redis_server`` fixture),
flushed before each test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.events.bus import Bus, ResyncRequired, Subscription
from server.events.memory_bus import MemoryBus
from server.events.redis_bus import RedisBus
from server.events.types import Event, EventType, StreamEvent
from server.realtime.client_queue import position


def make_bus(kind: str, request: pytest.FixtureRequest, history: int) -> Any:
    if kind == "memory":
        return MemoryBus(history=history)
    redis = request.getfixturevalue("redis_server")
    redis.flush()
    return RedisBus(redis.url, history=history)


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    bus = make_bus(request.param, request, history=100_000)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


@pytest.fixture(params=["memory", "redis"])
def bus_factory(request: pytest.FixtureRequest) -> Any:
    return lambda history: make_bus(request.param, request, history)


def ev(n: int, db_id: int | None = None, type: str = EventType.MESSAGE_CREATED) -> Event:
    return Event(type, {"n": n}, inbox_id=1, conversation_id=n, db_id=db_id)


async def subscribed(bus: Bus) -> Subscription:
    sub = bus.subscribe()
    ready = getattr(sub, "ready", None)
    if ready is not None:
        await ready()
    return sub


async def take(sub: Subscription, count: int, timeout: float = 10) -> list[StreamEvent]:
    got: list[StreamEvent] = []

    async def collect() -> None:
        async for item in sub:
            got.append(item)
            if len(got) == count:
                return

    await asyncio.wait_for(collect(), timeout=timeout)
    return got


async def test_publish_returns_increasing_ids_and_subscribers_get_every_event(bus: Bus) -> None:
    assert await bus.last_id() == "0"
    first, second = await subscribed(bus), await subscribed(bus)
    ids = await bus.publish([ev(1), ev(2)]) + await bus.publish([ev(3)])
    assert len(set(ids)) == 3 and sorted(ids, key=position) == ids
    for sub in (first, second):
        got = await take(sub, 3)
        assert [g.id for g in got] == ids
        assert [g.event.payload["n"] for g in got] == [1, 2, 3]
        assert got[0].event.inbox_id == 1 and got[0].event.conversation_id == 1
    assert await bus.last_id() == ids[-1]
    await first.close()
    await second.close()


async def test_replay_returns_exactly_the_events_after_an_id(bus: Bus) -> None:
    ids = await bus.publish([ev(n) for n in range(1, 6)])
    assert [e.id for e in await bus.replay(ids[1])] == ids[2:]
    assert await bus.replay(ids[-1]) == []
    assert [e.event.payload["n"] for e in await bus.replay("0")] == [1, 2, 3, 4, 5]


async def test_events_keep_their_fields_through_the_bus(bus: Bus) -> None:
    event = Event(
        EventType.TYPING,
        {"user_id": 7, "private": True},
        inbox_id=3,
        conversation_id=9,
        audience="agents",
        extra={"origin": "abc"},
    )
    [event_id] = await bus.publish([event])
    [replayed] = await bus.replay("0")
    assert replayed.id == event_id
    assert replayed.event == event


async def test_replay_of_an_unknown_or_foreign_id_requires_resync(bus: Bus) -> None:
    await bus.publish([ev(1)])
    for foreign in ("nonsense", "deadbeef-1", "99999999999999-0"):
        with pytest.raises(ResyncRequired):
            await bus.replay(foreign)


async def test_trimmed_history_requires_resync(bus_factory: Any) -> None:
    bus = bus_factory(10)
    await bus.start()
    try:
        ids = await bus.publish([ev(1)])
        for n in range(2, 400):  # well past the ~ trimming granularity of Redis
            ids += await bus.publish([ev(n)])
        with pytest.raises(ResyncRequired):
            await bus.replay(ids[0])
        with pytest.raises(ResyncRequired):
            await bus.replay("0")
        recent = await bus.replay(ids[-3])
        assert [e.id for e in recent] == ids[-2:]
    finally:
        await bus.stop()


async def test_republishing_a_committed_event_does_not_duplicate_it(redis_server: Any) -> None:
    """After a crash between publish and marking, republish_pending publishes again.

    Redis only: the memory bus never outlives its process, so nothing is republished to it.
    """
    redis_server.flush()
    bus = RedisBus(redis_server.url)
    await bus.start()
    try:
        first = await bus.publish([ev(1, db_id=41), ev(2, db_id=42)])
        again = await bus.publish([ev(1, db_id=41), ev(3, db_id=43), ev(2, db_id=42)])
        assert again[0] == first[0] and again[2] == first[1]
        assert [e.event.db_id for e in await bus.replay("0")] == [41, 42, 43]
    finally:
        await bus.stop()


async def test_concurrent_publishers_are_seen_in_one_order_by_every_subscriber(bus: Bus) -> None:
    subs = [await subscribed(bus) for _ in range(3)]
    batches = await asyncio.gather(
        *(bus.publish([ev(n * 10 + k) for k in range(3)]) for n in range(20))
    )
    ids = sorted((i for batch in batches for i in batch), key=position)
    assert len(set(ids)) == 60
    for sub in subs:
        assert [g.id for g in await take(sub, 60)] == ids
        await sub.close()
    assert [e.id for e in await bus.replay("0")] == ids


async def test_an_idle_subscriber_gets_the_next_event_at_once(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    """Idle longer than one blocking read (Redis: XREAD BLOCK 5 s), then an event: it
    arrives promptly and the reader never went through its failure backoff."""
    sub = await subscribed(bus)
    try:
        await asyncio.sleep(6.5)
        [event_id] = await bus.publish([ev(1)])
        started = asyncio.get_running_loop().time()
        [got] = await take(sub, 1)
        assert got.id == event_id
        # Generous: the backoff this guards against held events back for whole seconds.
        assert asyncio.get_running_loop().time() - started < 1.0
        assert "stream read failed" not in caplog.text
    finally:
        await sub.close()


async def test_a_burst_of_commands_waits_for_the_pool_instead_of_failing(
    bus: Bus,
) -> None:
    """500 concurrent presence-sized writes (a reconnect storm) all succeed."""
    results = await asyncio.gather(*(bus.publish([ev(n)]) for n in range(500)))
    assert len({ids[0] for ids in results}) == 500


@pytest.fixture
def own_redis() -> Any:
    """A redis-server of this test's own: it gets killed (the session's must not be)."""
    from tests.support.services import RedisServer

    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def kill_and_restart(redis: Any) -> None:
    """SIGKILL, then a new redis-server on the same port: every connection died and the
    data is gone (persistence is off), exactly what a crashed Redis looks like."""
    import os
    import signal

    os.kill(redis.pid, signal.SIGKILL)
    redis.stop()  # reaps it (SIGKILL is not instant), keeping the port
    redis.start()


async def test_pooled_connections_that_died_with_redis_are_retried(own_redis: Any) -> None:
    bus = RedisBus(own_redis.url)
    await bus.start()
    try:
        await asyncio.gather(*(bus.publish([ev(n)]) for n in range(10)))  # fill the pool
        kill_and_restart(own_redis)
        for n in range(10):  # each would meet a dead pooled connection first
            assert len(await bus.publish([ev(n)])) == 1
        assert len(await bus.replay("0")) == 10
    finally:
        await bus.stop()


async def test_a_subscriber_reports_a_stream_lost_in_a_restart(own_redis: Any) -> None:
    """Events a node had not read when Redis died are gone: the reader says so with a
    STREAM_RESET marker (its id: where reading goes on) instead of passing the gap."""
    from server.events.bus import STREAM_RESET

    bus = RedisBus(own_redis.url)
    await bus.start()
    sub = await subscribed(bus)
    try:
        [before] = await bus.publish([ev(1)])
        assert [g.id for g in await take(sub, 1)] == [before]
        kill_and_restart(own_redis)
        await eventually_published(bus, ev(2))  # lands in the new stream, maybe unseen
        [reset] = await take(sub, 1)
        assert reset.event.type == STREAM_RESET and reset.event.audience == "internal"
        [after] = await bus.publish([ev(3)])
        assert [g.id for g in await take(sub, 1)] == [after]  # read on from the new head
        with pytest.raises(ResyncRequired):  # a resume from the old stream cannot be proven
            await bus.replay(before)
    finally:
        await sub.close()
        await bus.stop()


async def test_a_subscriber_reports_newest_entries_lost(own_redis: Any) -> None:
    """A stream that came back shorter than what a reader already read (a Redis restored
    from an older snapshot) is a reset too; here the stream is cut by hand."""
    from server.events.bus import STREAM_RESET
    from server.events.redis_bus import STREAM

    bus = RedisBus(own_redis.url)
    await bus.start()
    sub = await subscribed(bus)
    try:
        ids = await bus.publish([ev(1), ev(2)])
        await take(sub, 2)
        await bus.redis.delete(STREAM)  # the reader's cursor is now past the stream
        [reset] = await take(sub, 1, timeout=30)  # noticed by the periodic check
        assert reset.event.type == STREAM_RESET
        with pytest.raises(ResyncRequired):
            await bus.replay(ids[0])
    finally:
        await sub.close()
        await bus.stop()


async def eventually_published(bus: RedisBus, event: Event) -> str:
    for _ in range(100):
        try:
            [event_id] = await bus.publish([event])
            return event_id
        except Exception:
            await asyncio.sleep(0.05)
    raise AssertionError("Redis did not come back")


async def test_a_subscriber_reports_entries_lost_below_newer_ones(own_redis: Any) -> None:
    """A Redis restored from an older snapshot lost what this node read (or published)
    last, and new entries may already be above it: still a reset. The lost entry is cut
    by hand (XDEL) and a newer one added, so the stream's head is past the reader."""
    from server.events.bus import STREAM_RESET
    from server.events.redis_bus import STREAM

    bus = RedisBus(own_redis.url)
    await bus.start()
    sub = await subscribed(bus)
    try:
        ids = await bus.publish([ev(1), ev(2)])
        await take(sub, 2)
        await bus.redis.xdel(STREAM, ids[1])
        other = RedisBus(own_redis.url)  # another node publishes on
        await other.start()
        [newer] = await other.publish([ev(3)])
        await other.stop()
        got = await take(sub, 2, timeout=30)  # the newer entry, then the periodic check
        assert [g.id for g in got][:1] == [newer]
        assert got[1].event.type == STREAM_RESET
        with pytest.raises(ResyncRequired):
            await bus.replay(ids[0])
    finally:
        await sub.close()
        await bus.stop()


async def test_publishing_while_a_reader_checks_the_stream_is_no_loss(redis_server: Any) -> None:
    """The run-time check must not mistake this node's own newest publish (answered after
    the check looked at the stream) for a lost entry: that resynced every socket for
    nothing (found by the chaos suite)."""
    redis_server.flush()
    bus = RedisBus(redis_server.url)
    await bus.start()
    stop = asyncio.Event()

    async def publish() -> None:
        while not stop.is_set():
            await bus.publish([ev(1)])

    publishers = [asyncio.create_task(publish()) for _ in range(4)]
    try:
        since = await bus.ensure_since()
        for _ in range(200):
            assert await bus.discontinuity("0", since) is None
    finally:
        stop.set()
        await asyncio.gather(*publishers)
        await bus.stop()
