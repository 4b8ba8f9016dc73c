"""Provider payloads as the database can store them (pure).

A provider (Telegram, Meta) must get its 200 for anything it delivers that we cannot use,
or it redelivers the same item for days. So text from a provider is never refused for a
character: U+0000 is removed (PostgreSQL cannot store it in text or JSON) and a lone
UTF-16 surrogate becomes U+FFFD (not valid Unicode; neither database stores it). SQLite
would store U+0000; it is removed on both so both databases hold the same message.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from adapters.base import Attachment, ContactInfo, InboundMessage

#: Real payloads nest about 8 deep; beyond this a payload is malformed, and every
#: recursive walk of it (json.loads included) stays far below Python's recursion limit.
MAX_DEPTH = 32


class PayloadRefused(ValueError):
    """The bytes are not a JSON payload we can hold (invalid, or nested too deep)."""


def text(value: str) -> str:
    """``value`` without U+0000, with each lone surrogate replaced by U+FFFD."""
    cleaned = value.replace("\x00", "")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        return _replace_surrogates(cleaned)
    return cleaned


def _replace_surrogates(value: str) -> str:
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)


def scrub(payload: Any) -> Any:
    """A copy of a decoded JSON payload with every string (keys too) passed through ``text``.

    Raises PayloadRefused when it nests deeper than ``MAX_DEPTH``.
    """
    if too_deep(payload):
        raise PayloadRefused(f"nested deeper than {MAX_DEPTH} levels")
    return _scrub(payload)


def _scrub(payload: Any) -> Any:
    if isinstance(payload, str):
        return text(payload)
    if isinstance(payload, list):
        return [_scrub(item) for item in payload]
    if isinstance(payload, dict):
        return {text(str(k)): _scrub(v) for k, v in payload.items()}
    return payload


def loads(raw: bytes | str) -> Any:
    """Decode and scrub a provider's JSON body; PayloadRefused says what is wrong."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise PayloadRefused(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise PayloadRefused(f"not JSON: {exc}") from None
    return scrub(data)


def too_deep(payload: Any) -> bool:
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def _opt(value: str | None) -> str | None:
    return None if value is None else text(value)


def contact(info: ContactInfo) -> ContactInfo:
    return dataclasses.replace(
        info,
        external_id=text(info.external_id),
        scope=text(info.scope),
        name=_opt(info.name),
        email=_opt(info.email),
        phone=_opt(info.phone),
        avatar_url=_opt(info.avatar_url),
    )


def _attachment(att: Attachment) -> Attachment:
    return dataclasses.replace(
        att,
        filename=text(att.filename),
        content_type=text(att.content_type),
        content_id=_opt(att.content_id),
    )


def inbound(msg: InboundMessage) -> InboundMessage:
    """Every text of an inbound message made storable: the one boundary every channel's
    messages pass (server/channels.py hands each adapter's ``ingest`` through here), so
    mail, chat and DMs are stored alike on SQLite and PostgreSQL."""
    return dataclasses.replace(
        msg,
        external_id=text(msg.external_id),
        contact=contact(msg.contact),
        text=_opt(msg.text),
        html=_opt(msg.html),
        subject=_opt(msg.subject),
        attachments=tuple(_attachment(a) for a in msg.attachments),
        thread_refs=tuple(text(r) for r in msg.thread_refs),
        conversation_token=_opt(msg.conversation_token),
        content_attributes=_scrub(dict(msg.content_attributes)),
        channel_data=_scrub(dict(msg.channel_data)),
    )
