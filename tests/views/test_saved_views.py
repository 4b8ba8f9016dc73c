"""Saved views (docs/views.md): personal and shared filter sets with counts that follow
each agent's own inboxes and "me"."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound


def _by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in body["items"]}


async def test_views_count_what_each_agent_may_see(
    server: Running, admin: httpx.AsyncClient
) -> None:
    ann = await create_agent(admin, "ann@example.test", name="Ann")
    bob = await create_agent(admin, "bob@example.test", name="Bob")
    shop = await create_api_inbox(admin, name="Shop", members=[ann["id"], bob["id"]])
    vip = await create_api_inbox(admin, name="VIP", members=[bob["id"]])
    ids = []
    for n, inbox in enumerate((shop, shop, vip)):
        r = await post_inbound(server.client(), inbox, text="hi", contact=f"c{n}")
        ids.append(r.json()["conversation_id"])
    for cid in ids:
        await admin.post(f"/api/conversations/{cid}/labels", json={"add": ["urgent"]})
    await admin.post(f"/api/conversations/{ids[0]}/assignment", json={"assignee_id": ann["id"]})

    shared = await admin.post(
        "/api/views",
        json={"name": "Urgent", "shared": True, "filters": {"label": "urgent", "status": "all"}},
    )
    assert shared.status_code == 201, shared.text
    a = await server.login("ann@example.test", "agent-password-1")
    b = await server.login("bob@example.test", "agent-password-1")
    mine = await a.post(
        "/api/views", json={"name": "My open", "filters": {"assignee": "me", "status": "open"}}
    )
    assert mine.status_code == 201 and mine.json()["count"] == 1

    ann_views = _by_name((await a.get("/api/views")).json())
    bob_views = _by_name((await b.get("/api/views")).json())
    assert ann_views["Urgent"]["count"] == 2  # Ann is not in VIP: its conversation is not hers
    assert bob_views["Urgent"]["count"] == 3
    assert "My open" not in bob_views  # a personal view is its owner's
    assert ann_views["My open"]["mine"] and not ann_views["Urgent"]["mine"]

    view_id = mine.json()["id"]
    assert (await b.put(f"/api/views/{view_id}", json={"name": "x"})).status_code == 404
    assert (await a.put(f"/api/views/{shared.json()['id']}", json={"name": "x"})).status_code == 403
    share = await a.post("/api/views", json={"name": "Team", "shared": True, "filters": {}})
    assert share.status_code == 403
    renamed = await a.put(
        f"/api/views/{view_id}",
        json={"name": "Mine", "filters": {"assignee": "me", "status": "all"}},
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Mine"
    assert (await a.delete(f"/api/views/{view_id}")).status_code == 200
    assert "Mine" not in _by_name((await a.get("/api/views")).json())


async def test_bad_filters_are_refused_in_words(server: Running, admin: httpx.AsyncClient) -> None:
    for filters, words in (
        ({"colour": "red"}, "unknown colour"),
        ({"status": "closed"}, "status"),
        ({"assignee": "everyone"}, "assignee"),
        ({"inbox_id": "two"}, "inbox_id"),
        ({"q": {"$ne": 1}}, "filters.q"),
    ):
        r = await admin.post("/api/views", json={"name": "v", "filters": filters})
        assert r.status_code == 422, (filters, r.text)
        assert words in r.json()["error"]["message"], (words, r.json())
    blank = await admin.post("/api/views", json={"name": "", "filters": {}})
    assert blank.status_code == 422
