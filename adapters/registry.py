"""Every channel adapter, registered explicitly (no directory scanning)."""

from __future__ import annotations

from adapters.api_channel.adapter import ApiChannelAdapter
from adapters.base import Adapter
from adapters.email.adapter import EmailAdapter
from adapters.meta.instagram import InstagramAdapter
from adapters.meta.messenger import MessengerAdapter
from adapters.meta.whatsapp import WhatsAppAdapter
from adapters.telegram.adapter import TelegramAdapter
from adapters.webchat.adapter import WebchatAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    ApiChannelAdapter.kind: ApiChannelAdapter,
    WebchatAdapter.kind: WebchatAdapter,
    EmailAdapter.kind: EmailAdapter,
    TelegramAdapter.kind: TelegramAdapter,
    MessengerAdapter.kind: MessengerAdapter,
    InstagramAdapter.kind: InstagramAdapter,
    WhatsAppAdapter.kind: WhatsAppAdapter,
}
