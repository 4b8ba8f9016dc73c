"""Meta webhook payloads → events (pure). Every entry and every item is read.

Messenger (``object: page``) and Instagram (``object: instagram``) deliver
``entry[].messaging[]`` (and ``standby[]`` when another app holds the thread). WhatsApp
(``object: whatsapp_business_account``) delivers ``entry[].changes[].value`` with
``messages[]``, ``contacts[]`` and ``statuses[]``. Malformed items are skipped rather than
failing the whole batch: one bad item must not block the good ones beside it, and Meta must
get its 200 for it or it redelivers the batch for days. Fields of the wrong type count as
absent, and strings are made storable (adapters/storable.py), so ``parse`` raises only
PayloadInvalid, and only when the body is no webhook payload at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters import storable
from adapters.meta.errors import status_error
from adapters.meta.events import Event, Incoming, MediaRef, Receipt

WA_MEDIA = ("image", "video", "audio", "document", "sticker", "voice")


class PayloadInvalid(ValueError):
    """The body is not a Meta webhook payload at all."""


def parse(payload: Any) -> list[Event]:
    return parse_batch(payload)[0]


def parse_batch(payload: Any) -> tuple[list[Event], list[str]]:
    """The events of a delivery, and a note for each malformed item skipped (for the log)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise PayloadInvalid("expected an object with an entry list")
    try:
        payload = storable.scrub(payload)
    except storable.PayloadRefused as exc:
        raise PayloadInvalid(str(exc)) from None
    obj, dropped = payload.get("object"), list[str]()
    if obj in ("page", "instagram"):
        return [e for en in payload["entry"] for e in _messaging_entry(en, dropped)], dropped
    if obj == "whatsapp_business_account":
        return [e for en in payload["entry"] for e in _whatsapp_entry(en, dropped)], dropped
    raise PayloadInvalid(f"unknown object {obj!r}")


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: Any) -> str | None:
    """An id as Meta sends them (string, sometimes a number), or None."""
    if isinstance(value, str) and value:
        return value
    return str(value) if type(value) is int else None


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _seconds(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


# -- Messenger / Instagram ------------------------------------------------------------------


def _messaging_entry(entry: Any, dropped: list[str]) -> list[Event]:
    if not isinstance(entry, dict):
        dropped.append("an entry that is not an object")
        return []
    account = _id(entry.get("id")) or ""
    items = [*_list(entry.get("messaging")), *_list(entry.get("standby"))]
    out: list[Event] = []
    for item in items:
        event = _messaging_item(account, item) if isinstance(item, dict) else None
        if event is not None:
            out.append(event)
        elif not isinstance(item, dict) or (
            isinstance(item.get("message"), dict) and not _id(item["message"].get("mid"))
        ):
            dropped.append(f"a messaging item of entry {account or '?'} without a message id")
    return out


def _messaging_item(account: str, item: dict[str, Any]) -> Event | None:
    sender = _id(_obj(item.get("sender")).get("id")) or ""
    recipient = _id(_obj(item.get("recipient")).get("id")) or ""
    if isinstance(item.get("message"), dict):
        return _message(account, sender, recipient, item)
    if isinstance(item.get("delivery"), dict):
        d = item["delivery"]
        return Receipt(
            account,
            sender,
            "delivered",
            tuple(mid for m in _list(d.get("mids")) if (mid := _id(m))),
            watermark=_ms(d.get("watermark")),
            at=_ms(item.get("timestamp")),
        )
    if isinstance(item.get("read"), dict):
        r = item["read"]
        mid = _id(r.get("mid"))
        mids = (mid,) if mid else ()  # Instagram names the message
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
    mid = _id(m.get("mid"))
    if not mid or m.get("is_deleted"):
        return None
    echo = bool(m.get("is_echo"))
    return Incoming(
        account_id=account,
        user_id=recipient if echo else sender,
        mid=mid,
        text=_str(m.get("text")),
        sent_at=_ms(item.get("timestamp")),
        media=tuple(
            _messenger_media(a) for a in _list(m.get("attachments")) if isinstance(a, dict)
        ),
        reply_to=_id(_obj(m.get("reply_to")).get("mid")),
        is_echo=echo,
        app_id=_id(m.get("app_id")),
        metadata=_str(m.get("metadata")),
    )


def _messenger_media(att: dict[str, Any]) -> MediaRef:
    payload = _obj(att.get("payload"))
    return MediaRef(kind=_str(att.get("type")) or "file", url=_str(payload.get("url")))


# -- WhatsApp -------------------------------------------------------------------------------


def _whatsapp_entry(entry: Any, dropped: list[str]) -> list[Event]:
    if not isinstance(entry, dict):
        dropped.append("an entry that is not an object")
        return []
    out: list[Event] = []
    for change in _list(entry.get("changes")):
        value = change.get("value") if isinstance(change, dict) else None
        if isinstance(value, dict):
            out.extend(_whatsapp_value(value, dropped))
    return out


def _whatsapp_value(value: dict[str, Any], dropped: list[str]) -> list[Event]:
    account = _id(_obj(value.get("metadata")).get("phone_number_id")) or ""
    names = {
        _id(c.get("wa_id")): _str(_obj(c.get("profile")).get("name"))
        for c in _list(value.get("contacts"))
        if isinstance(c, dict)
    }
    out: list[Event] = []
    for msg in _list(value.get("messages")):
        if isinstance(msg, dict) and _id(msg.get("id")) and _id(msg.get("from")):
            out.append(_wa_message(account, msg, names))
        else:
            dropped.append(f"a message to {account or '?'} without an id or a sender")
    for st in _list(value.get("statuses")):
        if isinstance(st, dict) and _id(st.get("id")) and _str(st.get("status")):
            out.append(
                Receipt(
                    account,
                    _id(st.get("recipient_id")) or "",
                    st["status"],
                    (str(_id(st["id"])),),
                    at=_seconds(st.get("timestamp")),
                    error=status_error(st.get("errors")),
                )
            )
    return out


def _wa_message(account: str, msg: dict[str, Any], names: dict[str | None, Any]) -> Incoming:
    kind = _str(msg.get("type")) or "text"
    body = _obj(msg.get(kind))
    text = _str(body.get("body") if kind == "text" else body.get("caption"))
    if kind == "location":
        place = _str(body.get("name")) or ""
        text = f"📍 {place} {_num(body.get('latitude'))},{_num(body.get('longitude'))}".strip()
    if kind in ("button", "interactive"):
        text = _wa_choice(msg)
    media = (
        (
            MediaRef(
                kind,
                media_id=_id(body.get("id")),
                mime_type=_str(body.get("mime_type")),
                filename=_str(body.get("filename")),
            ),
        )
        if kind in WA_MEDIA and _id(body.get("id"))
        else ()
    )
    sender = str(_id(msg["from"]))
    return Incoming(
        account,
        sender,
        str(_id(msg["id"])),
        text,
        _seconds(msg.get("timestamp")),
        media,
        name=names.get(sender),
        reply_to=_id(_obj(msg.get("context")).get("id")),
    )


def _num(value: Any) -> str:
    """A coordinate as text; anything but a number is left out."""
    return str(value) if type(value) in (int, float) else ""


def _wa_choice(msg: dict[str, Any]) -> str | None:
    if isinstance(msg.get("button"), dict):
        return _str(msg["button"].get("text")) or ""
    inter = _obj(msg.get("interactive"))
    picked = _obj(inter.get("button_reply") or inter.get("list_reply"))
    return _str(picked.get("title")) or None
