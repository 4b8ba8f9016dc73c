"""Instagram DMs (a professional account) over the Messenger Platform's Instagram API.

Config: ``ig_account_id`` (the id in webhook ``entry[].id``), ``access_token``,
``app_secret``, ``verify_token``, optional ``app_id``. Same 24-hour window and
``HUMAN_AGENT`` tag as Messenger; texts are limited to 1000 characters and split.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.base import Capabilities, ContactInfo
from adapters.meta import compose
from adapters.meta.messenger import MessengerAdapter


class InstagramAdapter(MessengerAdapter):
    kind: ClassVar[str] = "instagram"
    account_field: ClassVar[str] = "ig_account_id"
    text_limit: ClassVar[int] = compose.LIMITS["instagram"]
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        attachments=True,
        max_text_length=compose.LIMITS["instagram"],
        reply_window_hours=24,
        templates=True,
        read_receipts=True,
        webhooks=True,
        secret_fields=("access_token", "app_secret", "verify_token"),
    )

    async def fetch_profile(self, contact: ContactInfo) -> ContactInfo:
        info = await self.graph.get(contact.external_id, {"fields": "name,username,profile_pic"})
        name = info.get("name") or info.get("username")
        return ContactInfo(
            contact.external_id,
            contact.scope,
            str(name) if name else None,
            avatar_url=info.get("profile_pic"),
        )
