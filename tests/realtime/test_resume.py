"""Gap-free resume: every event after the client's id exactly once, or resync_required."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from server.events.types import Event, EventType
from server.realtime.client_queue import OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON
from tests.conftest import Running, make_settings, start_server
from tests.realtime.conftest import Agent, Team, login_agent
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_api_inbox, post_inbound


async def visible_ids(server: Running, inbox_id: int, after: str) -> list[str]:
    """Every stored (non-ephemeral) event of one inbox after an id, in stream order."""
    history = await server.ctx.bus.replay(after)
    return [
        e.id
        for e in history
        if e.event.inbox_id == inbox_id and e.event.type not in ("typing", "viewing", "presence")
    ]


async def test_resume_delivers_every_missed_event_exactly_once_while_writes_continue(
    server: Running, team: Team
) -> None:
    client = server.client()
    sock = await AgentSocket.open(server.ws_url, team.alice.token)
    assert sock.ready is not None
    start = sock.ready["last_event_id"]
    await post_inbound(client, team.a, text="first", contact="c0")
    received = [f["id"] for f in await sock.events(2)]
    await sock.close()

    async def writer(n: int) -> None:
        for k in range(5):
            await post_inbound(client, team.a, text=f"w{n}-{k}", contact=f"c{n}")

    writers = [asyncio.create_task(writer(n)) for n in range(4)]
    await asyncio.sleep(0)  # writes are in flight while the client reconnects
    sock = await AgentSocket.open(server.ws_url, team.alice.token, received[-1])
    assert sock.ready == {"type": "ready", "last_event_id": received[-1], "resumed": True}
    await asyncio.gather(*writers)
    expected = await visible_ids(server, team.a["id"], start)
    remaining = len(expected) - len(received)
    received += [f["id"] for f in sock.before_ready] + [
        f["id"] for f in await sock.events(remaining)
    ]
    assert received == expected  # nothing missed, nothing twice, in stream order
    await sock.send({"type": "ping"})
    assert (await sock.until(lambda f: f["type"] in ("pong", "event")))["type"] == "pong"


async def test_a_foreign_or_trimmed_id_answers_resync_required_then_live(
    server: Running, team: Team
) -> None:
    sock = await AgentSocket.open(server.ws_url, team.alice.token, "cafebabe-12")
    [resync] = sock.before_ready
    assert resync["type"] == "resync_required" and "not from this" in resync["reason"]
    assert sock.ready == {
        "type": "ready",
        "last_event_id": resync["last_event_id"],
        "resumed": False,
    }
    await post_inbound(server.client(), team.a, text="after resync")
    assert len(await sock.events(2)) == 2


async def test_history_trimmed_past_the_clients_id_answers_resync(
    tmp_path: Path, database_url: str
) -> None:
    running = await start_server(make_settings(tmp_path, database_url, event_history=3))
    try:
        admin = running.ctx
        bus = admin.bus
        [old] = await bus.publish([Event(EventType.INBOX_UPDATED, {"n": 0})])
        await bus.publish([Event(EventType.INBOX_UPDATED, {"n": n}) for n in range(1, 9)])
        agent = await login_agent(running, running.client(), "dora@example.test")
        sock = await AgentSocket.open(running.ws_url, agent.token, old)
        assert sock.before_ready[0]["type"] == "resync_required"
        assert "older than the kept history" in sock.before_ready[0]["reason"]
        assert sock.ready is not None and sock.ready["resumed"] is False
        await sock.close()
    finally:
        await running.stop()


async def test_a_slow_socket_is_closed_with_overflow_and_resumes_without_loss(
    tmp_path: Path, database_url: str
) -> None:
    running = await start_server(make_settings(tmp_path, database_url, ws_queue_size=3))
    try:
        agent = await login_agent(running, running.client(), "erin@example.test")
        inbox = await _inbox_with(running, agent.user["id"])
        sock = await AgentSocket.open(running.ws_url, agent.token)
        start = sock.ready["last_event_id"] if sock.ready else "0"
        # One burst of 10 events reaches the hub before the socket's pump can run.
        ids = await running.ctx.bus.publish(
            [Event(EventType.CONVERSATION_UPDATED, {"n": n}, inbox_id=inbox) for n in range(10)]
        )
        assert await sock.closed() == (OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
        again = await AgentSocket.open(running.ws_url, agent.token, start)
        assert [f["id"] for f in await again.events(10)] == ids
        await again.close()
    finally:
        await running.stop()


async def _inbox_with(running: Running, user_id: int) -> int:
    from server.actions import admin as admin_actions

    inbox = await admin_actions.create_inbox(
        running.ctx,
        name="Slow",
        kind="api",
        config={"inbound_token": "inbound-token-0123456789"},
        member_ids=[user_id],
    )
    return int(inbox["id"])


async def test_membership_granted_while_connected_starts_the_inboxs_events(
    server: Running, admin: httpx.AsyncClient, team: Team
) -> None:
    carol = await AgentSocket.open(server.ws_url, team.carol.token)
    response = await admin.put(
        f"/api/admin/inboxes/{team.a['id']}/members",
        json={"user_ids": [team.alice.user["id"], team.carol.user["id"]]},
    )
    assert response.status_code == 200, response.text
    update = (await carol.events(1))[0]
    assert update["event"]["type"] == "inbox.updated"
    await post_inbound(server.client(), team.a, text="now visible to carol")
    assert {f["event"]["inbox_id"] for f in await carol.events(2)} == {team.a["id"]}
    response = await admin.put(
        f"/api/admin/inboxes/{team.a['id']}/members", json={"user_ids": [team.alice.user["id"]]}
    )
    await post_inbound(server.client(), team.a, text="hidden again")
    await post_inbound(server.client(), team.b, text="carol's own inbox", contact="b")
    frames = await carol.events(2)
    assert {f["event"]["inbox_id"] for f in frames} == {team.b["id"]}


async def test_new_inbox_created_with_members_is_visible_at_once(
    server: Running, admin: httpx.AsyncClient, team: Team
) -> None:
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    inbox = await create_api_inbox(admin, name="New", members=[team.bob.user["id"]])
    await post_inbound(server.client(), inbox, text="hello new inbox")
    frames = await bob.events(3)
    assert [f["event"]["inbox_id"] for f in frames] == [inbox["id"]] * 3


async def stream_head_seen_by(server: Running, agent: Agent) -> str:
    """Connect, note the head the server reports, disconnect: a resume point to miss from."""
    sock = await AgentSocket.open(server.ws_url, agent.token)
    assert sock.ready is not None
    await sock.close()
    return str(sock.ready["last_event_id"])


async def test_replay_comes_in_batch_frames_and_idle_sockets_hold_no_writer_task(
    server: Running, team: Team
) -> None:
    client = server.client()
    start = await stream_head_seen_by(server, team.alice)
    for n in range(30):
        await post_inbound(client, team.a, text=f"missed {n}", contact=f"c{n % 3}")
    expected = await visible_ids(server, team.a["id"], start)
    assert len(expected) >= 60
    sock = await AgentSocket.open(server.ws_url, team.alice.token, start)
    replayed = [f["id"] for f in await sock.events(len(expected))]
    assert replayed == expected
    # Far fewer WebSocket messages than events: the replay is packed into batch frames.
    assert 1 <= sock.batches <= 3
    # Live: the events of one ingest (one transaction) leave in one write, too.
    await post_inbound(client, team.a, text="live", contact="c-live")
    await sock.events(2)
    assert sock.batches >= 2
    # Quiet again: no task is kept per socket for writing (the pump ends when drained).
    await sock.send({"type": "ping"})
    assert await sock.until(lambda f: f["type"] == "pong")
    hub = server.app.state.hub
    await asyncio.sleep(0.2)
    assert hub.connections
    for conn in hub.connections.values():
        assert conn.pump_task is None or conn.pump_task.done()


async def test_replays_packed_once_per_node_never_cross_access_views(
    server: Running, team: Team
) -> None:
    """Sockets resuming from the same id share a packed replay only with the same view."""
    client = server.client()
    start = await stream_head_seen_by(server, team.alice)
    for n in range(3):
        await post_inbound(client, team.a, text=f"for A {n}", contact="a-cust")
        await post_inbound(client, team.b, text=f"for B {n}", contact="b-cust")
    expected_a = await visible_ids(server, team.a["id"], start)
    expected_b = await visible_ids(server, team.b["id"], start)
    for _ in range(2):  # the second round is served from the node's replay cache
        alice = await AgentSocket.open(server.ws_url, team.alice.token, start)
        bob = await AgentSocket.open(server.ws_url, team.bob.token, start)
        carol = await AgentSocket.open(server.ws_url, team.carol.token, start)
        for sock, expected in ((alice, expected_a), (bob, expected_a), (carol, expected_b)):
            got = [f["id"] for f in await sock.events(len(expected))]
            assert got == expected
            await sock.send({"type": "ping"})
            assert (await sock.until(lambda f: f["type"] in ("pong", "event")))["type"] == "pong"
            await sock.close()


async def test_a_stalled_reader_delays_nobody_and_is_cut_off_with_bounded_memory(
    tmp_path: Path, database_url: str
) -> None:
    """A client that stops reading: its TCP buffers fill, the node's writer skips it (its
    own task waits on it), its queue overflows and it is marked for 4000; a healthy socket
    on the same node gets every event meanwhile."""
    running = await start_server(make_settings(tmp_path, database_url, ws_queue_size=20))
    try:
        agent = await login_agent(running, running.client(), "stuck@example.test")
        inbox = await _inbox_with(running, agent.user["id"])
        healthy = await AgentSocket.open(running.ws_url, agent.token)
        # max_queue=1: the client library stops reading the TCP stream after one frame.
        stalled = await AgentSocket.open(running.ws_url, agent.token, max_queue=1)
        hub = running.app.state.hub
        big = "x" * 60_000
        closing: list[Any] = []
        for round_ in range(400):  # ≤ 24 MB: far more than loopback's socket buffers hold
            [event_id] = await running.ctx.bus.publish(
                [Event(EventType.CONVERSATION_UPDATED, {"pad": big, "n": round_}, inbox_id=inbox)]
            )
            got = await healthy.events(1, timeout=5)
            assert got[0]["id"] == event_id  # the healthy socket keeps up, round by round
            closing = [c for c in hub.connections.values() if c.close_request is not None]
            if closing:
                break
        assert [c.close_request for c in closing] == [(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)]
        assert len(closing[0].queue) == 0  # what it could not take was freed, not kept
        AgentSocket.opened.remove(stalled)
        stalled.ws.transport.abort()  # it never reads: no close handshake to wait for
    finally:
        await running.stop()
