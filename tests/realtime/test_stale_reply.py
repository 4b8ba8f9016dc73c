"""The collision guard over REST: a reply from someone who has not seen the newest message
is held with 409 stale_reply (listing what is new) unless the agent confirms with force."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.realtime.conftest import Team
from tests.support.api import post_inbound


async def reply(
    agent: httpx.AsyncClient, conv: int, text: str, last_seen: int | None, **extra: Any
) -> httpx.Response:
    return await agent.post(
        f"/api/conversations/{conv}/messages",
        json={"text": text, "last_seen_message_id": last_seen, **extra},
    )


async def test_a_newer_customer_message_holds_the_reply_until_forced(
    server: Running, team: Team
) -> None:
    client = server.client()
    first = (await post_inbound(client, team.a, text="Order 1 is late")).json()
    conv = first["conversation_id"]
    newer = (await post_inbound(client, team.a, text="Actually it arrived")).json()
    held = await reply(team.alice.http, conv, "Sorry, checking!", first["message_id"])
    assert held.status_code == 409, held.text
    error = held.json()["error"]
    assert error["code"] == "stale_reply"
    assert [m["id"] for m in error["details"]["messages"]] == [newer["message_id"]]
    assert error["details"]["messages"][0]["text"] == "Actually it arrived"
    listing = (await team.alice.http.get(f"/api/conversations/{conv}/messages")).json()
    assert len(listing["items"]) == 2  # nothing was stored by the held send
    forced = await reply(team.alice.http, conv, "Great!", first["message_id"], force=True)
    assert forced.status_code == 201, forced.text
    fresh = await reply(team.alice.http, conv, "Anything else?", forced.json()["message"]["id"])
    assert fresh.status_code == 201, fresh.text


async def test_another_agents_reply_holds_mine_but_my_own_and_notes_do_not(
    server: Running, team: Team
) -> None:
    first = (await post_inbound(server.client(), team.a, text="Help")).json()
    conv, seen = first["conversation_id"], first["message_id"]
    mine = await reply(team.alice.http, conv, "On it", seen)
    assert mine.status_code == 201
    note = await reply(team.alice.http, conv, "internal: VIP", seen, private=True)
    assert note.status_code == 201
    again = await reply(team.alice.http, conv, "Give me a minute", seen)
    assert again.status_code == 201  # my own reply and a note are not "new to me"
    bobs = await reply(team.bob.http, conv, "Bob here, I have it", seen)
    assert bobs.status_code == 409  # bob had not seen alice's replies
    assert {m["text"] for m in bobs.json()["error"]["details"]["messages"]} == {
        "On it",
        "Give me a minute",
    }
    bob_id = (await reply(team.bob.http, conv, "Bob here", seen, force=True)).json()
    held = await reply(team.alice.http, conv, "Done", again.json()["message"]["id"])
    assert held.status_code == 409
    assert [m["id"] for m in held.json()["error"]["details"]["messages"]] == [
        bob_id["message"]["id"]
    ]


async def test_without_last_seen_the_guard_does_not_apply(server: Running, team: Team) -> None:
    conv = (await post_inbound(server.client(), team.a)).json()["conversation_id"]
    assert (await reply(team.alice.http, conv, "Hi", None)).status_code == 201
