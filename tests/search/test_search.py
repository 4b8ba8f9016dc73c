"""Full-text search through the API, on SQLite (FTS5) and PostgreSQL (tsvector + GIN)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound


def _hits(body: dict[str, Any]) -> list[str]:
    return ["".join(s["text"] for s in item["snippet"]) for item in body["items"]]


def _marked(body: dict[str, Any]) -> list[list[str]]:
    return [[s["text"] for s in item["snippet"] if s["hit"]] for item in body["items"]]


async def test_message_text_is_found_at_once_with_hits_marked(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    posted = await post_inbound(server.client(), inbox, text="Where is my refund for order 1182?")
    cid = posted.json()["conversation_id"]
    await post_inbound(server.client(), inbox, text="Unrelated question about shipping")
    url = f"/api/conversations/{cid}/messages"
    await admin.post(url, json={"text": "Refund approved by finance", "private": True})

    # indexed in the writer's transaction: searchable as soon as the POST returned
    body = (await admin.get("/api/search", params={"q": "refund"})).json()
    assert _hits(body) == ["Refund approved by finance", "Where is my refund for order 1182?"]
    assert _marked(body) == [["Refund"], ["refund"]]
    assert body["items"][0]["kind"] == "note"
    assert body["items"][1]["conversation_id"] == cid
    assert body["items"][1]["contact"]["name"] == "Customer cust-1"

    both = (await admin.get("/api/search", params={"q": "refund order"})).json()
    assert _hits(both) == ["Where is my refund for order 1182?"]  # every word must occur
    prefix = (await admin.get("/api/search", params={"q": "ship"})).json()  # typing…
    assert _hits(prefix) == ["Unrelated question about shipping"]
    notes = (await admin.get("/api/search", params={"q": "refund", "kind": "note"})).json()
    assert len(notes["items"]) == 1


async def test_case_and_diacritics_fold_in_polish_and_greek(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    await post_inbound(server.client(), inbox, text="Zażółć gęślą jaźń, proszę")
    await post_inbound(server.client(), inbox, text="Καλημέρα, η παραγγελία μου δεν ήρθε")
    polish = (await admin.get("/api/search", params={"q": "GESLA"})).json()
    assert _marked(polish) == [["gęślą"]]
    greek = (await admin.get("/api/search", params={"q": "καλημερα παραγγελια"})).json()
    assert _marked(greek) == [["Καλημέρα", "παραγγελία"]]


async def test_agents_find_only_what_their_inboxes_allow(
    server: Running, admin: httpx.AsyncClient
) -> None:
    ann = await create_agent(admin, "ann@example.test")
    mine = await create_api_inbox(admin, name="Mine", members=[ann["id"]])
    theirs = await create_api_inbox(admin, name="Theirs")
    await post_inbound(server.client(), mine, text="invoice copy please", contact="a")
    await post_inbound(server.client(), theirs, text="invoice dispute secret", contact="b")
    agent = await server.login("ann@example.test", "agent-password-1")
    body = (await agent.get("/api/search", params={"q": "invoice"})).json()
    assert _hits(body) == ["invoice copy please"]
    other = await agent.get("/api/search", params={"q": "invoice", "inbox_id": theirs["id"]})
    assert other.json()["items"] == []
    everything = (await admin.get("/api/search", params={"q": "invoice"})).json()
    assert len(everything["items"]) == 2
    anonymous = await server.client().get("/api/search", params={"q": "invoice"})
    assert anonymous.status_code == 401


async def test_filters_status_dates_and_pages(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin)
    ids = []
    for n in range(5):
        r = await post_inbound(server.client(), inbox, text=f"parcel {n}", contact=f"c{n}")
        ids.append(r.json()["conversation_id"])
    resolved = await admin.post(f"/api/conversations/{ids[0]}/status", json={"status": "resolved"})
    assert resolved.status_code == 200, resolved.text
    open_only = (await admin.get("/api/search", params={"q": "parcel", "status": "open"})).json()
    assert len(open_only["items"]) == 4
    done = (await admin.get("/api/search", params={"q": "parcel", "status": "resolved"})).json()
    assert _hits(done) == ["parcel 0"]
    future = await admin.get("/api/search", params={"q": "parcel", "from": "2999-01-01"})
    assert future.json()["items"] == []

    seen: list[str] = []
    params = {"q": "parcel", "limit": "2"}
    while True:
        page = (await admin.get("/api/search", params=params)).json()
        seen += _hits(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [f"parcel {n}" for n in (4, 3, 2, 1, 0)]


async def test_queries_nobody_expects_get_a_clear_answer(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    await post_inbound(server.client(), inbox, text='He said "NEAR(a b)" AND * OR - ^')
    for q in ['"', "NEAR(a b)", "a AND OR", "*", "-x", "^", "a:*|!b", "'; drop table x;--"]:
        r = await admin.get("/api/search", params={"q": q})
        assert r.status_code in (200, 422), (q, r.status_code, r.text)
    near = (await admin.get("/api/search", params={"q": "NEAR(a b)"})).json()
    assert len(near["items"]) == 1  # operators are words here, not syntax
    for params in (
        {"q": ""},
        {"q": "  ,. "},
        {"q": "x", "status": "closed"},
        {"q": "x", "cursor": "abc"},
        {"q": "x", "from": "yesterday"},
    ):
        r = await admin.get("/api/search", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]
