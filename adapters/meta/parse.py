"""Meta webhook payloads → events (pure). Every entry and every item is read.

Messenger (``object: page``) and Instagram (``object: instagram``) deliver
``entry[].messaging[]`` (and ``standby[]`` when another app holds the thread). WhatsApp
(``object: whatsapp_business_account``) delivers ``entry[].changes[].value`` with
``messages[]``, ``contacts[]`` and ``statuses[]``. Malformed items are skipped with a note
rather than failing the whole batch: one bad item must not block the good ones beside it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.meta.errors import status_error
from adapters.meta.events import Event, Incoming, MediaRef, Receipt

WA_MEDIA = ("image", "video", "audio", "document", "sticker", "voice")


class PayloadInvalid(ValueError):
    """The body is not a Meta webhook payload at all."""


def parse(payload: Any) -> list[Event]:
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise PayloadInvalid("expected an object with an entry list")
    obj = payload.get("object")
    if obj in ("page", "instagram"):
        return [e for entry in payload["entry"] for e in _messaging_entry(entry)]
    if obj == "whatsapp_business_account":
        return [e for entry in payload["entry"] for e in _whatsapp_entry(entry)]
    raise PayloadInvalid(f"unknown object {obj!r}")


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _seconds(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# -- Messenger / Instagram ------------------------------------------------------------------


def _messaging_entry(entry: Any) -> list[Event]:
    if not isinstance(entry, dict):
        return []
    account = str(entry.get("id", ""))
    items = [*(entry.get("messaging") or []), *(entry.get("standby") or [])]
    out: list[Event] = []
    for item in items:
        event = _messaging_item(account, item) if isinstance(item, dict) else None
        if event is not None:
            out.append(event)
    return out


def _messaging_item(account: str, item: dict[str, Any]) -> Event | None:
    sender = str((item.get("sender") or {}).get("id", ""))
    recipient = str((item.get("recipient") or {}).get("id", ""))
    if isinstance(item.get("message"), dict):
        return _message(account, sender, recipient, item)
    if isinstance(item.get("delivery"), dict):
        d = item["delivery"]
        return Receipt(
            account,
            sender,
            "delivered",
            tuple(str(m) for m in d.get("mids") or ()),
            watermark=_ms(d.get("watermark")),
            at=_ms(item.get("timestamp")),
        )
    if isinstance(item.get("read"), dict):
        r = item["read"]
        mids = (str(r["mid"]),) if r.get("mid") else ()  # Instagram names the message
        return Receipt(
            account,
            sender,
            "read",
            mids,
            watermark=_ms(r.get("watermark")),
            at=_ms(item.get("timestamp")),
        )
    return None  # reactions, postbacks, referrals: not messages in a thread


def _message(account: str, sender: str, recipient: str, item: dict[str, Any]) -> Incoming | None:
    m = item["message"]
    if not m.get("mid") or m.get("is_deleted"):
        return None
    echo = bool(m.get("is_echo"))
    reply = _obj(m.get("reply_to"))
    return Incoming(
        account_id=account,
        user_id=recipient if echo else sender,
        mid=str(m["mid"]),
        text=m.get("text"),
        sent_at=_ms(item.get("timestamp")),
        media=tuple(_messenger_media(a) for a in m.get("attachments") or () if isinstance(a, dict)),
        reply_to=str(reply["mid"]) if reply.get("mid") else None,
        is_echo=echo,
        app_id=str(m["app_id"]) if m.get("app_id") is not None else None,
        metadata=m.get("metadata"),
    )


def _messenger_media(att: dict[str, Any]) -> MediaRef:
    payload = _obj(att.get("payload"))
    return MediaRef(kind=str(att.get("type", "file")), url=payload.get("url"))


# -- WhatsApp -------------------------------------------------------------------------------


def _whatsapp_entry(entry: Any) -> list[Event]:
    if not isinstance(entry, dict):
        return []
    out: list[Event] = []
    for change in entry.get("changes") or ():
        value = change.get("value") if isinstance(change, dict) else None
        if isinstance(value, dict):
            out.extend(_whatsapp_value(value))
    return out


def _whatsapp_value(value: dict[str, Any]) -> list[Event]:
    account = str((value.get("metadata") or {}).get("phone_number_id", ""))
    names = {
        str(c.get("wa_id")): (c.get("profile") or {}).get("name")
        for c in value.get("contacts") or ()
        if isinstance(c, dict)
    }
    out: list[Event] = []
    for msg in value.get("messages") or ():
        if isinstance(msg, dict) and msg.get("id") and msg.get("from"):
            out.append(_wa_message(account, msg, names))
    for st in value.get("statuses") or ():
        if isinstance(st, dict) and st.get("id") and st.get("status"):
            out.append(
                Receipt(
                    account,
                    str(st.get("recipient_id", "")),
                    str(st["status"]),
                    (str(st["id"]),),
                    at=_seconds(st.get("timestamp")),
                    error=status_error(st.get("errors")),
                )
            )
    return out


def _wa_message(account: str, msg: dict[str, Any], names: dict[str, Any]) -> Incoming:
    kind = str(msg.get("type", "text"))
    body = _obj(msg.get(kind))
    text = body.get("body") if kind == "text" else body.get("caption")
    if kind == "location":
        text = f"📍 {body.get('name') or ''} {body.get('latitude')},{body.get('longitude')}".strip()
    if kind in ("button", "interactive"):
        text = _wa_choice(msg)
    media = (
        (
            MediaRef(
                kind,
                media_id=str(body.get("id")),
                mime_type=body.get("mime_type"),
                filename=body.get("filename"),
            ),
        )
        if kind in WA_MEDIA and body.get("id")
        else ()
    )
    context = _obj(msg.get("context"))
    sender = str(msg["from"])
    return Incoming(
        account,
        sender,
        str(msg["id"]),
        text,
        _seconds(msg.get("timestamp")),
        media,
        name=names.get(sender),
        reply_to=str(context["id"]) if context.get("id") else None,
    )


def _wa_choice(msg: dict[str, Any]) -> str | None:
    if isinstance(msg.get("button"), dict):
        return str(msg["button"].get("text") or "")
    inter = _obj(msg.get("interactive"))
    picked = _obj(inter.get("button_reply") or inter.get("list_reply"))
    return str(picked.get("title") or "") or None
