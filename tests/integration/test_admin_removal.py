"""Teams, inboxes and canned responses can be edited and deleted over the admin API, on
SQLite and PostgreSQL; deleting never deletes history (an inbox with conversations stays)."""

from __future__ import annotations

import httpx

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound


async def test_a_team_is_renamed_then_deleted_and_its_conversations_stay(
    server: Running, admin: httpx.AsyncClient
) -> None:
    agent = await create_agent(admin, "bo@example.test", name="Bo")
    team = (await admin.post("/api/admin/teams", json={"name": "Billing"})).json()
    renamed = await admin.patch(
        f"/api/admin/teams/{team['id']}", json={"name": "Payments", "member_ids": [agent["id"]]}
    )
    assert renamed.json() == {"id": team["id"], "name": "Payments", "member_ids": [agent["id"]]}
    inbox = await create_api_inbox(admin, name="Shop")
    cid = (await post_inbound(server.client(), inbox, text="Hi", contact="t1")).json()[
        "conversation_id"
    ]
    await admin.post(f"/api/conversations/{cid}/assignment", json={"team_id": team["id"]})
    gone = await admin.delete(f"/api/admin/teams/{team['id']}")
    assert gone.status_code == 200, gone.text
    assert (await admin.get("/api/admin/teams")).json()["items"] == []
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    assert conv["team_id"] is None
    assert (await admin.delete(f"/api/admin/teams/{team['id']}")).status_code == 404


async def test_only_an_inbox_without_conversations_is_deleted(
    server: Running, admin: httpx.AsyncClient
) -> None:
    agent = await create_agent(admin, "cy@example.test", name="Cy")
    spare = await create_api_inbox(admin, name="Spare", members=[agent["id"]])
    used = await create_api_inbox(admin, name="Used")
    await post_inbound(server.client(), used, text="Hi", contact="u1")
    refused = await admin.delete(f"/api/admin/inboxes/{used['id']}")
    assert refused.status_code == 409
    assert "disable it instead" in refused.json()["error"]["message"]
    done = await admin.delete(f"/api/admin/inboxes/{spare['id']}")
    assert done.status_code == 200, done.text
    names = [i["name"] for i in (await admin.get("/api/admin/inboxes")).json()["items"]]
    assert names == ["Used"]


async def test_a_canned_response_is_edited_and_deleted(admin: httpx.AsyncClient) -> None:
    made = (
        await admin.post(
            "/api/admin/canned-responses", json={"short_code": "hi-there", "content": "Hello"}
        )
    ).json()
    edited = await admin.patch(f"/api/admin/canned-responses/{made['id']}", json={"content": "Hi!"})
    assert edited.status_code == 200, edited.text
    assert (await admin.delete(f"/api/admin/canned-responses/{made['id']}")).status_code == 200
    assert (await admin.get("/api/canned-responses")).json()["items"] == []


async def test_a_deleted_inbox_or_team_id_is_never_given_to_a_new_one(
    server: Running, admin: httpx.AsyncClient
) -> None:
    """SQLite gives a new row the highest id + 1: deleting the newest inbox handed its id
    to the next inbox, with the old one's scoped identities, so the new chat widget's
    visitors got 500 ("could not create a visitor session") and rules naming the old id
    applied to the new inbox. Ids are never reused now, on either engine."""
    old = (
        await admin.post("/api/admin/inboxes", json={"name": "Old site", "kind": "webchat"})
    ).json()
    visitor = server.client()
    for _ in range(2):  # sessions of the old widget: identities visitor:<n> in its scope
        opened = await visitor.post(f"/api/widget/{old['public_key']}/sessions", json={})
        assert opened.status_code == 201, opened.text
    assert (await admin.delete(f"/api/admin/inboxes/{old['id']}")).status_code == 200
    new = (
        await admin.post("/api/admin/inboxes", json={"name": "New site", "kind": "webchat"})
    ).json()
    assert new["id"] > old["id"]
    for _ in range(3):
        opened = await visitor.post(f"/api/widget/{new['public_key']}/sessions", json={})
        assert opened.status_code == 201, opened.text
    team = (await admin.post("/api/admin/teams", json={"name": "Night shift"})).json()
    assert (await admin.delete(f"/api/admin/teams/{team['id']}")).status_code == 200
    again = (await admin.post("/api/admin/teams", json={"name": "Day shift"})).json()
    assert again["id"] > team["id"]
