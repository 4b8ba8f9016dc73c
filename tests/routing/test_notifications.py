"""The notification centre and mentions, on SQLite and PostgreSQL (docs/automation.md)."""

from __future__ import annotations

from typing import Any

from server.actions.notifications import mentioned_handles
from tests.realtime.wsclient import AgentSocket
from tests.routing.conftest import Agent, Desk, make_agent
from tests.support.api import create_api_inbox, post_inbound


async def inbox_of(agent: Agent, **query: str) -> dict[str, Any]:
    r = await agent.http.get("/api/notifications", params=query)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def note(desk: Desk, who: Agent, conversation: int, text: str) -> None:
    r = await who.http.post(
        f"/api/conversations/{conversation}/messages", json={"text": text, "private": True}
    )
    assert r.status_code == 201, r.text


def test_mention_handles() -> None:
    assert mentioned_handles("Hi @Ana and @ben.smith, cc @billing-team. mail a@b.c") == {
        "ana",
        "ben.smith",
        "billing-team",
    }


async def test_a_mention_notifies_members_who_can_see_the_inbox(desk: Desk) -> None:
    outsider = await make_agent(desk.server, "otto")  # not a member of the inbox
    conversation = await desk.chat("c1")
    await note(desk, desk.ana, conversation, "@ben can you take this? @otto too. @ana (me)")
    ben = await inbox_of(desk.ben)
    assert [n["kind"] for n in ben["notifications"]] == ["mention"]
    assert ben["notifications"][0]["text"].startswith("Ana mentioned you on conversation")
    assert ben["unread"] == 1
    assert (await inbox_of(outsider))["notifications"] == []
    assert (await inbox_of(desk.ana))["notifications"] == []  # never the author


async def test_a_team_mention_notifies_its_members(desk: Desk) -> None:
    r = await desk.admin.post(
        "/api/admin/teams", json={"name": "Tier Two", "member_ids": [desk.ben.id, desk.cy.id]}
    )
    assert r.status_code == 201, r.text
    conversation = await desk.chat("c1")
    await note(desk, desk.ana, conversation, "escalating to @tier-two")
    assert [n["kind"] for n in (await inbox_of(desk.cy))["notifications"]] == ["mention"]
    assert [n["kind"] for n in (await inbox_of(desk.ben))["notifications"]] == ["mention"]


async def test_assigned_and_new_message_on_my_conversation(desk: Desk) -> None:
    conversation = await desk.chat("c1")
    r = await desk.admin.post(
        f"/api/conversations/{conversation}/assignment", json={"assignee_id": desk.cy.id}
    )
    assert r.status_code == 200, r.text
    await desk.chat("c1", "any news?")
    got = await inbox_of(desk.cy)
    assert [n["kind"] for n in got["notifications"]] == ["message", "assigned"]  # newest first
    assert "any news?" in got["notifications"][0]["text"]


async def test_unread_count_and_marking_read(desk: Desk) -> None:
    conversation = await desk.chat("c1")
    for n in range(3):
        await note(desk, desk.ana, conversation, f"@ben ping {n}")
    got = await inbox_of(desk.ben)
    assert got["unread"] == 3
    first = got["notifications"][0]["id"]
    r = await desk.ben.http.post("/api/notifications/read", json={"ids": [first]})
    assert r.json() == {"marked": 1, "unread": 2}
    assert len((await inbox_of(desk.ben, unread="1"))["notifications"]) == 2
    # someone else's ids are not theirs to mark
    r = await desk.ana.http.post("/api/notifications/read", json={})
    assert r.json()["marked"] == 0
    r = await desk.ben.http.post("/api/notifications/read", json={})
    assert r.json() == {"marked": 2, "unread": 0}
    assert (await desk.ben.http.get("/api/notifications/unread")).json() == {"unread": 0}


async def test_preferences_turn_a_kind_off(desk: Desk) -> None:
    r = await desk.ben.http.put(
        "/api/notifications/preferences", json={"prefs": {"mention": {"app": False}}}
    )
    assert r.status_code == 200, r.text
    assert r.json()["prefs"]["mention"]["app"] is False
    conversation = await desk.chat("c1")
    await note(desk, desk.ana, conversation, "@ben hello")
    assert (await inbox_of(desk.ben))["notifications"] == []
    r = await desk.ben.http.put(
        "/api/notifications/preferences", json={"prefs": {"weather": {"app": True}}}
    )
    assert r.status_code == 422


async def test_notifications_arrive_live_and_after_a_resume(desk: Desk) -> None:
    sock = await AgentSocket.open(desk.server.ws_url, desk.ben.token, max_queue=None)
    conversation = await desk.chat("c1")
    await note(desk, desk.ana, conversation, "@ben live")

    def mine(frame: dict[str, Any]) -> bool:
        event = frame.get("event") or {}
        return (
            event.get("type") == "notification.created"
            and event["payload"]["user_id"] == desk.ben.id
        )

    live = await sock.until(lambda f: f["type"] == "event" and mine(f))
    await sock.close()
    await note(desk, desk.ana, conversation, "@ben while you were away")
    again = await AgentSocket.open(desk.server.ws_url, desk.ben.token, live["id"], max_queue=None)
    missed = await again.until(lambda f: f["type"] == "event" and mine(f))
    assert "while you were away" in missed["event"]["payload"]["notification"]["text"]


async def test_an_agent_outside_the_inbox_gets_no_notification_events(desk: Desk) -> None:
    otto = await make_agent(desk.server, "otto")
    other = await create_api_inbox(desk.admin, name="Other", members=[otto.id])
    sock = await AgentSocket.open(desk.server.ws_url, otto.token, max_queue=None)
    conversation = await desk.chat("c1")
    await note(desk, desk.ana, conversation, "@ben secret")
    # then an event otto does see: the stream is ordered, so anything before it has come
    r = await post_inbound(desk.admin, other, contact="z", text="in otto's inbox")
    assert r.status_code in (200, 201), r.text
    seen: list[dict[str, Any]] = []
    await sock.until(lambda f: (f.get("event") or {}).get("inbox_id") == other["id"], keep=seen)
    assert [f for f in seen if (f.get("event") or {}).get("type") == "notification.created"] == []


async def test_new_conversation_notifications_are_opt_in(desk: Desk) -> None:
    prefs = (await desk.ben.http.get("/api/notifications/preferences")).json()["prefs"]
    assert prefs["new_conversation"]["app"] is False and prefs["mention"]["app"] is True
    r = await desk.ben.http.put(
        "/api/notifications/preferences", json={"prefs": {"new_conversation": {"app": True}}}
    )
    assert r.status_code == 200, r.text
    conversation = await desk.chat("c1")
    await desk.chat("c1", "a follow-up is not a new conversation")
    got = await inbox_of(desk.ben)
    assert [(n["kind"], n["conversation_id"]) for n in got["notifications"]] == [
        ("new_conversation", conversation)
    ]
    assert (await inbox_of(desk.ana))["notifications"] == []  # did not opt in
