"""Send API request bodies (pure) for Messenger, Instagram and WhatsApp.

Outside the 24-hour window the server only lets a reply through when its
``content_attributes`` carry a ``template``; for Messenger/Instagram that is a message tag
(``HUMAN_AGENT``: a human answering within 7 days), for WhatsApp an approved template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.textparts import boundary

# Documented text limits: Messenger 2000, Instagram 1000, WhatsApp 4096 characters.
LIMITS = {"messenger": 2000, "instagram": 1000, "whatsapp": 4096}


def split_text(text: str, limit: int) -> list[str]:
    """Cut at the last newline or space before ``limit``; hard-cut only a single long word."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = boundary(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def messenger_text(
    recipient: str, text: str, metadata: str, template: Mapping[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": {"id": recipient},
        "message": {"text": text, "metadata": metadata},
    }
    if template:
        body["messaging_type"] = "MESSAGE_TAG"
        body["tag"] = str(template.get("tag") or "HUMAN_AGENT")
    else:
        body["messaging_type"] = "RESPONSE"
    return body


def messenger_attachment(recipient: str, kind: str, url: str, metadata: str) -> dict[str, Any]:
    return {
        "recipient": {"id": recipient},
        "messaging_type": "RESPONSE",
        "message": {
            "attachment": {"type": kind, "payload": {"url": url, "is_reusable": False}},
            "metadata": metadata,
        },
    }


def whatsapp_text(to: str, text: str, reply_to: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": text, "preview_url": False},
    }
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


def whatsapp_template(to: str, template: Mapping[str, Any]) -> dict[str, Any]:
    """``template`` = {"name", "language" ("en_US" or {"code"}), "components"?}."""
    name = str(template.get("name") or "")
    if not name:
        raise ValueError("template.name is required")
    language = template.get("language") or "en_US"
    lang = dict(language) if isinstance(language, Mapping) else {"code": str(language)}
    tpl: dict[str, Any] = {"name": name, "language": lang}
    if template.get("components"):
        tpl["components"] = list(template["components"])
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": tpl,
    }


def whatsapp_media(
    to: str, kind: str, media_id: str, caption: str | None, filename: str | None
) -> dict[str, Any]:
    media: dict[str, Any] = {"id": media_id}
    if caption and kind in ("image", "video", "document"):
        media["caption"] = caption
    if filename and kind == "document":
        media["filename"] = filename
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: media,
    }


def media_kind(content_type: str) -> str:
    """Map a MIME type to the platform's attachment kind."""
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"
