"""Telegram ``Update`` objects → inbound messages (pure).

The dedupe key is the ``update_id`` (unique per bot, strictly increasing), so a webhook
redelivery or a re-polled update is stored once. An edited message is a new update with
its own id: it is stored as a new message marked ``edited`` that names the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters import storable

MEDIA_KINDS = ("photo", "document", "voice", "audio", "video", "video_note", "sticker", "animation")


@dataclass(frozen=True)
class FileRef:
    kind: str
    file_id: str
    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None
    emoji: str | None = None  # stickers


@dataclass(frozen=True)
class TgMessage:
    update_id: int
    chat_id: int
    message_id: int
    user_id: str
    name: str | None
    username: str | None
    text: str | None
    sent_at: datetime | None
    files: tuple[FileRef, ...] = ()
    edited: bool = False
    reply_to: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class UpdateInvalid(ValueError):
    """Not a Telegram Update object (the one error ``parse_update`` raises)."""


INT64 = 2**63 - 1
#: Dates Telegram can really send: from 1970 to before the year 3000. Outside, the date is
#: unknown (None: the server stamps the receipt time) rather than an overflow.
MAX_DATE = 32_503_680_000


def bot_id(token: str) -> str:
    """The numeric bot id is the part of the token before the colon (public, not secret)."""
    head = token.split(":", 1)[0]
    return head if head.isascii() and head.isdigit() else ""


def parse_update(update: Any) -> TgMessage | None:
    """The message an update carries, or None for kinds we do not store (polls, joins…).

    Raises UpdateInvalid, and nothing else, for anything that is not an update. Strings
    are made storable (adapters/storable.py); fields of the wrong type count as absent.
    """
    if not isinstance(update, dict):
        raise UpdateInvalid("expected an object with an integer update_id")
    try:
        update = storable.scrub(update)
    except storable.PayloadRefused as exc:
        raise UpdateInvalid(str(exc)) from None
    update_id = _int(update.get("update_id"))
    if update_id is None:
        raise UpdateInvalid("expected an object with an integer update_id")
    edited = "edited_message" in update and "message" not in update
    msg = update.get("message") or update.get("edited_message")
    if not isinstance(msg, dict) or not isinstance(msg.get("from"), dict):
        return None
    sender, chat = msg["from"], _obj(msg.get("chat"))
    if sender.get("is_bot"):
        return None
    user_id, message_id = _int(sender.get("id")), _int(msg.get("message_id"))
    if user_id is None or message_id is None:
        raise UpdateInvalid("expected integer message.from.id and message.message_id")
    files = _files(msg)
    text = _str(msg.get("text")) or _str(msg.get("caption"))
    if text is None and not files:
        return None
    attrs: dict[str, Any] = {"telegram_message_id": message_id}
    if edited:
        attrs["edited"] = True
    chat_id = _int(chat.get("id"))
    return TgMessage(
        update_id=update_id,
        chat_id=user_id if chat_id is None else chat_id,
        message_id=message_id,
        user_id=str(user_id),
        name=_name(sender),
        username=_str(sender.get("username")),
        text=text,
        sent_at=_when(msg.get("edit_date") if edited else msg.get("date")),
        files=files,
        edited=edited,
        reply_to=_int(_obj(msg.get("reply_to_message")).get("message_id")),
        attributes=attrs,
    )


def update_id_of(update: Any) -> int | None:
    """The update id, when there is a usable one (for logs and the polling offset)."""
    return _int(update.get("update_id")) if isinstance(update, dict) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    """An integer that fits 64 bits (not a bool), else None."""
    return value if type(value) is int and abs(value) <= INT64 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _files(msg: dict[str, Any]) -> tuple[FileRef, ...]:
    for kind in MEDIA_KINDS:
        value = msg.get(kind)
        if kind == "photo" and isinstance(value, list):
            sizes = [p for p in value if isinstance(p, dict) and _str(p.get("file_id"))]
            if sizes:
                best = max(
                    sizes, key=lambda p: _int(p.get("file_size")) or _int(p.get("width")) or 0
                )
                return (
                    FileRef(
                        "photo",
                        best["file_id"],
                        "photo.jpg",
                        "image/jpeg",
                        _int(best.get("file_size")),
                    ),
                )
        if isinstance(value, dict) and _str(value.get("file_id")):
            return (
                FileRef(
                    kind,
                    value["file_id"],
                    _str(value.get("file_name")),
                    _str(value.get("mime_type")) or _default_mime(kind, value),
                    _int(value.get("file_size")),
                    _str(value.get("emoji")),
                ),
            )
    return ()


def _default_mime(kind: str, value: dict[str, Any]) -> str:
    if kind == "sticker":
        if value.get("is_video"):
            return "video/webm"
        return "application/x-tgsticker" if value.get("is_animated") else "image/webp"
    return {"voice": "audio/ogg", "video_note": "video/mp4"}.get(kind, "application/octet-stream")


def _name(user: dict[str, Any]) -> str | None:
    name = " ".join(v for k in ("first_name", "last_name") if (v := _str(user.get(k))))
    return name or _str(user.get("username"))


def _when(value: Any) -> datetime | None:
    """Unix seconds as an aware datetime; None when absent or outside 1970-2999."""
    seconds = _int(value)
    if seconds is None or not 0 <= seconds < MAX_DATE:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def file_name(ref: FileRef, file_path: str | None) -> str:
    if ref.filename:
        return ref.filename
    tail = (file_path or "").rsplit("/", 1)[-1]
    return tail or f"{ref.kind}.bin"
