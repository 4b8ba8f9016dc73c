"""Two real server processes, one PostgreSQL, one Redis: events cross nodes, exactly once.

This is also the proof for DESIGN.md "A trap to avoid": many concurrent writers on both
nodes commit into PostgreSQL in an order unrelated to their database ids, and every
subscriber — including one that hops from node to node mid-stream — sees every committed
event exactly once, in the one order the Redis stream gave them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.events.redis_bus import RedisBus
from server.storage import schema as t
from server.storage.db import Database
from tests.realtime.nodes import Node, migrate, start_node
from tests.realtime.wsclient import AgentSocket
from tests.support.api import INBOUND_TOKEN, create_agent, eventually, post_inbound

FAST_HEARTBEAT = {"SWITCHBOARD_WS_PING_INTERVAL": "1"}  # presence TTL 3 s
STORED = ("typing", "viewing", "presence", "session.revoked")


@dataclass
class Cluster:
    a: Node
    b: Node
    database_url: str
    redis_url: str
    admin_token: str
    inbox: dict[str, Any]
    tmp: Path


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any, redis_server: Any
) -> Iterator[Cluster]:
    """Two nodes shared by this module's tests (starting processes is the slow part)."""
    tmp = tmp_path_factory.mktemp("cluster")
    redis_server.flush()
    name = f"multinode_{abs(hash(str(tmp))) % 10**8}"
    url = postgres.create_database(name)
    migrate(tmp, url, redis_server.url)
    # Nodes start one after the other: the first creates the admin account.
    a = start_node(tmp, "node-a", url, redis_server.url, **FAST_HEARTBEAT)
    b = start_node(tmp, "node-b", url, redis_server.url, **FAST_HEARTBEAT)
    try:
        password = a.admin_password()
        assert password, a.log.read_text()
        with httpx.Client(base_url=a.base_url) as http:
            token = http.post(
                "/api/auth/login", json={"email": "admin@example.test", "password": password}
            ).json()["token"]
            inbox = http.post(
                "/api/admin/inboxes",
                headers={"authorization": f"Bearer {token}"},
                json={
                    "name": "Shared",
                    "kind": "api",
                    "member_ids": [],
                    "config": {"inbound_token": INBOUND_TOKEN},
                },
            ).json()
        yield Cluster(a, b, url, redis_server.url, token, inbox, tmp)
    finally:
        a.kill()
        b.kill()
        postgres.drop_database(name)


@pytest.fixture(autouse=True)
async def _close_clients(cluster: Cluster) -> AsyncIterator[None]:
    yield
    await cluster.a.close_clients()
    await cluster.b.close_clients()


async def test_a_message_ingested_on_node_a_reaches_an_agent_socket_on_node_b(
    cluster: Cluster,
) -> None:
    admin = cluster.a.client(cluster.admin_token)
    agent = await create_agent(admin, "nina@example.test")
    await admin.put(
        f"/api/admin/inboxes/{cluster.inbox['id']}/members", json={"user_ids": [agent["id"]]}
    )
    login = await cluster.b.client().post(
        "/api/auth/login", json={"email": "nina@example.test", "password": "agent-password-1"}
    )
    sock = await AgentSocket.open(cluster.b.ws_url, login.json()["token"])
    response = await post_inbound(cluster.a.client(), cluster.inbox, text="via node A")
    assert response.status_code == 201
    frames = await sock.events(2)
    created = [f for f in frames if f["event"]["type"] == "message.created"]
    assert created and created[0]["event"]["payload"]["message"]["text"] == "via node A"
    # and the way back: a reply on node B shows up on a socket on node A
    watcher = await AgentSocket.open(cluster.a.ws_url, cluster.admin_token)
    conv = response.json()["conversation_id"]
    reply = await cluster.b.client(login.json()["token"]).post(
        f"/api/conversations/{conv}/messages", json={"text": "answered on B"}
    )
    assert reply.status_code == 201, reply.text
    frame = await watcher.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "message.created"
    )
    assert frame["event"]["payload"]["message"]["text"] == "answered on B"


async def test_concurrent_writers_on_both_nodes_every_subscriber_sees_every_event_once(
    cluster: Cluster,
) -> None:
    on_a = await AgentSocket.open(cluster.a.ws_url, cluster.admin_token)
    on_b = await AgentSocket.open(cluster.b.ws_url, cluster.admin_token)
    assert on_a.ready and on_b.ready
    start = on_a.ready["last_event_id"]
    hopper = await AgentSocket.open(cluster.b.ws_url, cluster.admin_token, start)
    clients = [cluster.a.client(), cluster.b.client()]

    async def writer(n: int) -> None:
        for k in range(6):
            await post_inbound(
                clients[n % 2], cluster.inbox, text=f"{n}/{k}", contact=f"writer-{n}-{k % 2}"
            )

    writers = [asyncio.create_task(writer(n)) for n in range(10)]
    hopped: list[str] = [f["id"] for f in await hopper.events(5)]
    await hopper.close()  # hop to the other node mid-stream and resume there
    hopper = await AgentSocket.open(cluster.a.ws_url, cluster.admin_token, hopped[-1])
    await asyncio.gather(*writers)

    expected = await _published_ids(cluster, start)
    got_a = [f["id"] for f in await on_a.events(len(expected))]
    got_b = [f["id"] for f in await on_b.events(len(expected))]
    hopped += [f["id"] for f in await hopper.events(len(expected) - len(hopped))]
    assert got_a == expected and got_b == expected and hopped == expected


async def _published_ids(cluster: Cluster, after: str) -> list[str]:
    """Stream ids of all stored events after ``after``, once every committed row is in.

    Also checks the bus side of the promise: each committed event row is in the stream
    exactly once (no loss, no duplicate publish).
    """
    db = Database(cluster.database_url)
    bus = RedisBus(cluster.redis_url)
    await bus.start()
    try:

        async def complete() -> list[str] | None:
            async with db.read() as conn:
                rows = {r[0] for r in await conn.execute(sa.select(t.events.c.id))}
            history = [e for e in await bus.replay("0") if e.event.type not in STORED]
            db_ids = [e.event.db_id for e in history]
            assert len(db_ids) == len(set(db_ids)), "an event was published twice"
            if set(db_ids) != rows:
                return None
            return [e.id for e in await bus.replay(after) if e.event.type not in STORED]

        ids: list[str] = await eventually(complete, timeout=20)
        return ids
    finally:
        await bus.stop()
        await db.dispose()


async def test_presence_survives_node_loss(cluster: Cluster) -> None:
    """Node C holds otto's socket and is killed -9; node A still shows him offline."""
    c = start_node(cluster.tmp, "node-c", cluster.database_url, cluster.redis_url, **FAST_HEARTBEAT)
    try:
        admin = cluster.a.client(cluster.admin_token)
        agent = await create_agent(admin, "otto@example.test")
        login = await c.client().post(
            "/api/auth/login", json={"email": "otto@example.test", "password": "agent-password-1"}
        )
        watcher = await AgentSocket.open(cluster.a.ws_url, cluster.admin_token)
        await AgentSocket.open(c.ws_url, login.json()["token"])

        def about_otto(frame: dict[str, Any]) -> bool:
            return frame["type"] == "presence" and frame["user_id"] == agent["id"]

        assert (await watcher.until(about_otto))["status"] == "online"
        c.kill(signal.SIGKILL)  # node C dies without saying goodbye
        assert (await watcher.until(about_otto, timeout=15))["status"] == "offline"
    finally:
        await c.close_clients()
        c.kill(signal.SIGKILL)
