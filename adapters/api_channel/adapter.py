"""The API channel: a generic integration point.

Inbound: an external system POSTs customer messages to
``/api/channels/api/{public_key}/messages`` with ``Authorization: Bearer <inbox token>``
(handled by the server's route, which calls ``ctx.ingest``).

Outbound: agent replies are POSTed as JSON to the inbox's ``webhook_url``, signed with
HMAC-SHA256 of the raw body under the inbox's ``webhook_secret``::

    X-Switchboard-Signature: sha256=<hex>
    X-Switchboard-Timestamp: <unix seconds>   (signed as "<timestamp>.<body>")
    X-Switchboard-Delivery: <message id>      (stable across retries: dedupe on it)

A 2xx answer is a delivery; 408, 429 and 5xx or a network error are retried; any other
4xx is permanent. Without a ``webhook_url`` replies are marked sent and the integration
reads them over the REST API instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from adapters.base import (
    AdapterContext,
    Capabilities,
    ConfigInvalid,
    OutboundMessage,
    PermanentError,
    SendResult,
    TransientError,
)
from adapters.outbound_guard import refuse_private

_TIMEOUT = 10.0  # a webhook receiver that needs longer should queue and answer 202


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class ApiChannelAdapter:
    kind: ClassVar[str] = "api"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        attachments=True,
        secret_fields=("webhook_secret", "inbound_token"),
    )

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx

    @staticmethod
    def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
        url = str(config.get("webhook_url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise ConfigInvalid("webhook_url: expected an http:// or https:// URL")
        unknown = set(config) - {"webhook_url", "webhook_secret", "inbound_token"}
        if unknown:
            raise ConfigInvalid(f"unknown field(s): {', '.join(sorted(unknown))}")
        return dict(config)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutboundMessage) -> SendResult:
        provider_id = f"api-{message.message_id}"
        url = self.ctx.config.get("webhook_url")
        if not url:
            return SendResult(provider_id)
        await refuse_private(str(url), bool(self.ctx.settings.get("allow_private_urls")))
        body = json.dumps(_payload(message, self.ctx.inbox_id)).encode()
        headers = self._headers(body, message.message_id)
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
                response = await client.post(str(url), content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"webhook not reachable: {type(exc).__name__}") from None
        _classify(response.status_code)
        return SendResult(provider_id)

    def _headers(self, body: bytes, message_id: int) -> dict[str, str]:
        timestamp = str(int(time.time()))
        secret = str(self.ctx.config.get("webhook_secret") or "")
        return {
            "content-type": "application/json",
            "x-switchboard-timestamp": timestamp,
            "x-switchboard-signature": sign(secret, timestamp, body),
            "x-switchboard-delivery": str(message_id),
        }


def _classify(status: int) -> None:
    if 200 <= status < 300:
        return
    if status in (408, 429) or status >= 500:
        raise TransientError(f"webhook answered HTTP {status}", code=str(status))
    raise PermanentError(f"webhook refused the message: HTTP {status}", code=str(status))


def _payload(message: OutboundMessage, inbox_id: int) -> dict[str, Any]:
    return {
        "event": "message.created",
        "inbox_id": inbox_id,
        "conversation_id": message.conversation_id,
        "message": {
            "id": message.message_id,
            "text": message.text,
            "author_name": message.author_name,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": len(a.data)}
                for a in message.attachments
            ],
        },
        "contact": {"external_id": message.recipient.external_id},
    }
