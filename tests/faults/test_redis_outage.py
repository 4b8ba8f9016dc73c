"""Redis dies (SIGKILL) and comes back on the same port, empty, while messages are committed.

PROTOCOL.md's promise holds through it: every socket gets every acknowledged message
exactly once, or an explicit ``resync_required`` (and from then on every later message
exactly once). Each test has its own redis-server: killing the session's would break
other tests.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from server.actions import admin as admin_actions
from server.api import auth
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.faults.watch import Watcher, summary
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.services import RedisServer

SOCKETS = 4


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


class Sender:
    """Posts inbound messages one after another; keeps the acknowledged ones."""

    def __init__(self, client: httpx.AsyncClient, inbox: dict[str, object]) -> None:
        self.client, self.inbox = client, inbox
        self.acked: list[tuple[str, float]] = []
        self.failed = 0
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        n = 0
        while not self._stop.is_set():
            n += 1
            text, started = f"m{n}", loop.time()
            response = await post_inbound(
                self.client, self.inbox, text=text, contact=f"c{n % 7}", external_id=text
            )
            if response.status_code in (200, 201):
                self.acked.append((text, started))
            else:
                self.failed += 1
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._stop.set()
        await self.task


async def _agent_token(server: Running) -> tuple[int, str]:
    user = await admin_actions.create_user(
        server.ctx, email="alice@example.test", name="alice", role="agent", password=None
    )
    token = await auth.issue_token(server.ctx, user["id"], "session", expires=timedelta(days=1))
    return user["id"], token


async def _run_outage(tmp_path: Path, database_url: str, redis: RedisServer, down: float) -> None:
    settings = make_settings(tmp_path, database_url, redis_url=redis.url)
    server = await start_server(settings)
    watchers: list[Watcher] = []
    try:
        await set_admin_password(server)
        admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        user_id, token = await _agent_token(server)
        inbox = await create_api_inbox(admin, members=[user_id])
        watchers = [await Watcher.open(server.ws_url, token) for _ in range(SOCKETS)]
        sender = Sender(server.client(), inbox)
        await asyncio.sleep(1.0)
        assert redis.pid is not None
        os.kill(redis.pid, signal.SIGKILL)
        redis.stop()  # reaps it (SIGKILL is not instant), keeping the port
        await asyncio.sleep(down)
        redis.start()  # same port, no data: persistence is off, as after a crash
        await asyncio.sleep(2.0)
        await sender.stop()
        assert sender.failed == 0 and len(sender.acked) >= 5

        async def kept() -> bool:
            return all(not w.problems(sender.acked) for w in watchers)

        try:
            await eventually(kept, timeout=20)
        except AssertionError:
            found = {i: w.problems(sender.acked) for i, w in enumerate(watchers)}
            raise AssertionError(f"promise broken: {found}; {summary(watchers)}") from None
        # A socket that resumes now from its last pre-outage id is told to resync too.
        resumed = await AgentSocket.open(server.ws_url, token, last_event_id="1-0")
        assert resumed.ready is not None and resumed.ready["resumed"] is False
    finally:
        for watcher in watchers:
            await watcher.stop()
        await AgentSocket.close_all()
        await server.stop()


async def test_redis_killed_for_seconds_loses_no_event_silently(
    tmp_path: Path, database_url: str, own_redis: RedisServer
) -> None:
    await _run_outage(tmp_path, database_url, own_redis, down=3.0)


async def test_a_short_redis_blip_loses_no_event_silently(
    tmp_path: Path, database_url: str, own_redis: RedisServer
) -> None:
    await _run_outage(tmp_path, database_url, own_redis, down=0.2)


async def test_a_visitor_socket_is_told_to_resync_when_redis_lost_the_stream(
    tmp_path: Path, database_url: str, own_redis: RedisServer
) -> None:
    """The widget's socket keeps the same promise: its live stream was cut, so it is
    closed with 1012 and its resume gets resync_required (then refetches history)."""
    import json

    import websockets

    from tests.widget.helpers import Visitor, create_webchat_inbox

    server = await start_server(make_settings(tmp_path, database_url, redis_url=own_redis.url))
    try:
        await set_admin_password(server)
        admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_webchat_inbox(admin)
        visitor = Visitor(server.client(), inbox["public_key"])
        await visitor.start()
        await visitor.send("hi")
        url = f"{server.ws_url}/widget/ws?key={inbox['public_key']}"
        hello = {"type": "hello", "token": visitor.token, "last_event_id": None}
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps(hello))
            ready = json.loads(await ws.recv())
            assert ready["type"] == "ready", ready
            assert own_redis.pid is not None
            os.kill(own_redis.pid, signal.SIGKILL)
            own_redis.stop()
            own_redis.start()
            await asyncio.wait_for(ws.wait_closed(), 30)
            assert ws.close_code == 1012
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({**hello, "last_event_id": ready["last_event_id"]}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "resync_required", first
    finally:
        await server.stop()
