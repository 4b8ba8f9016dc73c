"""Telegram through the real server: secret token, dedupe, media, splitting, errors, polling."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, _set_admin_password, start_server
from tests.social.conftest import social_settings
from tests.social.helpers import (
    TG_SECRET,
    all_messages,
    conversations,
    create_inbox,
    payload,
    telegram_post,
    wait_status,
)
from tests.social.standins import FakeGraph, FakeTelegram
from tests.support.api import eventually

USER = 777000123

# Behaviour that does not depend on the database runs on SQLite only (suite time);
# dedupe races, batches, echoes, statuses and polling run on both backends.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _config(api: FakeTelegram, **extra: Any) -> dict[str, Any]:
    return {"bot_token": api.token, "secret_token": TG_SECRET, **extra}


def _text(update_id: int, text: str = "hello bot") -> dict[str, Any]:
    return payload(
        "telegram_text",
        UPDATE_ID=update_id,
        MESSAGE_ID=update_id + 10,
        USER_ID=USER,
        TS=int(time.time()),
        TEXT=text,
    )


@pytest.fixture
async def bot(admin: httpx.AsyncClient, telegram_api: FakeTelegram) -> dict[str, Any]:
    return await create_inbox(admin, "telegram", _config(telegram_api))


@SQLITE_ONLY
async def test_secret_token_required(
    server: Running, admin: httpx.AsyncClient, bot: dict[str, Any]
) -> None:
    client = server.client()
    for secret in (None, "", "wrong", TG_SECRET + "x"):
        response = await telegram_post(client, bot, _text(1), secret=secret)
        assert response.status_code == 403, secret
    assert await conversations(admin, bot) == []
    assert (await telegram_post(client, bot, _text(1))).status_code == 200
    conv = (await conversations(admin, bot))[0]
    detail = (await admin.get(f"/api/conversations/{conv['id']}")).json()
    assert detail["contact"]["name"] == "Ada Lovelace"


async def test_same_update_five_times_concurrently(
    server: Running, admin: httpx.AsyncClient, bot: dict[str, Any]
) -> None:
    clients = [server.client() for _ in range(5)]
    answers = await asyncio.gather(*(telegram_post(c, bot, _text(42)) for c in clients))
    assert [a.status_code for a in answers] == [200] * 5
    assert [m["text"] for m in await all_messages(admin, bot)] == ["hello bot"]


@SQLITE_ONLY
async def test_media_and_edits(
    server: Running, admin: httpx.AsyncClient, bot: dict[str, Any], telegram_api: FakeTelegram
) -> None:
    telegram_api.files.update(
        {
            "big-photo": b"\xff\xd8jpeg",
            "doc-file": b"%PDF-1.4\n",
            "voice-file": b"OggS...",
            "sticker-file": b"RIFFwebp",
        }
    )
    now = int(time.time())
    updates = [
        payload(name, UPDATE_ID=i, MESSAGE_ID=i + 10, USER_ID=USER, TS=now)
        for i, name in enumerate(
            ["telegram_photo", "telegram_document", "telegram_voice", "telegram_sticker"], start=10
        )
    ]
    updates.append(
        payload(
            "telegram_edited",
            UPDATE_ID=20,
            MESSAGE_ID=11,
            USER_ID=USER,
            TS=now,
            EDIT_TS=now + 5,
            TEXT="fixed typo",
        )
    )
    client = server.client()
    for update in updates:
        assert (await telegram_post(client, bot, update)).status_code == 200
    got = await all_messages(admin, bot)
    assert len(got) == 5
    photo, doc, voice, sticker, edited = got
    assert photo["text"] == "my receipt" and photo["attachments"][0]["size"] == 6
    assert doc["attachments"][0]["filename"] == "invoice.pdf"
    assert voice["attachments"][0]["content_type"] == "audio/ogg"
    assert sticker["content_attributes"]["telegram_files"][0] == {"kind": "sticker", "emoji": "👍"}
    assert edited["content_attributes"]["edited"] is True and edited["text"] == "fixed typo"
    fetched = [c.body["file_id"] for c in telegram_api.calls if c.path.endswith("/getFile")]
    assert fetched == ["big-photo", "doc-file", "voice-file", "sticker-file"]  # largest size


async def _conversation(server: Running, admin: httpx.AsyncClient, bot: dict[str, Any]) -> int:
    assert (await telegram_post(server.client(), bot, _text(1))).status_code == 200
    return int((await conversations(admin, bot))[0]["id"])


@SQLITE_ONLY
async def test_long_reply_split_at_4096(
    server: Running, admin: httpx.AsyncClient, bot: dict[str, Any], telegram_api: FakeTelegram
) -> None:
    conv = await _conversation(server, admin, bot)
    text = "\n".join(f"line {i} " + "x" * 80 for i in range(110))  # ~9.7k characters
    response = await admin.post(f"/api/conversations/{conv}/messages", json={"text": text})
    sent = response.json()["message"]
    await wait_status(admin, conv, sent["id"], "sent")
    parts = [b["text"] for b in telegram_api.sent()]
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert {b["chat_id"] for b in telegram_api.sent()} == {USER}


@SQLITE_ONLY
async def test_rate_limit_retried_then_sent_and_400_fails(
    server: Running, admin: httpx.AsyncClient, bot: dict[str, Any], telegram_api: FakeTelegram
) -> None:
    conv = await _conversation(server, admin, bot)
    telegram_api.script.append(
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
    )
    first = (
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "patience"})
    ).json()["message"]
    await wait_status(admin, conv, first["id"], "sent")
    assert len(telegram_api.sent()) == 2
    telegram_api.script.append(
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    )
    second = (
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "lost"})
    ).json()["message"]
    failed = await wait_status(admin, conv, second["id"], "failed")
    assert "chat not found" in failed["error"]
    telegram_api.script.append(
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    )
    third = (
        await admin.post(f"/api/conversations/{conv}/messages", json={"text": "after a blip"})
    ).json()["message"]
    await wait_status(admin, conv, third["id"], "sent", within=20)


@SQLITE_ONLY
async def test_test_connection_registers_the_webhook(
    server: Running, admin: httpx.AsyncClient, bot: dict[str, Any], telegram_api: FakeTelegram
) -> None:
    probe = await admin.post(f"/api/admin/inboxes/{bot['id']}/test")
    assert probe.status_code == 200 and probe.json()["ok"], probe.text
    assert telegram_api.webhook["url"] == (
        f"https://support.example.test/webhooks/{bot['public_key']}"
    )
    assert telegram_api.webhook["secret_token"] == TG_SECRET
    assert telegram_api.token not in telegram_api.webhook["url"]


async def test_invalid_config_names_the_field(
    admin: httpx.AsyncClient, telegram_api: FakeTelegram
) -> None:
    response = await admin.post(
        "/api/admin/inboxes",
        json={"name": "Bad", "kind": "telegram", "config": {"bot_token": "nope"}},
    )
    assert response.status_code in (400, 422), response.text
    assert "bot_token" in response.text


async def test_long_polling_offset_survives_restart(
    tmp_path: Path, database_url: str, graph: FakeGraph, telegram_api: FakeTelegram
) -> None:
    settings = social_settings(tmp_path, database_url, graph, telegram_api)
    first = await start_server(settings)  # type: ignore[arg-type]
    try:
        await _set_admin_password(first)
        admin = await first.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_inbox(
            admin,
            "telegram",
            {"bot_token": telegram_api.token, "mode": "polling", "poll_timeout": 1},
        )
        for i in (501, 502, 503):
            telegram_api.push(_text(i, f"polled {i}"))

        async def three() -> bool:
            return len(await all_messages(admin, inbox)) == 3

        await eventually(three)
        await eventually(lambda: _offset_seen(telegram_api, 504))
    finally:
        await first.stop()
    telegram_api.offsets.clear()
    for i in (504, 505):
        telegram_api.push(_text(i, f"polled {i}"))
    second = await start_server(settings)  # type: ignore[arg-type]
    try:
        admin = await second.login(ADMIN_EMAIL, ADMIN_PASSWORD)

        async def five() -> bool:
            return len(await all_messages(admin, inbox)) == 5

        await eventually(five)
        assert telegram_api.offsets[0] == 504  # resumed from the stored offset, not from 0
        texts = [m["text"] for m in await all_messages(admin, inbox)]
        assert texts == [f"polled {i}" for i in range(501, 506)]
    finally:
        await second.stop()


async def _offset_seen(api: FakeTelegram, offset: int) -> bool:
    return offset in api.offsets
