"""Auto-assignment is atomic across nodes: two real ``serve`` processes, one PostgreSQL,
one Redis, many customers writing at once to both (docs/automation.md "Atomic").

Never two assignments of one conversation, never an agent over capacity, and round
robin stays exactly fair while the nodes race.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.storage import schema as t
from server.storage.db import Database
from tests.realtime.nodes import Node, migrate, start_node
from tests.realtime.wsclient import AgentSocket
from tests.support.api import INBOUND_TOKEN, create_agent, eventually, post_inbound


@dataclass
class Cluster:
    a: Node
    b: Node
    url: str
    admin_token: str


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any, redis_server: Any
) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("routing_cluster")
    redis_server.flush()
    name = f"routing_{abs(hash(str(tmp))) % 10**8}"
    url = postgres.create_database(name)
    migrate(tmp, url, redis_server.url)
    a = start_node(tmp, "node-a", url, redis_server.url)
    b = start_node(tmp, "node-b", url, redis_server.url)
    try:
        password = a.admin_password()
        assert password, a.log.read_text()
        with httpx.Client(base_url=a.base_url) as http:
            token = http.post(
                "/api/auth/login", json={"email": "admin@example.test", "password": password}
            ).json()["token"]
        yield Cluster(a, b, url, token)
    finally:
        a.kill()
        b.kill()
        postgres.drop_database(name)


@pytest.fixture(autouse=True)
async def _close_clients(cluster: Cluster) -> AsyncIterator[None]:
    yield
    await cluster.a.close_clients()
    await cluster.b.close_clients()


@dataclass
class Team:
    inbox: dict[str, Any]
    agents: list[int]
    sockets: list[AgentSocket]


async def _team(cluster: Cluster, tag: str, capacity: int | None) -> Team:
    admin = cluster.a.client(cluster.admin_token)
    ids, sockets = [], []
    for n, node in enumerate((cluster.a, cluster.b)):
        email = f"{tag}{n}@example.test"
        agent = await create_agent(admin, email)
        login = await node.client().post(
            "/api/auth/login", json={"email": email, "password": "agent-password-1"}
        )
        sockets.append(await AgentSocket.open(node.ws_url, login.json()["token"], max_queue=None))
        ids.append(int(agent["id"]))
        r = await admin.put(
            f"/api/admin/agents/{agent['id']}/capacity", json={"max_open": capacity}
        )
        assert r.status_code == 200, r.text
    inbox = (
        await admin.post(
            "/api/admin/inboxes",
            json={
                "name": tag,
                "kind": "api",
                "member_ids": ids,
                "config": {"inbound_token": INBOUND_TOKEN},
            },
        )
    ).json()
    r = await admin.put(f"/api/admin/inboxes/{inbox['id']}/routing", json={"policy": "round_robin"})
    assert r.status_code == 200, r.text
    return Team(inbox, ids, sockets)


@pytest.fixture
async def db(cluster: Cluster) -> AsyncIterator[Database]:
    database = Database(cluster.url)
    try:
        yield database
    finally:
        await database.dispose()


async def _arrivals(cluster: Cluster, inbox: dict[str, Any], tag: str, count: int) -> list[int]:
    """``count`` customers write at once, alternately to node a and node b."""
    nodes = [cluster.a.client(), cluster.b.client()]
    responses = await asyncio.gather(
        *(post_inbound(nodes[n % 2], inbox, contact=f"{tag}-{n}") for n in range(count))
    )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    return [int(r.json()["conversation_id"]) for r in responses]


async def _state(db: Database, inbox_id: int) -> tuple[dict[int, Any], Counter[int]]:
    """Assignee per conversation, and how many automatic assignments each one got."""
    c, m = t.conversations.c, t.messages.c
    async with db.read() as conn:
        owners = {
            int(r.id): r.assignee_id
            for r in await conn.execute(
                sa.select(c.id, c.assignee_id, c.status).where(c.inbox_id == inbox_id)
            )
        }
        lines = await conn.execute(
            sa.select(m.conversation_id).where(
                m.inbox_id == inbox_id, m.kind == "activity", m.text.like("Assigned to %")
            )
        )
        assignments = Counter(int(r[0]) for r in lines)
    return owners, assignments


async def test_concurrent_arrivals_on_two_nodes_respect_capacity(
    cluster: Cluster, db: Database
) -> None:
    team = await _team(cluster, "cap", capacity=3)
    ids = await _arrivals(cluster, team.inbox, "cap", 24)
    owners, assignments = await _state(db, team.inbox["id"])
    load = Counter(owner for owner in owners.values() if owner is not None)
    assert load == {team.agents[0]: 3, team.agents[1]: 3}  # full, never over
    assert max(assignments.values()) == 1  # never assigned twice
    assert sum(assignments.values()) == 6

    # Both nodes resolve at once: each freed place goes to one waiting conversation.
    admin_a = cluster.a.client(cluster.admin_token)
    admin_b = cluster.b.client(cluster.admin_token)
    mine = [i for i in ids if owners[i] is not None]
    results = await asyncio.gather(
        *(
            (admin_a if n % 2 else admin_b).post(
                f"/api/conversations/{i}/status", json={"status": "resolved"}
            )
            for n, i in enumerate(mine)
        )
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    owners, assignments = await _state(db, team.inbox["id"])
    async with db.read() as conn:
        c = t.conversations.c
        open_load = Counter(
            int(r[0])
            for r in await conn.execute(
                sa.select(c.assignee_id).where(
                    c.inbox_id == team.inbox["id"],
                    c.status != "resolved",
                    c.assignee_id.is_not(None),
                )
            )
        )
    assert open_load == {team.agents[0]: 3, team.agents[1]: 3}
    assert max(assignments.values()) == 1
    assert sum(assignments.values()) == 12
    since = await _waiting_since(db, ids)
    served = [since[i] for i in ids if i not in mine and owners[i] is not None]
    waiting = [since[i] for i in ids if i not in mine and owners[i] is None]
    assert len(served) == 6 and max(served) <= min(waiting)  # the oldest waiting were served


async def _waiting_since(db: Database, ids: list[int]) -> dict[int, Any]:
    c = t.conversations.c
    async with db.read() as conn:
        rows = await conn.execute(sa.select(c.id, c.waiting_since).where(c.id.in_(ids)))
        return {int(r.id): r.waiting_since for r in rows}


async def test_round_robin_stays_fair_while_two_nodes_race(cluster: Cluster, db: Database) -> None:
    team = await _team(cluster, "rr", capacity=None)
    await _arrivals(cluster, team.inbox, "rr", 30)

    async def settled() -> Any:
        owners, assignments = await _state(db, team.inbox["id"])
        return (owners, assignments) if len(assignments) == 30 else None

    owners, assignments = await eventually(settled)
    assert Counter(owners.values()) == {team.agents[0]: 15, team.agents[1]: 15}
    assert set(assignments.values()) == {1}


def test_nodes_logged_no_errors(cluster: Cluster) -> None:
    for node in (cluster.a, cluster.b):
        text = node.log.read_text()
        assert "Traceback" not in text, text[-3000:]
