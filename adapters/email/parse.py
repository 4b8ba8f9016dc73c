"""Raw RFC 5322 bytes → ``InboundMessage``. Pure: no I/O, no clock.

Everything here is defensive: mail from the internet is often malformed, and a message we
cannot understand is still a message a customer sent. ``parse_or_quarantine`` never raises;
what it cannot parse becomes a quarantined message carrying the raw bytes as an attachment.

Ids: Message-IDs are stored without angle brackets (``abc@host``), the same form used for
our own outbound ids, so In-Reply-To/References match stored ids exactly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from adapters.base import Attachment, ContactInfo, InboundMessage
from adapters.email.bodies import Bodies, collect_bodies
from adapters.email.compose import is_own_message_id
from adapters.email.quoting import split_reply

MAX_ID = 900  # below the 1000-char external_id column, room for nothing else
MAX_SUBJECT = 998  # RFC 5322 line limit; the column holds 1000
MAX_REFS = 100  # the server matches the newest 50; a 5,000-id References is hostile
MAX_TEXT = 1_000_000  # characters of body text kept; the full original stays an attachment
UNKNOWN_SENDER = "unknown-sender@invalid"
_MSGID = re.compile(r"<([^<>\s]+)>")
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMONS = ("mailer-daemon@", "postmaster@")
_TRACE = {"received", "return-path", "delivered-to", "x-original-to", "x-received"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class MailContext:
    """What the parser needs to know about the inbox and the delivery."""

    inbox_address: str  # support@example.com (tokens come as support+<token>@example.com)
    own_domain: str  # domain of our outbound Message-IDs (echo detection)
    received_at: datetime | None = None  # IMAP INTERNALDATE: arrival at our mailbox
    truncated_from: int | None = None  # full size when only the first bytes were fetched


def parse_or_quarantine(raw: bytes, mc: MailContext) -> InboundMessage:
    """Parse a mail; on any failure return a quarantined message instead. Never raises."""
    try:
        return parse_message(raw, mc)
    except Exception as exc:  # the loop boundary of parsing: never lose mail
        return quarantine(raw, mc, f"{type(exc).__name__}: {exc}"[:300])


def parse_message(raw: bytes, mc: MailContext) -> InboundMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    external_id = message_id_of(msg, raw)
    bodies = collect_bodies(msg)
    sender = _sender(msg)
    attrs = _attributes(msg, bodies, mc, raw)
    return InboundMessage(
        external_id=external_id,
        contact=sender,
        text=_clip(bodies.text),
        html=_clip(bodies.html),
        attachments=tuple(bodies.attachments),
        sent_at=mc.received_at or _date(msg),
        subject=_subject(msg),
        thread_refs=thread_refs(msg),
        conversation_token=conversation_token(_recipients(msg), mc.inbox_address),
        is_auto=is_auto_message(msg, sender.email or ""),
        is_echo=_is_echo(external_id, sender, mc),
        content_attributes=attrs,
    )


def _is_echo(external_id: str, sender: ContactInfo, mc: MailContext) -> bool:
    """Our own reply seen coming back: our Message-ID form *and* our From address.

    Both are required: a stranger who copies our id format must not get a mail stored as
    an agent's outbound message (it is then an ordinary inbound mail, deduplicated by id).
    """
    return (
        is_own_message_id(external_id, mc.own_domain)
        and sender.external_id == mc.inbox_address.lower()
    )


def quarantine(raw: bytes, mc: MailContext, reason: str) -> InboundMessage:
    """A message for agents saying this mail could not be read, with the raw bytes attached."""
    return InboundMessage(
        external_id=content_hash_id(raw),
        contact=ContactInfo(external_id=UNKNOWN_SENDER, name="Unreadable email"),
        text="This email could not be parsed. The original is attached as raw.eml.",
        attachments=(Attachment("raw.eml", "application/octet-stream", raw),),
        sent_at=mc.received_at,
        subject="(unreadable email)",
        content_attributes={"quarantined": reason, "raw_size": len(raw)},
    )


def header(msg: Message, name: str) -> str:
    """A header as text; a header the modern parser chokes on falls back to its raw value."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:  # malformed header values raise from deep in the parser
        for key, raw_value in msg.raw_items():
            if key.lower() == name.lower():
                return str(raw_value)
        return ""


def _ids(value: str) -> list[str]:
    found = _MSGID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return [_norm_id(i) for i in found if i]


def _norm_id(value: str) -> str:
    if len(value) <= MAX_ID:
        return value
    return "long-" + hashlib.sha256(value.encode()).hexdigest() + "@switchboard.invalid"


def message_id_of(msg: Message, raw: bytes) -> str:
    ids = _ids(header(msg, "Message-ID"))
    return ids[0] if ids else content_hash_id(raw)


def content_hash_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID: trace headers (added per hop) excluded."""
    digest = hashlib.sha256(_without_trace(raw)).hexdigest()[:40]
    return f"sha256-{digest}@switchboard.invalid"


def _without_trace(raw: bytes) -> bytes:
    head, sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
        skipping = name in _TRACE
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + sep + body


def thread_refs(msg: Message) -> tuple[str, ...]:
    """References oldest first, then In-Reply-To; duplicates removed."""
    refs = _ids(header(msg, "References")) + _ids(header(msg, "In-Reply-To"))
    return tuple(dict.fromkeys(refs))[-MAX_REFS:]


def _addresses(value: str) -> list[tuple[str, str]]:
    try:
        return [(n, a) for n, a in getaddresses([value]) if "@" in a]
    except Exception:  # getaddresses has raised on hostile input before
        return []


def _sender(msg: Message) -> ContactInfo:
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        found = _addresses(header(msg, name))
        if found:
            display, address = found[0]
            address = address.strip().lower()[:320]
            return ContactInfo(
                external_id=address, name=display.strip()[:200] or None, email=address
            )
    return ContactInfo(external_id=UNKNOWN_SENDER, name="Unknown sender")


def _recipients(msg: Message) -> list[str]:
    values = [header(msg, n) for n in ("To", "Cc", "Delivered-To", "X-Original-To")]
    return [addr for v in values for _, addr in _addresses(v)]


def conversation_token(recipients: list[str], inbox_address: str) -> str | None:
    """The token of ``local+token@domain`` when ``local@domain`` is our inbox address."""
    local, _, domain = inbox_address.lower().partition("@")
    for address in recipients:
        rlocal, _, rdomain = address.partition("@")
        base, plus, token = rlocal.partition("+")
        if plus and base.lower() == local and rdomain.lower() == domain and _TOKEN.match(token):
            return token
    return None


def is_auto_message(msg: Message, sender: str) -> bool:
    """RFC 3834 and the de-facto signals of auto-replies, bounces and bulk mail."""
    auto = header(msg, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True
    if header(msg, "Precedence").strip().lower() in _AUTO_PRECEDENCE:
        return True
    if header(msg, "X-Autoreply") or header(msg, "X-Autorespond") or header(msg, "List-Id"):
        return True
    if header(msg, "Return-Path").strip() == "<>":
        return True
    if msg.get_content_type() == "multipart/report":  # delivery status notifications
        return True
    return sender.startswith(_DAEMONS)


def _subject(msg: Message) -> str | None:
    subject = " ".join(header(msg, "Subject").split())
    return subject[:MAX_SUBJECT] or None


def _date(msg: Message) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(header(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT]


def _attributes(msg: Message, bodies: Bodies, mc: MailContext, raw: bytes) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "email": {"message_id": message_id_of(msg, raw), "date": header(msg, "Date")[:200] or None}
    }
    if bodies.text:
        split = split_reply(bodies.text)
        attrs["email"].update(
            visible_text=split.visible, quoted_text=split.quoted, signature=split.signature
        )
    notes = list(bodies.notes)
    if any(len(b or "") > MAX_TEXT for b in (bodies.text, bodies.html)):
        notes.append(f"body longer than {MAX_TEXT} characters: the rest was cut")
    if mc.truncated_from is not None:
        notes.append(
            f"email is {mc.truncated_from} bytes: only the first {len(raw)} bytes were stored"
        )
        attrs["truncated"] = True
    defects = [type(d).__name__ for d in getattr(msg, "defects", [])]
    if defects:
        attrs["email"]["defects"] = defects[:20]
    if notes:
        attrs["notes"] = notes
    return attrs
