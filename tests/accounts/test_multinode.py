"""Holes 2 and 3 across nodes: two real server processes, one PostgreSQL, one Redis. A
password changed through node A closes the agent's socket on node B (4401); a demotion
made through node A takes admin visibility away from a socket on node B at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.realtime.nodes import Node, migrate, start_node
from tests.realtime.wsclient import AgentSocket
from tests.support.api import INBOUND_TOKEN, create_agent, post_inbound

PASSWORD = "agent-password-1"


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, postgres: Any, redis_server: Any
) -> Iterator[tuple[Node, Node]]:
    tmp = tmp_path_factory.mktemp("accounts-nodes")
    # a clean slate: keys another test's database left (the bus remembers published event
    # ids per database row id, and every fresh database starts at 1) would hide our events
    redis_server.flush()
    name = f"accounts_{abs(hash(str(tmp))) % 10**8}"
    url = postgres.create_database(name)
    migrate(tmp, url, redis_server.url)
    a = start_node(tmp, "acct-a", url, redis_server.url)  # creates the first admin
    b = start_node(tmp, "acct-b", url, redis_server.url)
    try:
        yield a, b
    finally:
        a.kill()
        b.kill()
        postgres.drop_database(name)


@pytest.fixture
async def admin(nodes: tuple[Node, Node]) -> AsyncIterator[httpx.AsyncClient]:
    a, b = nodes
    password = a.admin_password()
    assert password, a.log.read_text()
    login = await a.client().post(
        "/api/auth/login", json={"email": "admin@example.test", "password": password}
    )
    yield a.client(login.json()["token"])
    await AgentSocket.close_all()
    await a.close_clients()
    await b.close_clients()


async def _login(node: Node, email: str) -> str:
    response = await node.client().post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def test_a_password_change_on_node_a_closes_the_socket_on_node_b(
    nodes: tuple[Node, Node], admin: httpx.AsyncClient
) -> None:
    b = nodes[1]  # the admin's client talks to node A
    user = await create_agent(admin, "uma@example.test")
    token = await _login(b, "uma@example.test")
    sock = await AgentSocket.open(b.ws_url, token)
    changed = await admin.patch(
        f"/api/admin/agents/{user['id']}", json={"password": "uma-new-password"}
    )
    assert changed.status_code == 200, changed.text
    assert (await sock.closed(timeout=5))[0] == 4401
    assert (await b.client(token).get("/api/me")).status_code == 401


async def test_a_demotion_on_node_a_ends_admin_visibility_on_node_b(
    nodes: tuple[Node, Node], admin: httpx.AsyncClient
) -> None:
    a, b = nodes
    boss = await create_agent(admin, "vic@example.test", role="admin")
    inbox = (
        await admin.post(
            "/api/admin/inboxes",
            json={"name": "Elsewhere", "kind": "api", "config": {"inbound_token": INBOUND_TOKEN}},
        )
    ).json()
    sock = await AgentSocket.open(b.ws_url, await _login(b, "vic@example.test"))
    await post_inbound(a.client(), inbox, text="while admin")
    frame = await sock.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "message.created"
    )
    assert frame["event"]["payload"]["message"]["text"] == "while admin"

    await admin.patch(f"/api/admin/agents/{boss['id']}", json={"role": "agent"})
    await sock.until(lambda f: f["type"] == "event" and f["event"]["type"] == "agent.updated")
    await post_inbound(a.client(), inbox, text="after the demotion", contact="someone-else")
    mine = (
        await admin.post(
            "/api/admin/inboxes",
            json={
                "name": "Hers",
                "kind": "api",
                "config": {"inbound_token": INBOUND_TOKEN},
                "member_ids": [boss["id"]],
            },
        )
    ).json()
    await post_inbound(a.client(), mine, text="in her inbox")
    frame = await sock.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "message.created"
    )
    assert frame["event"]["payload"]["message"]["text"] == "in her inbox"
