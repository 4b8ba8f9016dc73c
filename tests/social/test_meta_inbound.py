"""Meta webhooks through the real server: verification, batches, dedupe, routing, contacts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Running, _set_admin_password, start_server
from tests.social.conftest import social_settings
from tests.social.helpers import (
    APP_SECRET,
    PAGE_ID,
    VERIFY_TOKEN,
    all_messages,
    conversations,
    create_inbox,
    meta_config,
    meta_post,
    meta_signature,
    payload,
)
from tests.social.standins import FakeGraph, FakeTelegram

# Behaviour that does not depend on the database runs on SQLite only (suite time);
# dedupe races, batches, echoes, statuses and polling run on both backends.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def messenger(admin: httpx.AsyncClient, graph: FakeGraph) -> dict[str, Any]:
    graph.profiles["2900001"] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "profile_pic": "https://scontent.example/ada.jpg",
    }
    return await create_inbox(admin, "messenger", meta_config("messenger", graph.token))


@SQLITE_ONLY
async def test_handshake_echoes_challenge_only_for_the_right_token(
    server: Running, messenger: dict[str, Any]
) -> None:
    client = server.client()
    url = f"/webhooks/{messenger['public_key']}"
    good = await client.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        },
    )
    assert (good.status_code, good.text) == (200, "1158201444")
    bad = await client.get(
        url, params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "guess"}
    )
    assert bad.status_code == 403


@SQLITE_ONLY
@pytest.mark.parametrize("kind", ["messenger", "whatsapp"])
async def test_unverified_deliveries_store_nothing(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph, kind: str
) -> None:
    inbox = await create_inbox(admin, kind, meta_config(kind, graph.token))
    data = (
        payload("messenger_text", PSID="2900001", MID="m_forged", TEXT="hi")
        if kind == "messenger"
        else payload(
            "whatsapp_text",
            WA_ID="15551234567",
            WAMID="wamid.forged",
            TEXT="hi",
            NAME="Eve",
            TS="1700000000",
        )
    )
    client = server.client()
    other_body = b'{"object":"page","entry":[]}'
    for signature in (
        None,
        "",
        "sha256=" + "0" * 64,
        meta_signature(other_body),
        meta_signature(b"x", "not-the-app-secret"),
        "sha1=abc",
    ):
        response = await meta_post(client, inbox, data, signature=signature)
        assert response.status_code == 403, signature
    assert await conversations(admin, inbox) == []


async def test_batch_processes_every_entry_and_item_and_drops_foreign_pages(
    server: Running,
    admin: httpx.AsyncClient,
    messenger: dict[str, Any],
    graph: FakeGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph.cdn["img.png"] = b"\x89PNG-bytes"
    data = payload(
        "messenger_batch",
        PSID="2900001",
        PSID2="2900002",
        OTHER_PAGE_ID="999999999",
        IMAGE_URL=f"{graph.url}/cdn/img.png",
    )
    with caplog.at_level(logging.WARNING):
        response = await meta_post(server.client(), messenger, data)
    assert response.status_code == 200
    texts = [m["text"] for m in await all_messages(admin, messenger)]
    assert sorted(texts) == sorted(
        ["first of entry one", "second of entry one", "first of entry two", "second of entry two"]
    )
    assert len(await conversations(admin, messenger)) == 2
    assert any(
        "999999999" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records
    )
    image = next(
        m for m in await all_messages(admin, messenger) if m["text"] == "second of entry one"
    )
    assert image["content_attributes"]["media"][0]["kind"] == "image"
    assert image["attachments"][0]["size"] == len(b"\x89PNG-bytes")
    stored = await admin.get(image["attachments"][0]["url"])
    assert stored.content == b"\x89PNG-bytes"


async def test_same_delivery_five_times_concurrently_is_one_message(
    server: Running, admin: httpx.AsyncClient, messenger: dict[str, Any]
) -> None:
    data = payload("messenger_text", PSID="2900001", MID="m_dup", TEXT="only once")
    clients = [server.client() for _ in range(5)]
    answers = await asyncio.gather(*(meta_post(c, messenger, data) for c in clients))
    assert [a.status_code for a in answers] == [200] * 5
    assert [m["text"] for m in await all_messages(admin, messenger)] == ["only once"]


@SQLITE_ONLY
async def test_contact_identity_and_profile_name(
    server: Running, admin: httpx.AsyncClient, messenger: dict[str, Any], graph: FakeGraph
) -> None:
    await meta_post(
        server.client(),
        messenger,
        payload("messenger_text", PSID="2900001", MID="m_1", TEXT="hello"),
    )
    conv = (await conversations(admin, messenger))[0]
    detail = (await admin.get(f"/api/conversations/{conv['id']}")).json()
    assert detail["contact"]["name"] == "Ada Lovelace"
    contact = (await admin.get(f"/api/contacts/{conv['contact_id']}")).json()
    identities = contact.get("identities", [])
    assert any(
        i.get("external_id") == "2900001" and i.get("scope") == PAGE_ID for i in identities
    ), contact
    assert any(c.path == "/2900001" for c in graph.calls)


@SQLITE_ONLY
async def test_profile_fetch_refuses_private_addresses(
    tmp_path: Path, database_url: str, graph: FakeGraph, telegram_api: FakeTelegram
) -> None:
    settings = social_settings(
        tmp_path, database_url, graph, telegram_api, allow_private_urls=False
    )
    running = await start_server(settings)  # type: ignore[arg-type]
    try:
        await _set_admin_password(running)
        from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

        admin = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        inbox = await create_inbox(admin, "messenger", meta_config("messenger", graph.token))
        graph.cdn["img.png"] = b"private"
        response = await meta_post(
            running.client(),
            inbox,
            payload(
                "messenger_batch",
                PSID="2900001",
                PSID2="2900002",
                OTHER_PAGE_ID="1",
                IMAGE_URL=f"{graph.url}/cdn/img.png",
            ),
        )
        assert response.status_code == 200
        convs = await conversations(admin, inbox)
        for conv in convs:
            detail = (await admin.get(f"/api/conversations/{conv['id']}")).json()
            assert detail["contact"]["name"] in (None, "")
        got = await all_messages(admin, inbox)
        assert len(got) == 4 and all(m["attachments"] == [] for m in got)
        assert not [c for c in graph.calls if c.method == "GET"]  # never even asked
    finally:
        await running.stop()


async def test_whatsapp_batch_with_names_and_unknown_phone(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    inbox = await create_inbox(admin, "whatsapp", meta_config("whatsapp", graph.token))
    graph.media["1479537139650973"] = b"\xff\xd8jpeg-bytes"
    data = payload(
        "whatsapp_text",
        WA_ID="15551234567",
        WAMID="wamid.in1",
        TEXT="Hola",
        NAME="Grace Hopper",
        TS="1700000000",
    )
    value = data["entry"][0]["changes"][0]["value"]
    value["contacts"].append({"profile": {"name": "Alan"}, "wa_id": "15557654321"})
    value["messages"].append(
        {
            "from": "15557654321",
            "id": "wamid.in2",
            "timestamp": "1700000001",
            "type": "image",
            "image": {
                "id": "1479537139650973",
                "mime_type": "image/jpeg",
                "sha256": "abc",
                "caption": "broken part",
            },
        }
    )
    foreign = payload(
        "whatsapp_text",
        WA_ID="15550000000",
        WAMID="wamid.x",
        TEXT="not ours",
        NAME="X",
        TS="1700000000",
        PHONE_ID="222",
    )
    data["entry"].append(foreign["entry"][0])
    assert (await meta_post(server.client(), inbox, data)).status_code == 200
    got = await all_messages(admin, inbox)
    assert sorted(m["text"] for m in got) == ["Hola", "broken part"]
    image = next(m for m in got if m["text"] == "broken part")
    assert image["attachments"][0]["content_type"] == "image/jpeg"
    assert image["attachments"][0]["size"] == len(b"\xff\xd8jpeg-bytes")
    names = sorted(
        c["contact"]["name"]
        for c in [
            (await admin.get(f"/api/conversations/{conv['id']}")).json()
            for conv in await conversations(admin, inbox)
        ]
    )
    assert names == ["Alan", "Grace Hopper"]


@SQLITE_ONLY
async def test_instagram_inbound(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    graph.profiles["6100001"] = {"name": "Insta User", "username": "insta"}
    inbox = await create_inbox(admin, "instagram", meta_config("instagram", graph.token))
    data = payload("instagram_text", IGSID="6100001", MID="aWdfZAG1faWQ", TEXT="from IG")
    assert (await meta_post(server.client(), inbox, data)).status_code == 200
    conv = (await conversations(admin, inbox))[0]
    detail = (await admin.get(f"/api/conversations/{conv['id']}")).json()
    assert detail["contact"]["name"] == "Insta User"
    assert detail["reply_window_closes_at"] is not None


@SQLITE_ONLY
async def test_secrets_are_write_only_and_test_connection(
    server: Running, admin: httpx.AsyncClient, messenger: dict[str, Any], graph: FakeGraph
) -> None:
    listed = (await admin.get("/api/admin/inboxes")).json()
    text = str(listed)
    assert APP_SECRET not in text and "page-token" not in text
    probe = await admin.post(f"/api/admin/inboxes/{messenger['id']}/test")
    assert probe.status_code == 200 and probe.json()["ok"] is True, probe.text
    subscribed = next(c for c in graph.calls if c.path.endswith("/subscribed_apps"))
    assert subscribed.path == f"/{PAGE_ID}/subscribed_apps"
    assert "message_echoes" in subscribed.body["subscribed_fields"]
