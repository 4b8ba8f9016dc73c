"""The per-node socket session cache (server/realtime/session_cache.py): a token cached on
one node is refused there at once after it is revoked through another node, without
waiting for the bus to deliver the revocation; and the access-view cache never serves a
view older than a membership change (server/realtime/views.py).

Two nodes here are two servers in this process on one database and one redis-server, so
the test can see node B's cache counters (proof that the refused token was cached)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.actions import admin as admin_actions
from server.api import auth
from server.events.redis_bus import RedisBus
from server.realtime.session_cache import SessionCache
from tests.accounts.conftest import PASSWORD, login_token
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Running,
    _set_admin_password,
    make_settings,
    start_server,
)
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_agent, create_api_inbox, post_inbound


@pytest.fixture
async def nodes(
    tmp_path: Path, database_url: str, redis_server: Any
) -> AsyncIterator[tuple[Running, Running]]:
    redis_server.flush()
    a = await start_server(make_settings(tmp_path / "a", database_url, redis_url=redis_server.url))
    await _set_admin_password(a)
    b = await start_server(
        make_settings(
            tmp_path / "b", database_url, redis_url=redis_server.url, create_admin_email=""
        )
    )
    try:
        yield a, b
    finally:
        await AgentSocket.close_all()
        await b.stop()
        await a.stop()
        # Leave no stream or publish-dedupe keys behind: nodes of a later test on a fresh
        # database reuse outbox ids, which the old keys would mark as published already.
        redis_server.flush()


async def _refused(node: Running, token: str) -> int | None:
    sock = await AgentSocket.open(node.ws_url, token, hello=False)
    return (await sock.closed())[0]


async def _cached_on(node: Running, token: str) -> None:
    """Open two sockets on ``node`` with ``token``: the second is served from the cache."""
    sessions: SessionCache = node.app.state.hub.sessions
    await (await AgentSocket.open(node.ws_url, token)).close()
    hits = sessions.hits
    await (await AgentSocket.open(node.ws_url, token)).close()
    assert sessions.hits == hits + 1  # the token is now answered from node B's memory


@pytest.mark.parametrize("how", ["logout", "password", "deactivation"])
async def test_a_token_cached_on_node_b_is_refused_at_once_after_a_revocation_on_node_a(
    nodes: tuple[Running, Running], how: str
) -> None:
    a, b = nodes
    admin = await a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    user = await create_agent(admin, "rita@example.test")
    token = await login_token(a, "rita@example.test", PASSWORD)
    await _cached_on(b, token)
    if how == "logout":
        done = await a.client(token).post("/api/auth/logout")
    elif how == "password":
        done = await admin.patch(f"/api/admin/agents/{user['id']}", json={"password": "n3w-pw-1"})
    else:
        done = await admin.patch(f"/api/admin/agents/{user['id']}", json={"is_active": False})
    assert done.status_code == 200, done.text
    assert await _refused(b, token) == 4401


async def test_the_revocation_mark_needs_no_bus_delivery(
    tmp_path: Path, database_url: str, redis_server: Any
) -> None:
    """Node B hears no bus event at all here (no hub reads the stream): only the mark in
    Redis, changed by node A's revocation, makes B's cache refuse the token."""
    redis_server.flush()
    running = await start_server(make_settings(tmp_path, database_url))
    buses = [RedisBus(redis_server.url), RedisBus(redis_server.url)]
    try:
        for bus in buses:
            await bus.start()
        node_a, node_b = (
            SessionCache(dataclasses.replace(running.ctx, bus=bus), ttl=3600) for bus in buses
        )
        user = await admin_actions.create_user(
            running.ctx, email="sam@example.test", name="Sam", role="agent", password=None
        )
        token = await auth.issue_token(running.ctx, user["id"], "session", expires=timedelta(1))
        first = await node_b.actor_for(token)
        assert first is not None and first.id == user["id"]
        assert (await node_b.actor_for(token)) == first and node_b.hits == 1
        assert first.token_id is not None
        await auth.revoke_token(running.ctx, first.token_id)  # committed: what logout does
        await node_a.revoked(token_id=first.token_id)  # then Hub.revoke on node A
        assert await node_b.actor_for(token) is None
    finally:
        for bus in buses:
            await bus.stop()
        await running.stop()
        redis_server.flush()


async def test_a_new_socket_sees_a_membership_change_made_on_another_node(
    nodes: tuple[Running, Running],
) -> None:
    """The access view is cached per agent on node B; adding the agent to an inbox through
    node A drops it, so the agent's next socket on B gets that inbox's events."""
    a, b = nodes
    admin = await a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    user = await create_agent(admin, "tess@example.test")
    token = await login_token(a, "tess@example.test", PASSWORD)
    inbox = await create_api_inbox(admin, name="Later")
    first = await AgentSocket.open(b.ws_url, token)  # caches the view: no inbox
    added = await admin.put(
        f"/api/admin/inboxes/{inbox['id']}/members", json={"user_ids": [user["id"]]}
    )
    assert added.status_code == 200, added.text
    await first.until(lambda f: f["type"] == "event" and f["event"]["type"] == "inbox.updated")
    second = await AgentSocket.open(b.ws_url, token)
    await post_inbound(a.client(), inbox, text="now visible")
    frame = await second.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "message.created"
    )
    assert frame["event"]["payload"]["message"]["text"] == "now visible"
