"""Every channel adapter, registered explicitly (no directory scanning)."""

from __future__ import annotations

from adapters.api_channel.adapter import ApiChannelAdapter
from adapters.base import Adapter
from adapters.email.adapter import EmailAdapter
from adapters.webchat.adapter import WebchatAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    ApiChannelAdapter.kind: ApiChannelAdapter,
    WebchatAdapter.kind: WebchatAdapter,
    EmailAdapter.kind: EmailAdapter,
}
