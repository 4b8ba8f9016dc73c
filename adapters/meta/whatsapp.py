"""WhatsApp Cloud API: one business phone number per inbox.

Config: ``phone_number_id``, ``access_token``, ``app_secret``, ``verify_token``. The
customer's name comes in the webhook's ``contacts[].profile`` (there is no profile API).
Statuses arrive in batches and out of order; the server applies them monotonically, and a
``failed`` status carries its error code into the message's error. Outside the 24-hour
customer service window only approved templates may be sent: a reply whose
``content_attributes.template`` is {"name", "language", "components"?} is sent as one.
WhatsApp sends no echoes of our messages, so no echo matching is needed here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.base import Capabilities, OutboundMessage, PermanentError, TransientError
from adapters.meta import compose
from adapters.meta.channel import MetaChannel
from adapters.meta.events import MediaRef
from adapters.meta.net import fetch_bytes, refuse_private


class WhatsAppAdapter(MetaChannel):
    kind: ClassVar[str] = "whatsapp"
    account_field: ClassVar[str] = "phone_number_id"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        attachments=True,
        max_text_length=compose.LIMITS["whatsapp"],
        reply_window_hours=24,
        templates=True,
        read_receipts=True,
        webhooks=True,
        secret_fields=("access_token", "app_secret", "verify_token"),
    )

    async def requests_for(self, message: OutboundMessage) -> list[dict[str, Any]]:
        to = message.recipient.external_id
        template = message.content_attributes.get("template")
        if template:
            if not isinstance(template, dict):
                raise PermanentError('template: expected {"name", "language"}')
            try:
                return [compose.whatsapp_template(to, template)]
            except ValueError as exc:
                raise PermanentError(str(exc)) from None
        out: list[dict[str, Any]] = []
        for att in message.attachments:
            kind = compose.media_kind(att.content_type)
            out.append(
                {"_media": (att.filename, att.data, att.content_type), "to": to, "type": kind}
            )
        if message.text:
            out.extend(
                compose.whatsapp_text(to, chunk)
                for chunk in compose.split_text(message.text, compose.LIMITS["whatsapp"])
            )
        return out

    async def post_message(self, request: dict[str, Any]) -> str:
        media = request.pop("_media", None)
        if media is not None:
            uploaded = await self.graph.upload(
                f"{self.account_id}/media",
                {"messaging_product": "whatsapp", "type": media[2]},
                media,
                field="file",
            )
            request = compose.whatsapp_media(
                request["to"], request["type"], str(uploaded.get("id")), None, media[0]
            )
        answer = await self.graph.post(f"{self.account_id}/messages", request)
        messages = answer.get("messages") or [{}]
        return str(messages[0].get("id") or "")

    async def download(self, ref: MediaRef) -> tuple[bytes, str | None]:
        """Media ids resolve to a short-lived URL that itself needs the access token."""
        if not ref.media_id:
            raise PermanentError("media without an id")
        options = self.fetch_options()
        await refuse_private(self.graph.base, options["allow_private"])
        info = await self.graph.get(ref.media_id)
        url = str(info.get("url") or "")
        if not url:
            raise TransientError("media id resolved to no url")
        return await fetch_bytes(url, headers=self.graph.auth_headers, **options)
