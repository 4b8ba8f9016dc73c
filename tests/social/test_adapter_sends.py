"""Sends through the adapter contract against the stand-ins: media methods and uploads, and
multi-part replies that a retry resumes without sending any part twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.base import (
    AdapterContext,
    Attachment,
    ContactInfo,
    InboundMessage,
    IngestResult,
    OutboundMessage,
    StatusUpdate,
    TransientError,
)
from adapters.meta.messenger import MessengerAdapter
from adapters.meta.whatsapp import WhatsAppAdapter
from adapters.telegram.adapter import TelegramAdapter
from tests.social.helpers import TG_SECRET, meta_config
from tests.social.standins import FakeGraph, FakeTelegram


class MemoryState:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        return self.values.get(key)

    async def set(self, key: str, value: Any) -> None:
        self.values[key] = value


class _Health:
    def report(self, **kwargs: Any) -> None:
        return None


class _Lease:
    async def acquire(self, name: str, ttl: float) -> bool:
        return True

    async def release(self, name: str) -> None:
        return None


async def _ingest(msg: InboundMessage) -> IngestResult:
    raise AssertionError("no inbound expected")


async def _report(update: StatusUpdate) -> None:
    return None


def _ctx(config: dict[str, Any], graph: FakeGraph, telegram_api: FakeTelegram) -> AdapterContext:
    return AdapterContext(
        inbox_id=1,
        inbox_name="t",
        public_key="pk",
        config=config,
        ingest=_ingest,
        report_status=_report,
        state=MemoryState(),
        health=_Health(),
        lease=_Lease(),
        settings={
            "meta_graph_base": graph.url,
            "telegram_api_base": telegram_api.url,
            "allow_private_urls": True,
            "public_url": "https://x.test",
        },
    )


def _out(
    text: str | None, attachments: tuple[Attachment, ...] = (), to: str = "777000123", **extra: Any
) -> OutboundMessage:
    return OutboundMessage(
        message_id=9,
        conversation_id=1,
        provider_id=None,
        text=text,
        html=None,
        attachments=attachments,
        recipient=ContactInfo(to),
        author_name="Agent",
        subject=None,
        thread_refs=(),
        channel_data={},
        conversation_token="tok",
        content_attributes=extra,
        attempt=1,
    )


PDF = Attachment("invoice.pdf", "application/pdf", b"%PDF-1.4 tiny")
PNG = Attachment("shot.png", "image/png", b"\x89PNG tiny")


async def test_telegram_media_methods(graph: FakeGraph, telegram_api: FakeTelegram) -> None:
    adapter = TelegramAdapter(
        _ctx({"bot_token": telegram_api.token, "secret_token": TG_SECRET}, graph, telegram_api)
    )
    result = await adapter.send(_out("see attached", (PDF, PNG)))
    assert [c.path.rsplit("/", 1)[-1] for c in telegram_api.calls] == [
        "sendDocument",
        "sendPhoto",
        "sendMessage",
    ]
    assert telegram_api.sent("sendDocument")[0]["document"] == {
        "filename": "invoice.pdf",
        "size": len(PDF.data),
    }
    assert result.provider_id.startswith("777000123:")


async def test_telegram_retry_resumes_after_the_parts_already_sent(
    graph: FakeGraph, telegram_api: FakeTelegram
) -> None:
    adapter = TelegramAdapter(
        _ctx({"bot_token": telegram_api.token, "secret_token": TG_SECRET}, graph, telegram_api)
    )
    text = "\n".join("y" * 100 for _ in range(90))  # three parts
    telegram_api.script.extend(
        [(200, {}), (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})]
    )
    with pytest.raises(TransientError):
        await adapter.send(_out(text))
    await adapter.send(_out(text))  # the outbox's retry
    texts = [b["text"] for b in telegram_api.sent()]
    # part 1 once, part 2 twice (the failed try and its retry), part 3 once
    assert len(texts) == 4 and texts[1] == texts[2]
    assert "\n".join([texts[0], texts[2], texts[3]]) == text


async def test_whatsapp_uploads_media_then_sends_it(
    graph: FakeGraph, telegram_api: FakeTelegram
) -> None:
    adapter = WhatsAppAdapter(_ctx(meta_config("whatsapp", graph.token), graph, telegram_api))
    result = await adapter.send(_out("caption-less text", (PDF,), to="15551234567"))
    upload = next(c for c in graph.calls if c.path.endswith("/media"))
    assert upload.body["messaging_product"] == "whatsapp"
    assert upload.body["file"]["filename"] == "invoice.pdf"
    media_send, text_send = graph.sends()
    assert media_send["type"] == "document" and media_send["document"]["id"].startswith("media-")
    assert text_send["text"]["body"] == "caption-less text"
    assert result.provider_id == graph.assigned[-1]


async def test_messenger_uploads_attachments_with_our_echo_marker(
    graph: FakeGraph, telegram_api: FakeTelegram
) -> None:
    adapter = MessengerAdapter(_ctx(meta_config("messenger", graph.token), graph, telegram_api))
    await adapter.send(_out("look", (PNG,), to="2900001"))
    text_send, upload = graph.sends()
    assert text_send["message"] == {"text": "look", "metadata": "switchboard:9:0"}
    assert json.loads(upload["recipient"]) == {"id": "2900001"}
    message = json.loads(upload["message"])
    assert message["attachment"]["type"] == "image"
    assert message["metadata"] == "switchboard:9:1"
    assert upload["filedata"] == {"filename": "shot.png", "size": len(PNG.data)}
