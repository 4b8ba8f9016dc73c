"""What a visitor may see (pure): public messages only, with the author's public face.

Built on ``server.serialize.public_message``: the same keys, from a DB row or from an event's
message snapshot. Notes and activity lines have no public shape and are dropped here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from server import serialize

PUBLIC_KINDS = frozenset({"message"})


def is_public(message: Mapping[str, Any]) -> bool:
    return message.get("kind") in PUBLIC_KINDS


def from_row(row: Any, avatars: Mapping[int, str | None]) -> dict[str, Any]:
    data = serialize.public_message(row)
    return _decorate(
        data, row.sender_type, row.sender_id, dict(row.content_attributes or {}), avatars
    )


def from_event(
    message: Mapping[str, Any], avatars: Mapping[int, str | None]
) -> dict[str, Any] | None:
    """The public shape of an event's message snapshot, or None when it is not public."""
    if not is_public(message):
        return None
    row = SimpleNamespace(**{**message, "sent_at": None})
    data = serialize.public_message(row)
    data["sent_at"] = message.get("sent_at")
    return _decorate(
        data,
        message.get("sender_type"),
        message.get("sender_id"),
        dict(message.get("content_attributes") or {}),
        avatars,
    )


def _decorate(
    data: dict[str, Any],
    sender_type: Any,
    sender_id: Any,
    attrs: dict[str, Any],
    avatars: Mapping[int, str | None],
) -> dict[str, Any]:
    data["attachments"] = [_attachment(a) for a in data["attachments"]]
    if sender_type == "contact":
        data["client_id"] = attrs.get("client_id")
        data["author"] = None
    else:
        name = attrs.get("sender_name")
        data["author"] = {
            "name": name if isinstance(name, str) else None,
            "avatar_url": avatars.get(sender_id) if sender_id else None,
        }
    return data


def _attachment(ref: Mapping[str, Any]) -> dict[str, Any]:
    """Only what a visitor needs; the download goes through the widget API."""
    return {
        "id": ref.get("id"),
        "filename": ref.get("filename"),
        "content_type": ref.get("content_type"),
        "size": ref.get("size"),
    }
