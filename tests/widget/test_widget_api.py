"""The visitor REST API against a real server (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import time
import uuid

import httpx

from tests.conftest import Running
from tests.support.api import eventually
from tests.widget.helpers import (
    SECRET,
    Visitor,
    create_webchat_inbox,
    jwt_token,
    signed_user,
)


async def test_visitor_message_reaches_agents_once_and_reply_comes_back(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    assert (await visitor.start(form={})).status_code == 201
    first = await visitor.send("Hello <b>there</b>", client_id="client-0001")
    again = await visitor.send("Hello <b>there</b>", client_id="client-0001")
    assert first.status_code == 201 and again.status_code == 200, first.text
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    conv_id = first.json()["message"]["conversation_id"]
    msgs = (await admin.get(f"/api/conversations/{conv_id}/messages")).json()["items"]
    assert [m["text"] for m in msgs] == ["Hello <b>there</b>"]
    await admin.post(
        f"/api/conversations/{conv_id}/messages", json={"text": "secret note", "private": True}
    )
    await admin.post(f"/api/conversations/{conv_id}/messages", json={"text": "Hi! How can I help?"})
    history = await visitor.history()
    assert [m["text"] for m in history] == ["Hello <b>there</b>", "Hi! How can I help?"]
    assert history[0]["client_id"] == "client-0001"
    assert history[1]["author"]["name"] == "Admin" or history[1]["author"]["name"]
    assert "content_attributes" not in history[1] and "sender_id" not in history[1]


async def test_visitor_sees_only_own_conversations(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    alice, mallory = (Visitor(server.client(), inbox["public_key"]) for _ in range(2))
    await alice.start()
    await mallory.start()
    sent = await alice.send("alice's secret", client_id="shared-client-id")
    clash = await mallory.send("mallory", client_id="shared-client-id")
    assert clash.status_code == 201
    assert clash.json()["message"]["id"] != sent.json()["message"]["id"]
    assert [m["text"] for m in await mallory.history()] == ["mallory"]
    att = await mallory.client.get(
        mallory.url("messages"), headers={"authorization": "Bearer forged"}
    )
    assert att.status_code == 401


async def test_identity_verification_required(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_webchat_inbox(admin, identity_verification="required", hmac_secret=SECRET)
    key = inbox["public_key"]
    missing = await Visitor(server.client(), key).start()
    assert missing.status_code == 401
    forged = await Visitor(server.client(), key).start(
        user=signed_user("42", secret="wrong-secret-0123456789")
    )
    assert forged.status_code == 401 and "signature" in forged.json()["error"]["message"]
    stale = await Visitor(server.client(), key).start(user=signed_user("42", skew=-3600))
    assert stale.status_code == 401
    phone = Visitor(server.client(), key)
    assert (await phone.start(user=signed_user("42", email="a@example.test"))).status_code == 201
    await phone.send("from my phone")
    laptop = Visitor(server.client(), key)
    assert (await laptop.start(user=signed_user("42"))).status_code == 201
    assert [m["text"] for m in await laptop.history()] == ["from my phone"]
    # the same user, signed as a JWT by the site's server, sees the same history
    tablet = Visitor(server.client(), key)
    token = jwt_token({"sub": "42", "exp": int(time.time()) + 600}, secret=SECRET)
    assert (await tablet.start(user={"jwt": token})).status_code == 201
    assert [m["text"] for m in await tablet.history()] == ["from my phone"]
    forged_jwt = jwt_token({"sub": "42", "exp": int(time.time()) + 600}, secret="x" * 24)
    refused = await Visitor(server.client(), key).start(user={"jwt": forged_jwt})
    assert refused.status_code == 401 and "does not match" in refused.json()["error"]["message"]
    both = await Visitor(server.client(), key).start(user={"jwt": token, "signature": "ab"})
    assert both.status_code == 422


async def test_typed_email_never_reveals_history(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_webchat_inbox(
        admin,
        identity_verification="optional",
        hmac_secret=SECRET,
        pre_chat={
            "enabled": True,
            "fields": [
                {"name": "email", "type": "email", "required": True},
                {"name": "plan", "type": "select", "options": ["free", "pro"]},
            ],
        },
    )
    key = inbox["public_key"]
    owner = Visitor(server.client(), key)
    await owner.start(user=signed_user("7", email="owner@example.test"))
    await owner.send("my private order details")
    bad = await Visitor(server.client(), key).start(form={"email": "nope", "plan": "gold"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"email", "plan"}
    intruder = Visitor(server.client(), key)
    assert (await intruder.start(form={"email": "owner@example.test"})).status_code == 201
    assert await intruder.history() == []


async def test_origin_cors_limits_and_attachments(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(
        admin,
        allowed_origins=["http://shop.example"],
        attachments={"max_bytes": 1000, "types": ["image/png"]},
    )
    key = inbox["public_key"]
    evil = await Visitor(server.client(), key, origin="http://evil.example").start()
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers
    client = server.client()
    pre = await client.options(
        f"/api/widget/{key}/messages",
        headers={"origin": "http://shop.example", "access-control-request-method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "http://shop.example"
    visitor = Visitor(client, key, origin="http://shop.example")
    await visitor.start()
    png = base64.b64encode(b"\x89PNG" + b"x" * 100).decode()
    ok = await visitor.send(
        "", attachments=[{"filename": "a.png", "content_type": "image/png", "data_base64": png}]
    )
    assert ok.status_code == 201, ok.text
    ref = ok.json()["message"]["attachments"][0]
    got = await client.get(visitor.url(f"attachments/{ref['id']}"), headers=visitor.auth())
    assert got.content == b"\x89PNG" + b"x" * 100
    exe = await visitor.send(
        "",
        attachments=[
            {"filename": "a.exe", "content_type": "application/x-msdownload", "data_base64": png}
        ],
    )
    assert exe.status_code == 422
    big = base64.b64encode(b"x" * 2000).decode()
    huge = await visitor.send(
        "", attachments=[{"filename": "b.png", "content_type": "image/png", "data_base64": big}]
    )
    assert huge.status_code == 413
    assert huge.headers["access-control-allow-origin"] == "http://shop.example"
    codes = [(await visitor.send(f"m{i}")).status_code for i in range(31)]
    assert codes[-1] == 429


async def test_seen_marks_agent_replies_read(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    await visitor.start()
    conv_id = (await visitor.send("hi")).json()["message"]["conversation_id"]
    reply = (
        await admin.post(
            f"/api/conversations/{conv_id}/messages",
            json={"text": "hello", "client_id": uuid.uuid4().hex},
        )
    ).json()
    mid = reply["message"]["id"]
    response = await visitor.client.post(
        visitor.url("seen"), json={"message_id": mid}, headers=visitor.auth()
    )
    assert response.json() == {"marked": 1}

    async def status() -> str | None:
        items = (await admin.get(f"/api/conversations/{conv_id}/messages")).json()["items"]
        found = [m["status"] for m in items if m["id"] == mid]
        return found[0] if found and found[0] == "read" else None

    assert await eventually(status) == "read"


async def test_embed_snippet(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_webchat_inbox(admin)
    body = (await admin.get(f"/api/admin/inboxes/{inbox['id']}/embed")).json()
    assert body["snippet"].startswith("<script async src=")
    assert f'data-inbox="{inbox["public_key"]}"' in body["snippet"]
