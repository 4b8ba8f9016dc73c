"""The conversation list carries each conversation's last message (direction, kind, text)
for the inbox rows, on SQLite and PostgreSQL; activity lines are not a last message."""

from __future__ import annotations

import httpx

from tests.conftest import Running
from tests.support.api import create_api_inbox, post_inbound


async def test_each_row_has_its_last_message(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    client = server.client()
    quiet = (await post_inbound(client, inbox, text="Only   me\nhere", contact="p1")).json()
    busy = (await post_inbound(client, inbox, text="First", contact="p2")).json()
    cid = busy["conversation_id"]
    await post_inbound(client, inbox, text="Second", contact="p2")
    reply = await admin.post(f"/api/conversations/{cid}/messages", json={"text": "x" * 400})
    assert reply.status_code == 201, reply.text
    await admin.post(f"/api/conversations/{cid}/assignment", json={"assignee_id": None})
    await admin.post(f"/api/conversations/{cid}/priority", json={"priority": "high"})
    items = (await admin.get("/api/conversations", params={"status": "all"})).json()["items"]
    rows = {i["id"]: i["last_message"] for i in items}
    assert rows[quiet["conversation_id"]]["text"] == "Only me here"
    assert rows[quiet["conversation_id"]]["direction"] == "in"
    last = rows[cid]
    assert (last["direction"], last["kind"], last["sender_type"]) == ("out", "message", "agent")
    assert last["text"] == "x" * 160  # a preview, not the whole message
    assert last["id"] == reply.json()["message"]["id"]
