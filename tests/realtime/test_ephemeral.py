"""Typing, viewing and presence: shown to other agents of the inbox, never stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.realtime.presence import MemoryPresence, RedisPresence
from tests.conftest import Running
from tests.realtime.conftest import Team
from tests.realtime.wsclient import AgentSocket, Frame
from tests.support.api import eventually, post_inbound


async def pong_first(sock: AgentSocket, kinds: tuple[str, ...]) -> Frame:
    """Send a ping; return the first frame of ``kinds`` or the pong (whichever is first)."""
    await sock.send({"type": "ping"})
    return await sock.until(lambda f: f["type"] in (*kinds, "pong"))


async def test_typing_in_a_private_note_reaches_the_inboxs_other_agents_only(
    server: Running, team: Team
) -> None:
    conv = (await post_inbound(server.client(), team.a)).json()["conversation_id"]
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    carol = await AgentSocket.open(server.ws_url, team.carol.token)
    await alice.send({"type": "typing", "conversation_id": conv, "private": True, "active": True})
    typing = await bob.until(lambda f: f["type"] == "typing")
    assert typing == {
        "type": "typing",
        "conversation_id": conv,
        "inbox_id": team.a["id"],
        "user_id": team.alice.user["id"],
        "name": "alice",
        "private": True,
        "active": True,
    }
    assert await pong_first(alice, ("typing",)) == {"type": "pong"}  # no echo to the typist
    assert await pong_first(carol, ("typing",)) == {"type": "pong"}  # not carol's inbox
    stored = [e for e in await server.ctx.bus.replay("0") if e.event.type == "typing"]
    assert [e.event.audience for e in stored] == ["agents"]  # never a customer audience


async def test_viewing_is_announced_and_withdrawn(server: Running, team: Team) -> None:
    conv = (await post_inbound(server.client(), team.a)).json()["conversation_id"]
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    await alice.send({"type": "viewing", "conversation_id": conv})
    seen = await bob.until(lambda f: f["type"] == "viewing")
    assert (seen["conversation_id"], seen["active"], seen["user_id"]) == (
        conv,
        True,
        team.alice.user["id"],
    )
    await alice.send({"type": "viewing", "conversation_id": None})
    left = await bob.until(lambda f: f["type"] == "viewing")
    assert (left["conversation_id"], left["active"]) == (conv, False)
    await alice.send({"type": "viewing", "conversation_id": conv})
    await bob.until(lambda f: f["type"] == "viewing" and f["active"])
    await alice.close()  # leaving the socket withdraws the badge too
    gone = await bob.until(lambda f: f["type"] == "viewing")
    assert gone["active"] is False


async def test_presence_online_away_offline(server: Running, team: Team) -> None:
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    bob_id = team.bob.user["id"]

    def about_bob(frame: Frame) -> bool:
        return frame["type"] == "presence" and frame["user_id"] == bob_id

    assert (await alice.until(about_bob))["status"] == "online"
    await bob.send({"type": "presence", "status": "away"})
    assert (await alice.until(about_bob))["status"] == "away"
    await bob.close()
    assert (await alice.until(about_bob))["status"] == "offline"


async def test_many_sockets_of_one_agent_at_once_announce_one_presence_change(
    server: Running, team: Team
) -> None:
    alice = await AgentSocket.open(server.ws_url, team.alice.token)
    bob_id = team.bob.user["id"]
    await asyncio.gather(*(AgentSocket.open(server.ws_url, team.bob.token) for _ in range(15)))
    await alice.send({"type": "ping"})
    seen: list[Frame] = []
    await alice.until(lambda f: f["type"] == "pong", keep=seen)
    about_bob = [f for f in seen if f["type"] == "presence" and f["user_id"] == bob_id]
    assert [f["status"] for f in about_bob] == ["online"]


async def test_a_new_socket_learns_who_is_online(server: Running, team: Team) -> None:
    await AgentSocket.open(server.ws_url, team.alice.token)
    bob = await AgentSocket.open(server.ws_url, team.bob.token)
    alice_id = team.alice.user["id"]
    frame = await bob.until(lambda f: f["type"] == "presence" and f["user_id"] == alice_id)
    assert frame["status"] == "online"


@pytest.fixture(params=["memory", "redis"])
def presence(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryPresence()
    import redis.asyncio as aioredis

    server = request.getfixturevalue("redis_server")
    server.flush()
    return RedisPresence(aioredis.from_url(server.url))


async def test_presence_entries_expire_when_their_node_stops_refreshing(presence: Any) -> None:
    await presence.touch(1, "conn-a", "away", ttl=60)
    await presence.touch(1, "conn-b", "online", ttl=0.2)  # this node "dies": no refresh
    await presence.touch(2, "conn-c", "online", ttl=60)
    assert await presence.snapshot() == {1: "online", 2: "online"}

    async def bob_fell_back() -> bool:
        return await presence.user_status(1) == "away"

    await eventually(bob_fell_back)
    await presence.drop(1, "conn-a")
    assert await presence.snapshot() == {2: "online"}
    if isinstance(presence, RedisPresence):
        await presence._redis.aclose()
