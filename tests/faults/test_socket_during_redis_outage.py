"""An agent socket opened while Redis is down starts and works; presence catches up.

Redis is killed (SIGKILL) and kept down while an agent opens a socket: the socket must get
``ready`` (not fail at start because its presence could not be published), answer pings,
and receive the events committed during the outage once Redis is back; its presence
reaches the other sockets when Redis is back (the heartbeat or the next change republishes
it). Real redis-server per test: killing the session's would break other tests.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from server.actions import admin as admin_actions
from server.api import auth
from server.realtime.presence import RedisPresence
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.services import RedisServer


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def test_a_socket_opened_while_redis_is_down_starts_works_and_presence_catches_up(
    tmp_path: Path, database_url: str, own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, database_url, redis_url=own_redis.url, ws_ping_interval=1.0)
    server = await start_server(settings)
    try:
        await set_admin_password(server)
        admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        users = []
        for name in ("alice", "bob"):
            user = await admin_actions.create_user(
                server.ctx, email=f"{name}@example.test", name=name, role="agent", password=None
            )
            token = await auth.issue_token(
                server.ctx, user["id"], "session", expires=timedelta(days=1)
            )
            users.append((user["id"], token))
        (alice_id, alice_token), (bob_id, bob_token) = users
        inbox = await create_api_inbox(admin, members=[alice_id, bob_id])
        bob = await AgentSocket.open(server.ws_url, bob_token)

        assert own_redis.pid is not None
        os.kill(own_redis.pid, signal.SIGKILL)
        own_redis.stop()  # reaps it, keeping the port

        alice = await AgentSocket.open(server.ws_url, alice_token)
        assert alice.ready is not None and alice.ready["type"] == "ready"
        await alice.send({"type": "ping"})
        await alice.until(lambda f: f["type"] == "pong")
        response = await post_inbound(
            server.client(), inbox, text="during", contact="c1", external_id="during"
        )
        assert response.status_code in (200, 201), response.text

        def beat_during_outage() -> list[logging.LogRecord]:
            return [
                r
                for r in caplog.records
                if (r.name == "server.realtime.hub" and "heartbeat" in r.getMessage())
                or "presence not refreshed" in r.getMessage()
            ]

        async def beaten() -> bool:
            return bool(beat_during_outage())

        await eventually(beaten, timeout=15)  # the hub's heartbeat ran without Redis:
        noisy = [r.getMessage() for r in beat_during_outage() if r.exc_info]
        assert not noisy, f"a traceback per heartbeat: {noisy}"  # one throttled line

        own_redis.start()  # same port, empty
        created = await alice.until(
            lambda f: (
                f["type"] in ("event", "resync_required")
                and (
                    f["type"] == "resync_required"
                    or (
                        f["event"]["type"] == "message.created"
                        and f["event"]["payload"]["message"]["text"] == "during"
                    )
                )
            ),
            timeout=30,
        )
        assert created["type"] in ("event", "resync_required")
        # This node's other sockets heard that alice came online (during the outage or
        # once the heartbeat wrote her entry back).
        await bob.until(
            lambda f: (
                f["type"] == "presence"
                and f.get("user_id") == alice_id
                and f.get("status") == "online"
            ),
            timeout=30,
        )
        # The shared store caught up: every other node's sweep reads her as online.
        store = RedisPresence(server.ctx.bus.redis)

        async def alice_online() -> bool:
            return await store.user_status(alice_id) == "online"

        await eventually(alice_online, timeout=30)
        # And the socket still works after the outage: a message now arrives live.
        response = await post_inbound(
            server.client(), inbox, text="after", contact="c2", external_id="after"
        )
        assert response.status_code in (200, 201), response.text
        await alice.until(
            lambda f: (
                f["type"] == "event"
                and f["event"]["type"] == "message.created"
                and f["event"]["payload"]["message"]["text"] == "after"
            ),
            timeout=30,
        )
    finally:
        await AgentSocket.close_all()
        await server.stop()
