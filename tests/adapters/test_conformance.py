"""One conformance suite for every adapter in ``adapters.registry.ADAPTERS``.

It checks only the contract in ``adapters/base.py``, so a new adapter is covered by adding
one row to ``ROWS`` below (a minimal valid config and a send target). Sends are pointed at
a loopback port where nothing listens: whatever an adapter raises then must be one of our
``ChannelError`` subclasses, never a library's exception.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.base import (
    AdapterContext,
    Capabilities,
    ChannelError,
    ConfigInvalid,
    ContactInfo,
    InboundMessage,
    IngestResult,
    OutboundMessage,
    StatusUpdate,
)
from adapters.registry import ADAPTERS
from tests.support.ports import free_port

CLOSED_PORT = free_port()  # nothing listens here: every send meets "connection refused"
CLOSED_URL = f"http://127.0.0.1:{CLOSED_PORT}"
PROMPT = 5.0  # the contract's bound for start/stop (adapters/base.py), not a timing claim


@dataclass(frozen=True)
class Row:
    config: dict[str, Any]
    recipient: ContactInfo
    channel_data: dict[str, Any] = field(default_factory=dict)


_META = {"access_token": "token", "app_secret": "app-secret", "verify_token": "verify"}

# One row per adapter kind: other engineers add theirs here.
ROWS: dict[str, Row] = {
    "api": Row(
        {
            "webhook_url": f"{CLOSED_URL}/hook",
            "webhook_secret": "s" * 16,
            "inbound_token": "t" * 24,
        },
        ContactInfo("cust-1"),
    ),
    "webchat": Row({}, ContactInfo("visitor-1")),
    "email": Row(
        {
            "address": "support@example.test",
            "smtp_host": "127.0.0.1",
            "smtp_port": CLOSED_PORT,
            "smtp_security": "none",
            "timeout": 2,
        },
        ContactInfo("customer@example.test", email="customer@example.test"),
    ),
    "telegram": Row(
        {"bot_token": "123456:ABC-def", "mode": "polling", "poll_timeout": 1},
        ContactInfo("777000123", scope="123456"),
        {"chat_id": 777000123},
    ),
    "messenger": Row({"page_id": "1042", **_META}, ContactInfo("2900001", scope="1042")),
    "instagram": Row({"ig_account_id": "1784", **_META}, ContactInfo("6100001", scope="1784")),
    "whatsapp": Row({"phone_number_id": "1065", **_META}, ContactInfo("15551234567", scope="1065")),
}


class MemoryState:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def get(self, key: str) -> Any:
        return self.values.get(key)

    async def set(self, key: str, value: Any) -> None:
        self.values[key] = value


class Health:
    def report(self, **kwargs: Any) -> None:
        self.last = kwargs


class Lease:
    async def acquire(self, name: str, ttl: float) -> bool:
        return True

    async def release(self, name: str) -> None:
        return None


async def _ingest(msg: InboundMessage) -> IngestResult:
    return IngestResult(1, 1, created=True)


async def _report(update: StatusUpdate) -> None:
    return None


def _context(kind: str) -> AdapterContext:
    cls = ADAPTERS[kind]
    validate: Callable[..., dict[str, Any]] | None = getattr(cls, "validate_config", None)
    config = validate(dict(ROWS[kind].config)) if validate else dict(ROWS[kind].config)
    return AdapterContext(
        inbox_id=1,
        inbox_name=f"{kind} conformance",
        public_key="pk-conformance",
        config=config,
        ingest=_ingest,
        report_status=_report,
        state=MemoryState(),
        health=Health(),
        lease=Lease(),
        settings={
            "public_url": "https://support.example.test",
            "telegram_api_base": CLOSED_URL,
            "meta_graph_base": CLOSED_URL,
            "allow_private_urls": True,
            "max_attachment_bytes": 10_000_000,
            "node_id": "conformance",
        },
    )


def _outbound(kind: str) -> OutboundMessage:
    row = ROWS[kind]
    return OutboundMessage(
        message_id=7,
        conversation_id=3,
        provider_id=None,
        text="Hello from conformance",
        html=None,
        attachments=(),
        recipient=row.recipient,
        author_name="Agent",
        subject="Conformance",
        thread_refs=(),
        channel_data=row.channel_data,
        conversation_token="tok",
        content_attributes={},
        attempt=1,
    )


KINDS = sorted(ADAPTERS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_adapter_has_a_row(kind: str) -> None:
    assert kind in ROWS, f"add a Row for {kind!r} to ROWS in {__file__}"


@pytest.mark.parametrize("kind", KINDS)
def test_kind_matches_registry_key(kind: str) -> None:
    assert ADAPTERS[kind].kind == kind


@pytest.mark.parametrize("kind", KINDS)
def test_capabilities_and_secret_fields_are_declared(kind: str) -> None:
    caps = ADAPTERS[kind].capabilities
    assert isinstance(caps, Capabilities)
    assert isinstance(caps.secret_fields, tuple)
    assert all(isinstance(f, str) and f for f in caps.secret_fields)
    assert len(set(caps.secret_fields)) == len(caps.secret_fields)
    if caps.webhooks:
        assert inspect.iscoroutinefunction(getattr(ADAPTERS[kind], "handle_webhook", None))
    if caps.reply_window_hours is not None:
        assert caps.reply_window_hours > 0


@pytest.mark.parametrize("kind", KINDS)
def test_validate_config_accepts_the_row_and_names_an_unknown_field(kind: str) -> None:
    validate = getattr(ADAPTERS[kind], "validate_config", None)
    assert validate is not None, f"{kind}: implement validate_config"
    assert isinstance(validate(dict(ROWS[kind].config)), dict)
    with pytest.raises(ConfigInvalid) as caught:
        validate({**ROWS[kind].config, "surely_not_a_field": 1})
    assert "surely_not_a_field" in str(caught.value.reason)


@pytest.mark.parametrize("kind", KINDS)
async def test_start_and_stop_are_idempotent_and_prompt(kind: str) -> None:
    adapter = ADAPTERS[kind](_context(kind))
    await asyncio.wait_for(adapter.stop(), PROMPT)  # stop before start: a no-op
    await asyncio.wait_for(adapter.start(), PROMPT)
    await asyncio.wait_for(adapter.start(), PROMPT)
    await asyncio.sleep(0)  # let a watcher task begin its first attempt
    await asyncio.wait_for(adapter.stop(), PROMPT)
    await asyncio.wait_for(adapter.stop(), PROMPT)


@pytest.mark.parametrize("kind", KINDS)
async def test_send_failures_are_channel_errors(kind: str) -> None:
    adapter = ADAPTERS[kind](_context(kind))
    try:
        result = await asyncio.wait_for(adapter.send(_outbound(kind)), 30)
    except ChannelError as exc:
        assert exc.reason
        secrets = [
            str(ROWS[kind].config[f])
            for f in ADAPTERS[kind].capabilities.secret_fields
            if ROWS[kind].config.get(f)
        ]
        assert not [s for s in secrets if s in exc.reason], "a secret leaked into the reason"
    else:  # channels without a remote side (webchat, API without a URL) may succeed
        assert isinstance(result.provider_id, str) and result.provider_id
