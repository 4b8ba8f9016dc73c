"""The website live-chat widget channel.

Inbound messages do not come through the adapter: the visitor-facing API in
``server/widget/`` ingests them (it owns sessions, tokens and the visitor socket).
Outbound replies need no transport of their own either: the reply is committed and its
``message.created`` event reaches the visitor's socket from the bus. ``send`` therefore
only names the delivery with a provider id, which read receipts later match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import AdapterContext, Capabilities, OutboundMessage, SendResult
from adapters.webchat import config


class WebchatAdapter:
    kind: ClassVar[str] = "webchat"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        attachments=True,
        typing=True,
        read_receipts=True,
        secret_fields=("hmac_secret",),
    )

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx

    @staticmethod
    def validate_config(raw: Mapping[str, Any]) -> dict[str, Any]:
        return config.validate_config(raw)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(message.provider_id or f"webchat-{message.message_id}")
