"""Facebook Messenger (a Page's inbox) over the Send API and page webhooks.

Config: ``page_id``, ``access_token`` (page token), ``app_secret``, ``verify_token``,
optional ``app_id`` (echoes carrying it are recognised as ours). The 24-hour standard
messaging window applies; outside it a reply needs ``content_attributes.template`` and is
sent with a message tag (default ``HUMAN_AGENT``, allowed for 7 days).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from adapters.base import Capabilities, ContactInfo, OutboundMessage
from adapters.meta import compose, marker
from adapters.meta.channel import MetaChannel

_SECRETS = ("access_token", "app_secret", "verify_token")
SUBSCRIBED_FIELDS = ("messages", "message_echoes", "message_deliveries", "message_reads")


class MessengerAdapter(MetaChannel):
    kind: ClassVar[str] = "messenger"
    account_field: ClassVar[str] = "page_id"
    text_limit: ClassVar[int] = compose.LIMITS["messenger"]
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        attachments=True,
        max_text_length=compose.LIMITS["messenger"],
        reply_window_hours=24,
        templates=True,
        read_receipts=True,
        webhooks=True,
        secret_fields=_SECRETS,
    )

    async def requests_for(self, message: OutboundMessage) -> list[dict[str, Any]]:
        to = message.recipient.external_id
        template = message.content_attributes.get("template")
        tag = template if isinstance(template, dict) else ({} if template else None)
        out: list[dict[str, Any]] = []
        if message.text:
            for chunk in compose.split_text(message.text, self.text_limit):
                out.append(
                    compose.messenger_text(
                        to, chunk, marker.make(message.message_id, len(out)), tag
                    )
                )
        for att in message.attachments:
            kind = compose.media_kind(att.content_type)
            out.append(
                {
                    "recipient": {"id": to},
                    "messaging_type": "RESPONSE",
                    "message": {
                        "attachment": {
                            "type": "file" if kind == "document" else kind,
                            "payload": {"is_reusable": False},
                        },
                        "metadata": marker.make(message.message_id, len(out)),
                    },
                    "_upload": (att.filename, att.data, att.content_type),
                }
            )
        return out

    async def post_message(self, request: dict[str, Any]) -> str:
        path = f"{self.account_id}/messages"
        upload = request.pop("_upload", None)
        if upload is None:
            answer = await self.graph.post(path, request)
        else:
            form = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in request.items()}
            answer = await self.graph.upload(path, form, upload)
        return str(answer.get("message_id") or "")

    async def test_connection(self) -> dict[str, Any]:
        """Also subscribes the app to the Page's messaging fields (the registration step)."""
        result = await super().test_connection()
        if self.kind != "messenger":
            return result
        try:
            await self.graph.post(
                f"{self.account_id}/subscribed_apps",
                {"subscribed_fields": ",".join(SUBSCRIBED_FIELDS)},
            )
            check = {"name": "subscribed_apps", "ok": True, "detail": "page subscribed"}
        except Exception as exc:  # a check result, never a 500
            check = {
                "name": "subscribed_apps",
                "ok": False,
                "detail": getattr(exc, "reason", type(exc).__name__),
            }
        checks = [*result["checks"], check]
        return {"ok": all(c["ok"] for c in checks), "checks": checks}

    async def fetch_profile(self, contact: ContactInfo) -> ContactInfo:
        info = await self.graph.get(
            contact.external_id, {"fields": "first_name,last_name,profile_pic"}
        )
        name = " ".join(str(info[k]) for k in ("first_name", "last_name") if info.get(k))
        return ContactInfo(
            contact.external_id, contact.scope, name or None, avatar_url=info.get("profile_pic")
        )
