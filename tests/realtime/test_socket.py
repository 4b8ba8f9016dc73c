"""The agent socket through a real server: live events, resume, access, bad input."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import Running
from tests.realtime.conftest import Team
from tests.realtime.wsclient import AgentSocket
from tests.support.api import post_inbound


async def test_unauthenticated_and_bad_token_sockets_are_closed_with_4401(server: Running) -> None:
    for token in (None, "not-a-real-token"):
        sock = await AgentSocket.open(server.ws_url, token, hello=False)
        assert await sock.closed() == (4401, "log in first")


async def test_live_events_arrive_with_increasing_ids(server: Running, team: Team) -> None:
    sock = await AgentSocket.open(server.ws_url, team.alice.token)
    assert sock.ready is not None and sock.ready["resumed"] is False
    response = await post_inbound(server.client(), team.a, text="Hi there")
    conv_id = response.json()["conversation_id"]
    frames = await sock.events(2)
    types = [f["event"]["type"] for f in frames]
    assert "message.created" in types
    assert all(f["event"]["conversation_id"] == conv_id for f in frames)
    assert all(f["event"]["inbox_id"] == team.a["id"] for f in frames)
    assert frames[0]["id"] != frames[1]["id"]
    await sock.close()


async def test_another_inboxs_events_never_arrive(server: Running, team: Team) -> None:
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    carol = await AgentSocket.open(server.ws_url, team.carol.token)
    client = server.client()
    for n in range(3):
        await post_inbound(client, team.b, text=f"for B {n}", contact="b-cust")
    await post_inbound(client, team.a, text="for A", contact="a-cust")
    seen_by_carol = await carol.events(4)
    assert {f["event"]["inbox_id"] for f in seen_by_carol} == {team.b["id"]}
    seen_by_alice = await alice.events(2)  # conversation.created + message.created of A
    assert {f["event"]["inbox_id"] for f in seen_by_alice} == {team.a["id"]}
    await alice.send({"type": "ping"})
    assert await alice.until(lambda f: f["type"] in ("pong", "event")) == {"type": "pong"}


async def test_typing_or_viewing_another_inboxs_conversation_is_refused(
    server: Running, team: Team
) -> None:
    b_conv = (await post_inbound(server.client(), team.b, contact="b")).json()["conversation_id"]
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    for frame in (
        {"type": "typing", "conversation_id": b_conv, "private": False, "active": True},
        {"type": "viewing", "conversation_id": b_conv},
        {"type": "typing", "conversation_id": 999_999, "private": False, "active": True},
    ):
        await alice.send(frame)
        error = await alice.until(lambda f: f["type"] == "error")
        assert error["code"] == "not_found"
        assert "not found" in error["message"]
    carol = await AgentSocket.open(server.ws_url, team.carol.token)
    await alice.send({"type": "ping"})
    await alice.until(lambda f: f["type"] == "pong")
    await carol.send({"type": "ping"})
    # carol got no typing/viewing frame from alice's refused attempts
    assert (await carol.until(lambda f: f["type"] in ("pong", "typing", "viewing")))[
        "type"
    ] == "pong"


async def test_bad_frames_get_precise_errors_and_the_socket_stays_usable(
    server: Running, team: Team
) -> None:
    sock = await AgentSocket.open(server.ws_url, team.alice.token)
    cases = [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": "subscribe"}', "unknown_type"),
        ('{"type": "typing", "conversation_id": "x"}', "invalid_frame"),
        ('{"type": "presence", "status": "busy"}', "invalid_frame"),
        ('{"type": "hello", "last_event_id": null}', "already_started"),
    ]
    for raw, code in cases:
        await sock.ws.send(raw)
        error = await sock.until(lambda f: f["type"] == "error")
        assert error["code"] == code, (raw, error)
    await sock.ws.send(b"\x00binary")
    assert (await sock.until(lambda f: f["type"] == "error"))["code"] == "binary_not_supported"
    await sock.send({"type": "ping"})
    assert (await sock.until(lambda f: f["type"] == "pong")) == {"type": "pong"}


async def test_oversized_frame_closes_with_1009_and_others_are_unaffected(
    server: Running, team: Team
) -> None:
    big = await AgentSocket.open(server.ws_url, team.alice.token)
    other = await AgentSocket.open(server.ws_url, team.bob.token)
    await big.ws.send("x" * (server.settings.ws_max_frame_bytes + 1))
    code, _reason = await big.closed()
    assert code == 1009
    await other.send({"type": "ping"})
    assert (await other.until(lambda f: f["type"] == "pong")) == {"type": "pong"}


async def test_first_frame_must_be_hello(server: Running, team: Team) -> None:
    sock = await AgentSocket.open(server.ws_url, team.alice.token, hello=False)
    await sock.send({"type": "ping"})
    assert (await sock.recv())["code"] == "hello_required"
    await sock.send({"type": "hello", "last_event_id": None})
    assert (await sock.recv())["type"] == "ready"


async def test_logout_closes_the_sessions_sockets_with_4401(server: Running, team: Team) -> None:
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    assert (await team.alice.http.post("/api/auth/logout")).status_code == 200
    code, _ = await alice.closed(timeout=5)
    assert code == 4401
    await bob.send({"type": "ping"})
    assert (await bob.until(lambda f: f["type"] == "pong")) == {"type": "pong"}
    again = await AgentSocket.open(server.ws_url, team.alice.token, hello=False)
    assert await again.closed() == (4401, "log in first")


async def test_deactivating_an_agent_closes_their_sockets(
    server: Running, admin: httpx.AsyncClient, team: Team
) -> None:
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    response = await admin.patch(
        f"/api/admin/agents/{team.bob.user['id']}", json={"is_active": False}
    )
    assert response.status_code == 200, response.text
    code, _ = await bob.closed(timeout=5)
    assert code == 4401


async def test_stop_closes_sockets_with_1012(server: Running, team: Team) -> None:
    sock = await AgentSocket.open(server.ws_url, team.alice.token)
    stopping = asyncio.create_task(server.stop())
    code, _ = await sock.closed()
    assert code == 1012
    await stopping
    server.server.should_exit = True  # the fixture's own stop is then a no-op
