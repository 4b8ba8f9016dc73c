"""The core through its REST API, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid

import httpx

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, eventually, post_inbound
from tests.support.receiver import Receiver


async def test_login_rejects_wrong_password_and_accepts_right(server: Running) -> None:
    client = server.client()
    bad = await client.post(
        "/api/auth/login", json={"email": "admin@example.test", "password": "nope"}
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthorized"
    unauth = await client.get("/api/conversations")
    assert unauth.status_code == 401


async def test_inbound_api_message_creates_conversation_and_dedupes(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    client = server.client()
    assert (await post_inbound(client, inbox, token="wrong")).status_code == 401
    first = await post_inbound(client, inbox, external_id="ext-1", text="Where is my order?")
    assert first.status_code == 201, first.text
    again = await post_inbound(client, inbox, external_id="ext-1", text="Where is my order?")
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    listing = (await admin.get("/api/conversations")).json()
    assert [c["id"] for c in listing["items"]] == [first.json()["conversation_id"]]
    conv = listing["items"][0]
    assert conv["channel"] == "api" and conv["status"] == "open"
    assert conv["contact"]["name"] == "Customer cust-1"
    assert conv["waiting_since"] is not None


async def test_concurrent_redelivery_stores_one_message(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    client = server.client()
    responses = await asyncio.gather(
        *(post_inbound(client, inbox, external_id="same", contact="new-contact") for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert len({r.json()["message_id"] for r in responses}) == 1
    conversations = (await admin.get("/api/conversations")).json()["items"]
    assert len(conversations) == 1
    messages = (await admin.get(f"/api/conversations/{conversations[0]['id']}/messages")).json()
    assert len(messages["items"]) == 1


async def test_agent_outside_inbox_gets_404_like_missing(
    server: Running, admin: httpx.AsyncClient
) -> None:
    member = await create_agent(admin, "member@example.test")
    await create_agent(admin, "outsider@example.test")
    inbox = await create_api_inbox(admin, members=[member["id"]])
    created = (await post_inbound(server.client(), inbox)).json()
    outsider = await server.login("outsider@example.test", "agent-password-1")
    cid = created["conversation_id"]
    hidden = await outsider.get(f"/api/conversations/{cid}")
    missing = await outsider.get("/api/conversations/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert (await outsider.get("/api/conversations")).json()["items"] == []
    reply = await outsider.post(f"/api/conversations/{cid}/messages", json={"text": "hi"})
    assert reply.status_code == 404
    insider = await server.login("member@example.test", "agent-password-1")
    assert (await insider.get(f"/api/conversations/{cid}")).status_code == 200


async def test_reply_is_idempotent_signed_and_delivered(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        receiver.script.extend([503])  # first attempt fails transiently, then succeeds
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
        body = {"text": "On its way!", "client_id": str(uuid.uuid4())}
        first = await admin.post(f"/api/conversations/{cid}/messages", json=body)
        second = await admin.post(f"/api/conversations/{cid}/messages", json=body)
        assert first.status_code == 201 and second.status_code == 200
        assert first.json()["message"]["id"] == second.json()["message"]["id"]
        assert first.json()["message"]["status"] == "pending"

        async def delivered() -> bool:
            items = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
            return any(m["status"] == "sent" for m in items)

        await eventually(delivered, timeout=20)
    assert len(receiver.requests) == 2
    deliveries = {r.headers["x-switchboard-delivery"] for r in receiver.requests}
    assert deliveries == {str(first.json()["message"]["id"])}
    req = receiver.requests[-1]
    signed = req.headers["x-switchboard-timestamp"].encode() + b"." + req.body
    expected = "sha256=" + hmac.new(b"hook-secret", signed, hashlib.sha256).hexdigest()
    assert req.headers["x-switchboard-signature"] == expected
    assert json.loads(req.body)["message"]["text"] == "On its way!"


async def test_permanent_webhook_failure_marks_message_failed(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        receiver.script.extend([410])
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
        await admin.post(f"/api/conversations/{cid}/messages", json={"text": "hello"})

        async def failed() -> dict[str, object] | None:
            items = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
            return next((m for m in items if m["status"] == "failed"), None)

        message = await eventually(failed, timeout=20)
    assert "HTTP 410" in str(message["error"])


async def test_notes_never_reach_the_integration(server: Running, admin: httpx.AsyncClient) -> None:
    async with Receiver() as receiver:
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
        note = await admin.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "internal: refund approved", "private": True},
        )
        assert note.status_code == 201 and note.json()["message"]["private"] is True
        await admin.post(f"/api/conversations/{cid}/messages", json={"text": "public"})

        async def one_delivery() -> bool:
            return len(receiver.requests) >= 1

        await eventually(one_delivery)
        await asyncio.sleep(0.5)  # give a wrongly queued note its chance to go out
    assert [json.loads(r.body)["message"]["text"] for r in receiver.requests] == ["public"]


async def test_bad_input_gets_precise_errors(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin)
    cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
    url = f"/api/conversations/{cid}/messages"
    unknown = await admin.post(url, json={"text": "x", "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    wrong_type = await admin.post(url, json={"text": 5})
    assert wrong_type.status_code == 422
    not_json = await admin.post(url, content=b"{oops", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and "JSON" in not_json.json()["error"]["message"]
    form = await admin.post(url, data={"text": "x"})
    assert form.status_code == 422
    huge = await admin.post(url, json={"text": "x" * 2_000_000})
    assert huge.status_code == 413
    bad_id = await admin.get("/api/conversations/abc")
    assert bad_id.status_code == 422
    reopen = await admin.post(f"/api/conversations/{cid}/status", json={"status": "open"})
    assert reopen.status_code == 409
    assert "expected one of" in reopen.json()["error"]["message"]
    assert "got open" in reopen.json()["error"]["message"]
    messages = (await admin.get(url)).json()["items"]
    assert len(messages) == 1  # nothing partial was written by the refused requests


async def test_status_assign_labels_priority_and_filters(
    server: Running, admin: httpx.AsyncClient
) -> None:
    agent = await create_agent(admin, "ana@example.test", name="Ana")
    inbox = await create_api_inbox(admin, members=[agent["id"]])
    cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
    base = f"/api/conversations/{cid}"
    assigned = await admin.post(f"{base}/assignment", json={"assignee_id": agent["id"]})
    assert assigned.json()["conversation"]["assignee_id"] == agent["id"]
    labels = await admin.post(f"{base}/labels", json={"add": ["billing", "vip"]})
    assert labels.json()["conversation"]["labels"] == ["billing", "vip"]
    await admin.post(f"{base}/labels", json={"remove": ["vip"]})
    prio = await admin.post(f"{base}/priority", json={"priority": "urgent"})
    assert prio.json()["conversation"]["priority"] == "urgent"
    ana = await server.login("ana@example.test", "agent-password-1")
    mine = (await ana.get("/api/conversations", params={"assignee": "me"})).json()["items"]
    assert [c["id"] for c in mine] == [cid]
    by_label = (await ana.get("/api/conversations", params={"label": "billing"})).json()
    assert [c["id"] for c in by_label["items"]] == [cid]
    assert (await ana.get("/api/conversations", params={"label": "vip"})).json()["items"] == []
    resolved = await ana.post(f"{base}/status", json={"status": "resolved"})
    assert resolved.json()["conversation"]["status"] == "resolved"
    assert (await ana.get("/api/conversations")).json()["items"] == []
    snooze = await ana.post(
        f"{base}/status", json={"status": "snoozed", "snoozed_until": "2099-01-01T00:00:00Z"}
    )
    assert snooze.status_code == 409  # resolved conversations are reopened, not snoozed
    await ana.post(f"{base}/status", json={"status": "open"})
    versions = (await ana.get(base)).json()["version"]
    assert versions > 1
    activity = (await ana.get(f"{base}/messages")).json()["items"]
    assert any(m["kind"] == "activity" and "Resolved by Ana" in m["text"] for m in activity)


async def test_pagination_walks_every_conversation_once(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    client = server.client()
    for i in range(7):
        await post_inbound(client, inbox, contact=f"c{i}", sent_at=f"2026-01-0{i + 1}T10:00:00Z")
    for sort in ("recent", "waiting"):
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": "3", "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = (await admin.get("/api/conversations", params=params)).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 7 and len(set(seen)) == 7
        if sort == "waiting":  # waiting longest first
            assert seen == sorted(seen)


async def test_secrets_are_write_only(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin)
    assert "inbound_token" not in inbox["config"]
    assert inbox["secrets_set"] == {"webhook_secret": True, "inbound_token": True}
    listing = (await admin.get("/api/admin/inboxes")).text
    assert "inbound-token-0123456789" not in listing and "hook-secret" not in listing
    patched = await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json={"name": "Renamed"})
    assert patched.json()["secrets_set"]["inbound_token"] is True
    still = await post_inbound(server.client(), inbox)
    assert still.status_code == 201  # the stored secret survived an edit that omitted it


async def test_contacts_merge_moves_conversations(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox_a = await create_api_inbox(admin, name="A")
    inbox_b = await create_api_inbox(admin, name="B")
    client = server.client()
    a = (await post_inbound(client, inbox_a, contact="alice-a")).json()
    b = (await post_inbound(client, inbox_b, contact="alice-b")).json()
    conv_a = (await admin.get(f"/api/conversations/{a['conversation_id']}")).json()
    conv_b = (await admin.get(f"/api/conversations/{b['conversation_id']}")).json()
    target, source = conv_a["contact_id"], conv_b["contact_id"]
    merged = await admin.post(f"/api/contacts/{target}/merge", json={"source_id": source})
    assert merged.status_code == 200, merged.text
    assert len(merged.json()["identities"]) == 2
    convs = (await admin.get(f"/api/contacts/{target}/conversations")).json()["items"]
    assert {c["id"] for c in convs} == {a["conversation_id"], b["conversation_id"]}
    again = (await post_inbound(client, inbox_b, contact="alice-b")).json()
    again_conv = (await admin.get(f"/api/conversations/{again['conversation_id']}")).json()
    assert again_conv["contact_id"] == target


async def test_openapi_document_lists_the_api(server: Running) -> None:
    doc = (await server.client().get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert "post" in doc["paths"]["/api/conversations/{id}/messages"]
    assert "MessageBody" in doc["components"]["schemas"]


async def test_admin_manages_teams_canned_responses_and_agents(
    server: Running, admin: httpx.AsyncClient
) -> None:
    ana = await create_agent(admin, "ana2@example.test")
    team = (await admin.post("/api/admin/teams", json={"name": "Billing"})).json()
    patched = await admin.patch(f"/api/admin/teams/{team['id']}", json={"member_ids": [ana["id"]]})
    assert patched.json()["member_ids"] == [ana["id"]]
    dup = await admin.post("/api/admin/teams", json={"name": "Billing"})
    assert dup.status_code == 409
    canned = (
        await admin.post(
            "/api/admin/canned-responses", json={"short_code": "hi", "content": "Hello!"}
        )
    ).json()
    await admin.patch(f"/api/admin/canned-responses/{canned['id']}", json={"content": "Hey!"})
    listed = (await admin.get("/api/canned-responses")).json()["items"]
    assert [(c["short_code"], c["content"]) for c in listed] == [("hi", "Hey!")]
    assert (await admin.delete(f"/api/admin/canned-responses/{canned['id']}")).status_code == 200
    assert (await admin.delete(f"/api/admin/canned-responses/{canned['id']}")).status_code == 404
    agent_client = await server.login("ana2@example.test", "agent-password-1")
    forbidden = await agent_client.post("/api/admin/teams", json={"name": "X"})
    assert forbidden.status_code == 403
    await admin.patch(f"/api/admin/agents/{ana['id']}", json={"is_active": False})
    assert (await agent_client.get("/api/me")).status_code == 401  # session ended at once


async def test_contacts_are_listed_searched_and_scoped(
    server: Running, admin: httpx.AsyncClient
) -> None:
    member = await create_agent(admin, "scoped@example.test")
    mine = await create_api_inbox(admin, name="Mine", members=[member["id"]])
    other = await create_api_inbox(admin, name="Other")
    await post_inbound(server.client(), mine, contact="zoe")
    await post_inbound(server.client(), other, contact="yan")
    agent_client = await server.login("scoped@example.test", "agent-password-1")
    names = [c["name"] for c in (await agent_client.get("/api/contacts")).json()["items"]]
    assert names == ["Customer zoe"]
    found = (await admin.get("/api/contacts", params={"q": "YAN"})).json()["items"]
    assert [c["name"] for c in found] == ["Customer yan"]


async def test_agent_attachment_upload_travels_with_the_reply(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        inbox = await create_api_inbox(admin, webhook_url=receiver.url)
        cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
        upload = await admin.post(
            f"/api/conversations/{cid}/attachments",
            params={"filename": "invoice.pdf"},
            content=b"%PDF-1.4 x",
            headers={"content-type": "application/pdf"},
        )
        assert upload.status_code == 201, upload.text
        att = upload.json()
        bad = await admin.post(
            f"/api/conversations/{cid}/attachments",
            params={"filename": "../etc/passwd"},
            content=b"x",
        )
        assert bad.status_code == 422
        reply = await admin.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "Your invoice", "attachment_ids": [att["id"]]},
        )
        assert reply.status_code == 201, reply.text
        assert reply.json()["message"]["attachments"][0]["filename"] == "invoice.pdf"
        reuse = await admin.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "again", "attachment_ids": [att["id"]]},
        )
        assert reuse.status_code == 422  # an attachment belongs to one message
        await eventually(lambda: _received(receiver))
        download = await admin.get(att["url"])
        assert download.content == b"%PDF-1.4 x"
        assert download.headers["content-disposition"].startswith("attachment")
    sent = json.loads(receiver.requests[0].body)["message"]["attachments"]
    assert sent == [{"filename": "invoice.pdf", "content_type": "application/pdf", "size": 10}]


async def _received(receiver: Receiver) -> bool:
    return bool(receiver.requests)


async def test_agents_see_the_directory_for_assignment(
    server: Running, admin: httpx.AsyncClient
) -> None:
    ana = await create_agent(admin, "dir@example.test", name="Dora")
    await admin.post("/api/admin/teams", json={"name": "Returns"})
    client = await server.login("dir@example.test", "agent-password-1")
    agents = (await client.get("/api/agents")).json()["items"]
    assert {a["name"] for a in agents} == {"Admin", "Dora"}
    assert "email" not in agents[0] and "password_hash" not in agents[0]
    assert [t["name"] for t in (await client.get("/api/teams")).json()["items"]] == ["Returns"]
    assert (await client.get("/api/admin/agents")).status_code == 403
    assert ana["id"] in {a["id"] for a in agents}
