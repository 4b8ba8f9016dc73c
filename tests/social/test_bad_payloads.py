"""Malformed provider payloads through the real server (issue 11, hole 7): each is logged
and acknowledged (Telegram and Meta would redeliver it for days), and nothing valid beside
it is lost. U+0000 is removed from provider text, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Running
from tests.social.helpers import (
    PAGE_ID,
    TG_SECRET,
    all_messages,
    create_inbox,
    meta_config,
    meta_post,
    meta_signature,
    payload,
    telegram_post,
)
from tests.social.standins import FakeGraph, FakeTelegram
from tests.support.api import eventually

USER = 777000555


def _update(update_id: int, text: str = "hello", **message: Any) -> dict[str, Any]:
    update = payload(
        "telegram_text",
        UPDATE_ID=update_id,
        MESSAGE_ID=update_id + 10,
        USER_ID=USER,
        TS=int(time.time()),
        TEXT="placeholder",
    )
    update["message"]["text"] = text
    update["message"].update(message)
    return update


async def _raw_post(client: httpx.AsyncClient, path: str, body: bytes, headers: Any) -> Any:
    return await client.post(
        path, content=body, headers={"content-type": "application/json", **headers}
    )


async def test_telegram_webhook_acknowledges_bad_updates_and_stores_the_good(
    server: Running, admin: httpx.AsyncClient, telegram_api: FakeTelegram
) -> None:
    bot = await create_inbox(
        admin, "telegram", {"bot_token": telegram_api.token, "secret_token": TG_SECRET}
    )
    client = server.client()
    updates = [
        _update(1, "date far in the future", date=10**20),  # was a 500 (OverflowError)
        _update(2, "date past year 9999", date=10**12),  # was a 400: redelivered for ever
        _update(3, "negative date", date=-5),
        _update(4, "not a user", **{"from": {"id": "abc"}}),  # malformed: dropped, acked
        _update(5, "nul\x00 inside"),  # was a 500 on PostgreSQL
        _update(6, "reply to nothing", reply_to_message="x", chat=[1]),
    ]
    for update in updates:
        response = await telegram_post(client, bot, update)
        assert response.status_code == 200, (update, response.text)
    secret = {"x-telegram-bot-api-secret-token": TG_SECRET}
    path = f"/webhooks/{bot['public_key']}"
    for body in (b"[" * 100_000 + b"]" * 100_000, b"not json", b'{"update_id": "\\ud800"}'):
        response = await _raw_post(client, path, body, secret)
        assert response.status_code == 200, response.text
    assert (await client.get("/healthz")).status_code == 200
    stored = await all_messages(admin, bot)
    assert [m["text"] for m in stored] == [
        "date far in the future",
        "date past year 9999",
        "negative date",
        "nul inside",
        "reply to nothing",
    ]
    now = datetime.now(UTC)
    for message in stored:  # an unusable date is the receipt time
        sent = datetime.fromisoformat(message["sent_at"].replace("Z", "+00:00"))
        assert abs(sent - now) < timedelta(minutes=5), message


async def test_telegram_polling_moves_past_a_malformed_update(
    server: Running, admin: httpx.AsyncClient, telegram_api: FakeTelegram
) -> None:
    telegram_api.push(_update(900, "bad sender", **{"from": {"id": "abc"}}))
    telegram_api.push({"update_id": 901, "message": "not an object"})
    telegram_api.push(_update(902, "after the bad ones", date=10**20))
    inbox = await create_inbox(
        admin,
        "telegram",
        {"bot_token": telegram_api.token, "mode": "polling", "poll_timeout": 1},
    )

    async def stored() -> bool:
        return [m["text"] for m in await all_messages(admin, inbox)] == ["after the bad ones"]

    await eventually(stored)
    await eventually(lambda: _offset_seen(telegram_api, 903))


async def _offset_seen(api: FakeTelegram, offset: int) -> bool:
    return offset in api.offsets


def _item(mid: Any, text: Any, sender: Any = None) -> dict[str, Any]:
    return {
        "sender": {"id": "2900001"} if sender is None else sender,
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid, "text": text},
    }


async def test_meta_batch_keeps_the_valid_items_beside_malformed_ones(
    server: Running,
    admin: httpx.AsyncClient,
    graph: FakeGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = await create_inbox(admin, "messenger", meta_config("messenger", graph.token))
    batch = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": 1,
                "messaging": [
                    _item("m_ok_1", "first\x00 valid"),  # was a 500 on PostgreSQL
                    _item("m_bad_1", "sender is a string", sender="2900001"),  # was a 500
                    _item({"mid": 1}, "mid is an object"),
                    _item("m_bad_2", {"text": "an object"}),
                    "not an item",
                    _item("m_ok_2", "second valid"),
                ],
                "standby": 5,  # was a 500 (TypeError)
            },
            ["not an entry"],
        ],
    }
    client = server.client()
    with caplog.at_level(logging.WARNING):
        response = await meta_post(client, inbox, batch)
    assert response.status_code == 200, response.text
    assert any("malformed item skipped" in r.getMessage() for r in caplog.records)
    path = f"/webhooks/{inbox['public_key']}"
    for body in (b"[" * 100_000 + b"]" * 100_000, b"not json"):
        signed = {"x-hub-signature-256": meta_signature(body)}
        assert (await _raw_post(client, path, body, signed)).status_code == 200
    texts = [m["text"] for m in await all_messages(admin, inbox)]
    assert sorted(texts, key=str) == sorted(
        [
            "first valid",
            "sender is a string",  # the sender given bare: unknown sender, the message counts
            None,  # text of the wrong type: the message, without its text
            "second valid",
        ],
        key=str,
    )
