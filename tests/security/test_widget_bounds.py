"""Hole 5: what an anonymous visitor can make the server store or send is bounded — custom
attributes capped in size and count (413/422 with a clear message) and rate (429 with
Retry-After), only changed entries broadcast; read receipts rate limited; wrong visitor
tokens (REST and socket), wrong API-channel inbox tokens and refused webhooks throttled
per address."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.realtime.wsclient import AgentSocket
from tests.social.conftest import social_settings
from tests.social.helpers import TG_SECRET, create_inbox, payload, telegram_post
from tests.social.standins import FakeGraph, FakeTelegram
from tests.support.api import create_api_inbox, post_inbound
from tests.widget.helpers import Visitor, create_webchat_inbox


async def _visitor(server: Running, admin: httpx.AsyncClient) -> Visitor:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    assert (await visitor.start()).status_code == 201
    return visitor


async def _attributes(visitor: Visitor, values: dict[str, object]) -> httpx.Response:
    return await visitor.client.post(
        visitor.url("attributes"), headers=visitor.auth(), json={"attributes": values}
    )


async def test_attribute_sizes_and_counts_are_capped(
    server: Running, admin: httpx.AsyncClient
) -> None:
    visitor = await _visitor(server, admin)
    long_value = await _attributes(visitor, {"plan": "x" * 1001})
    assert long_value.status_code == 422 and "1000 characters" in long_value.text
    long_name = await _attributes(visitor, {"n" * 101: 1})
    assert long_name.status_code == 422
    first = await _attributes(visitor, {f"k{i}": "v" * 900 for i in range(15)})
    assert first.status_code == 200, first.text
    too_big = await _attributes(visitor, {f"j{i}": "v" * 900 for i in range(5)})
    assert too_big.status_code == 413 and "bytes in all" in too_big.json()["error"]["message"]
    many = await _attributes(visitor, {f"m{i}": i for i in range(40)})
    assert many.status_code == 413 and "at most 50" in many.json()["error"]["message"]
    contact = await admin.get("/api/contacts")
    stored = contact.json()["items"][0]["attributes"]
    assert len(stored) == 15 and len(json.dumps(stored)) < 16_384


async def test_attribute_calls_are_rate_limited_and_broadcast_only_changes(
    server: Running, admin: httpx.AsyncClient
) -> None:
    token = (await admin.post("/api/auth/tokens", json={"name": "watcher"})).json()["token"]
    agent = await AgentSocket.open(server.ws_url, token)
    visitor = await _visitor(server, admin)
    assert (await _attributes(visitor, {"plan": "pro", "seats": 3})).status_code == 200
    first = await agent.until(lambda f: f.get("event", {}).get("type") == "contact.updated")
    assert first["event"]["payload"]["contact"]["attributes_changed"] == {"plan": "pro", "seats": 3}
    assert (await _attributes(visitor, {"plan": "pro", "seats": 4})).status_code == 200
    second = await agent.until(lambda f: f.get("event", {}).get("type") == "contact.updated")
    assert second["event"]["payload"]["contact"]["attributes_changed"] == {"seats": 4}
    for _ in range(8):  # unchanged: stored already, nothing to send
        same = await _attributes(visitor, {"plan": "pro", "seats": 4})
        assert same.json()["attributes"] == {"plan": "pro", "seats": 4}
    limited = await _attributes(visitor, {"plan": "max"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    await post_inbound(server.client(), await create_api_inbox(admin), text="later")
    before: list[dict[str, object]] = []
    await agent.until(lambda f: f.get("event", {}).get("type") == "message.created", keep=before)
    changes = [f for f in before if "attributes_changed" in str(f)]
    assert changes == []  # the unchanged and the refused calls sent nothing


async def test_read_receipts_are_rate_limited(server: Running, admin: httpx.AsyncClient) -> None:
    visitor = await _visitor(server, admin)
    answers = [
        (
            await visitor.client.post(
                visitor.url("seen"), headers=visitor.auth(), json={"message_id": 1}
            )
        ).status_code
        for _ in range(61)
    ]
    assert answers[:60] == [200] * 60 and answers[60] == 429


async def test_wrong_visitor_tokens_are_throttled_per_address(
    server: Running, admin: httpx.AsyncClient
) -> None:
    visitor = await _visitor(server, admin)
    wrong = {"authorization": "Bearer not-a-token"}
    for _ in range(19):
        response = await visitor.client.get(visitor.url("session"), headers=wrong)
        assert response.status_code == 401
    ws_url = f"{server.ws_url}/widget/ws?key={visitor.key}"
    async with connect(ws_url) as ws:  # a wrong token on the socket counts too
        await ws.send(json.dumps({"type": "hello", "token": "nope"}))
        assert json.loads(await ws.recv())["type"] == "error"
    limited = await visitor.client.get(visitor.url("session"), headers=visitor.auth())
    assert limited.status_code == 429  # even the right token, from this address, for now
    assert int(limited.headers["retry-after"]) >= 1


async def test_wrong_api_channel_tokens_are_throttled(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    client = server.client()
    for _ in range(20):
        assert (await post_inbound(client, inbox, token="wrong")).status_code == 401
    limited = await post_inbound(client, inbox)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


async def test_visitor_files_are_rate_limited(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_webchat_inbox(
        admin, attachments={"max_bytes": 1000, "types": ["text/plain"]}
    )
    visitor = Visitor(server.client(), inbox["public_key"])
    assert (await visitor.start()).status_code == 201
    file = {"filename": "a.txt", "content_type": "text/plain", "data_base64": "aGk="}
    for _ in range(6):  # 30 files an hour
        sent = await visitor.send("", attachments=[file] * 5)
        assert sent.status_code in (200, 201), sent.text
    refused = await visitor.send("", attachments=[file])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


async def test_refused_webhooks_are_throttled_per_address(
    tmp_path: Path, graph: FakeGraph, telegram_api: FakeTelegram
) -> None:
    settings = social_settings(tmp_path, f"sqlite:///{tmp_path / 'hooks.db'}", graph, telegram_api)
    running = await start_server(settings)  # type: ignore[arg-type]
    try:
        await set_admin_password(running)
        admin = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        bot = await create_inbox(
            admin, "telegram", {"bot_token": telegram_api.token, "secret_token": TG_SECRET}
        )
        client = running.client()
        update = payload(
            "telegram_text", UPDATE_ID=1, MESSAGE_ID=11, USER_ID=5, TS=int(time.time()), TEXT="hi"
        )
        for _ in range(20):
            assert (await telegram_post(client, bot, update, secret="wrong")).status_code == 403
        limited = await telegram_post(client, bot, update)  # right secret, same address
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    finally:
        await running.stop()
