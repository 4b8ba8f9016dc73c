"""Bot API request bodies and text splitting (pure).

Telegram caps a message at 4096 characters and a caption at 1024, counted in UTF-16 code
units (an emoji outside the BMP counts twice). Splitting by Python characters could make a
part with many emoji too long, so lengths here are measured in UTF-16 units.
"""

from __future__ import annotations

from typing import Any

from adapters.textparts import boundary

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix length (in characters) whose UTF-16 length is within ``limit``."""
    total = 0
    for i, ch in enumerate(text):
        total += 2 if ord(ch) > 0xFFFF else 1
        if total > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts within ``limit``: cut at a newline or space in the second half, else hard-cut."""
    parts: list[str] = []
    rest = text
    while units(rest) > limit:
        room = _fit(rest, limit)
        cut = boundary(rest, room)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def send_message(chat_id: int | str, text: str, reply_to: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if reply_to is not None:
        body["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    return body


def media_method(content_type: str) -> tuple[str, str]:
    """(Bot API method, its file field) for an outgoing attachment."""
    if content_type in ("image/jpeg", "image/png", "image/webp"):
        return "sendPhoto", "photo"
    if content_type.startswith("video/"):
        return "sendVideo", "video"
    if content_type in ("audio/ogg", "audio/opus"):
        return "sendVoice", "voice"
    if content_type.startswith("audio/"):
        return "sendAudio", "audio"
    return "sendDocument", "document"


def error_of(status: int, body: Any) -> tuple[bool, str, float | None]:
    """(transient?, reason, retry_after) for a failed Bot API call.

    429 carries ``parameters.retry_after``; 5xx are Telegram's own trouble; every other
    4xx (400 chat not found, 403 bot blocked by the user) will fail the same way again.
    """
    data = body if isinstance(body, dict) else {}
    code = int(data.get("error_code") or status)
    reason = f"Telegram {code}: {str(data.get('description') or 'error')[:300]}"
    params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
    retry = params.get("retry_after") if isinstance(params, dict) else None
    transient = code == 429 or code >= 500 or status >= 500
    return transient, reason, float(retry) if isinstance(retry, int | float) else None
