"""Telegram ``Update`` objects → inbound messages (pure).

The dedupe key is the ``update_id`` (unique per bot, strictly increasing), so a webhook
redelivery or a re-polled update is stored once. An edited message is a new update with
its own id: it is stored as a new message marked ``edited`` that names the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
    """Not a Telegram Update object."""


def bot_id(token: str) -> str:
    """The numeric bot id is the part of the token before the colon (public, not secret)."""
    head = token.split(":", 1)[0]
    return head if head.isdigit() else ""


def parse_update(update: Any) -> TgMessage | None:
    """The message an update carries, or None for kinds we do not store (polls, joins…)."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise UpdateInvalid("expected an object with an integer update_id")
    edited = "edited_message" in update and "message" not in update
    msg = update.get("message") or update.get("edited_message")
    if not isinstance(msg, dict) or not isinstance(msg.get("from"), dict):
        return None
    sender, chat = msg["from"], msg.get("chat") or {}
    if sender.get("is_bot"):
        return None
    files = _files(msg)
    text = msg.get("text") or msg.get("caption")
    if text is None and not files:
        return None
    reply = msg.get("reply_to_message")
    attrs: dict[str, Any] = {"telegram_message_id": msg.get("message_id")}
    if edited:
        attrs["edited"] = True
    return TgMessage(
        update_id=update["update_id"],
        chat_id=int(chat.get("id", sender.get("id", 0))),
        message_id=int(msg.get("message_id", 0)),
        user_id=str(sender.get("id")),
        name=_name(sender),
        username=sender.get("username"),
        text=text,
        sent_at=_when(msg.get("edit_date") if edited else msg.get("date")),
        files=files,
        edited=edited,
        reply_to=reply.get("message_id") if isinstance(reply, dict) else None,
        attributes=attrs,
    )


def _files(msg: dict[str, Any]) -> tuple[FileRef, ...]:
    for kind in MEDIA_KINDS:
        value = msg.get(kind)
        if kind == "photo" and isinstance(value, list) and value:
            best = max(value, key=lambda p: p.get("file_size") or p.get("width", 0))
            return (
                FileRef(
                    "photo", str(best["file_id"]), "photo.jpg", "image/jpeg", best.get("file_size")
                ),
            )
        if isinstance(value, dict) and value.get("file_id"):
            return (
                FileRef(
                    kind,
                    str(value["file_id"]),
                    value.get("file_name"),
                    value.get("mime_type") or _default_mime(kind, value),
                    value.get("file_size"),
                    value.get("emoji"),
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
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))
    return name or user.get("username")


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) else None


def file_name(ref: FileRef, file_path: str | None) -> str:
    if ref.filename:
        return ref.filename
    tail = (file_path or "").rsplit("/", 1)[-1]
    return tail or f"{ref.kind}.bin"
