"""Meta sends through the outbox: echoes (both orders), receipts, errors, the 24 h window."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.conftest import Running
from tests.social.helpers import (
    APP_ID,
    conversations,
    create_inbox,
    messages,
    meta_config,
    meta_post,
    payload,
    wait_status,
)
from tests.social.standins import FakeGraph

PSID = "2900001"
WA_ID = "15551234567"

# Behaviour that does not depend on the database runs on SQLite only (suite time);
# dedupe races, batches, echoes, statuses and polling run on both backends.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _messenger_conversation(
    server: Running,
    admin: httpx.AsyncClient,
    graph: FakeGraph,
    kind: str = "messenger",
    ts: int | None = None,
) -> tuple[dict[str, Any], int]:
    inbox = await create_inbox(admin, kind, meta_config(kind, graph.token))
    data = (
        payload("instagram_text", IGSID=PSID, MID="m_in_1", TEXT="hello")
        if kind == "instagram"
        else payload(
            "messenger_text", PSID=PSID, MID="m_in_1", TEXT="hello", **({"TS": ts} if ts else {})
        )
    )
    assert (await meta_post(server.client(), inbox, data)).status_code == 200
    return inbox, (await conversations(admin, inbox))[0]["id"]


async def _whatsapp_conversation(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph, ts: int | None = None
) -> tuple[dict[str, Any], int]:
    inbox = await create_inbox(admin, "whatsapp", meta_config("whatsapp", graph.token))
    data = payload(
        "whatsapp_text",
        WA_ID=WA_ID,
        WAMID="wamid.in",
        TEXT="Hi",
        NAME="Grace",
        TS=str(ts or int(time.time())),
    )
    assert (await meta_post(server.client(), inbox, data)).status_code == 200
    return inbox, (await conversations(admin, inbox))[0]["id"]


async def _reply(admin: httpx.AsyncClient, conv: int, text: str, **extra: Any) -> httpx.Response:
    return await admin.post(f"/api/conversations/{conv}/messages", json={"text": text, **extra})


def _echo(
    body: Any, mid: str, *, app_id: str = APP_ID, metadata: str | None = None
) -> dict[str, Any]:
    message = body["message"] if isinstance(body["message"], dict) else json.loads(body["message"])
    return payload(
        "messenger_echo",
        PSID=PSID,
        MID=mid,
        TEXT=message.get("text", ""),
        APP_ID=app_id,
        METADATA=metadata if metadata is not None else message.get("metadata", ""),
    )


@pytest.mark.parametrize("order", ["echo_first", "answer_first"])
async def test_echo_of_our_send_never_duplicates(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph, order: str
) -> None:
    inbox, conv = await _messenger_conversation(server, admin, graph)
    echoes: list[dict[str, Any]] = []
    hook = server.client()

    async def echo_before_answer(body: Any, mid: str) -> None:
        echoes.append(_echo(body, mid))
        if order == "echo_first":  # Meta's echo lands before the Send API answer
            assert (await meta_post(hook, inbox, echoes[-1])).status_code == 200

    graph.before_answer = echo_before_answer
    sent = (await _reply(admin, conv, "on its way")).json()["message"]
    await wait_status(admin, conv, sent["id"], "sent")
    if order == "answer_first":
        assert (await meta_post(hook, inbox, echoes[-1])).status_code == 200
    # and a redelivery of the echo, for good measure
    assert (await meta_post(hook, inbox, echoes[-1])).status_code == 200
    outgoing = [m for m in await messages(admin, conv) if m["direction"] == "out"]
    assert [(m["id"], m["text"]) for m in outgoing] == [(sent["id"], "on its way")]
    assert len(graph.sends()) == 1


@SQLITE_ONLY
async def test_echo_from_a_human_on_the_page_is_stored_once(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    inbox, conv = await _messenger_conversation(server, admin, graph)
    data = payload(
        "messenger_echo",
        PSID=PSID,
        MID="m_from_inbox_app",
        TEXT="typed in Meta",
        APP_ID="263902037430900",
        METADATA="",
    )
    for _ in range(2):
        assert (await meta_post(server.client(), inbox, data)).status_code == 200
    outgoing = [m for m in await messages(admin, conv) if m["direction"] == "out"]
    assert [m["text"] for m in outgoing] == ["typed in Meta"]
    assert graph.sends() == []


@SQLITE_ONLY
async def test_receipts_read_beats_delivered(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    inbox, conv = await _messenger_conversation(server, admin, graph)
    sent = (await _reply(admin, conv, "receipt me")).json()["message"]
    await wait_status(admin, conv, sent["id"], "sent")
    mid = graph.assigned[-1]
    later_ms = int(time.time() * 1000) + 5_000
    data = payload("messenger_receipts", PSID=PSID, MID=mid, WATERMARK=later_ms)
    assert (await meta_post(server.client(), inbox, data)).status_code == 200
    await wait_status(admin, conv, sent["id"], "read")


@SQLITE_ONLY
async def test_transient_error_retried_then_sent(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conv = await _messenger_conversation(server, admin, graph)
    graph.script.append(
        (
            500,
            {
                "error": {
                    "message": "An unexpected error has occurred.",
                    "type": "OAuthException",
                    "code": 2,
                    "is_transient": True,
                }
            },
        )
    )
    sent = (await _reply(admin, conv, "try again")).json()["message"]
    await wait_status(admin, conv, sent["id"], "sent", within=20)
    assert len(graph.sends()) == 2


@SQLITE_ONLY
async def test_permanent_error_is_shown_on_the_message(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conv = await _messenger_conversation(server, admin, graph)
    graph.script.append(
        (
            400,
            {
                "error": {
                    "message": "(#100) No matching user found",
                    "type": "OAuthException",
                    "code": 100,
                    "error_subcode": 2018001,
                }
            },
        )
    )
    sent = (await _reply(admin, conv, "nobody home")).json()["message"]
    failed = await wait_status(admin, conv, sent["id"], "failed")
    assert "100" in failed["error"] and "No matching user" in failed["error"]
    assert len(graph.sends()) == 1


@SQLITE_ONLY
async def test_messenger_window_refuses_free_text_and_allows_human_agent_tag(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    old = int((time.time() - 25 * 3600) * 1000)
    _, conv = await _messenger_conversation(server, admin, graph, ts=old)
    refused = await _reply(admin, conv, "too late")
    assert refused.status_code == 409, refused.text
    assert "window" in refused.json()["error"]["message"]
    ok = await _reply(admin, conv, "a human here", template={"tag": "HUMAN_AGENT"})
    assert ok.status_code == 201, ok.text
    await wait_status(admin, conv, ok.json()["message"]["id"], "sent")
    body = graph.sends()[-1]
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


@SQLITE_ONLY
async def test_instagram_splits_at_1000(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conv = await _messenger_conversation(server, admin, graph, kind="instagram")
    text = " ".join(["word"] * 450)  # 2249 characters
    sent = (await _reply(admin, conv, text)).json()["message"]
    await wait_status(admin, conv, sent["id"], "sent")
    parts = [b["message"]["text"] for b in graph.sends()]
    assert len(parts) == 3 and all(len(p) <= 1000 for p in parts)
    assert " ".join(parts).split() == text.split()


async def test_whatsapp_statuses_out_of_order_and_failed_code(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    inbox, conv = await _whatsapp_conversation(server, admin, graph)
    first = (await _reply(admin, conv, "one")).json()["message"]
    await wait_status(admin, conv, first["id"], "sent")
    second = (await _reply(admin, conv, "two")).json()["message"]
    await wait_status(admin, conv, second["id"], "sent")
    wamids = graph.assigned
    batch = payload("whatsapp_status", WAMID=wamids[0], STATUS="read", WA_ID=WA_ID, TS="1700000300")
    statuses = batch["entry"][0]["changes"][0]["value"]["statuses"]
    for status in ("delivered", "sent"):  # older news after newer, in the same batch
        statuses.append({**statuses[0], "status": status})
    assert (await meta_post(server.client(), inbox, batch)).status_code == 200
    late = payload(
        "whatsapp_status", WAMID=wamids[0], STATUS="delivered", WA_ID=WA_ID, TS="1700000100"
    )
    assert (await meta_post(server.client(), inbox, late)).status_code == 200
    failed = payload("whatsapp_failed", WAMID=wamids[1], WA_ID=WA_ID, TS="1700000400")
    assert (await meta_post(server.client(), inbox, failed)).status_code == 200
    await wait_status(admin, conv, first["id"], "read")
    got = await wait_status(admin, conv, second["id"], "failed")
    assert "131026" in got["error"]
    assert (await wait_status(admin, conv, first["id"], "read"))["status"] == "read"


@SQLITE_ONLY
async def test_whatsapp_window_409_then_template(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conv = await _whatsapp_conversation(server, admin, graph, ts=int(time.time()) - 90_000)
    detail = (await admin.get(f"/api/conversations/{conv}")).json()
    assert detail["reply_window_closes_at"] is not None
    refused = await _reply(admin, conv, "free text")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["details"]["reply_window_closes_at"]
    template = {
        "name": "order_update",
        "language": "en_US",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "A-42"}]}],
    }
    ok = await _reply(admin, conv, "", template=template)
    assert ok.status_code == 201, ok.text
    await wait_status(admin, conv, ok.json()["message"]["id"], "sent")
    body = graph.sends()[-1]
    assert body["type"] == "template" and body["template"]["name"] == "order_update"
    assert body["template"]["language"] == {"code": "en_US"}
    assert body["to"] == WA_ID


@SQLITE_ONLY
async def test_whatsapp_window_closed_error_from_provider_is_permanent(
    server: Running, admin: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conv = await _whatsapp_conversation(server, admin, graph)
    graph.script.append(
        (
            400,
            {
                "error": {
                    "message": "(#131047) Re-engagement message",
                    "type": "OAuthException",
                    "code": 131047,
                    "error_data": {
                        "messaging_product": "whatsapp",
                        "details": "Message failed to send because more than 24 hours "
                        "have passed since the customer last replied",
                    },
                }
            },
        )
    )
    sent = (await _reply(admin, conv, "hello?")).json()["message"]
    failed = await wait_status(admin, conv, sent["id"], "failed")
    assert "window" in failed["error"] and "131047" in failed["error"]
    assert len(graph.sends()) == 1  # permanent: no retry
