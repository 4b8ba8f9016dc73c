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
from adapters.email.headers import eight_bit_charset, header, header_as_written, message_ids
from adapters.email.quoting import split_reply
from adapters.email.reports import RecipientStatus

MAX_SUBJECT = 998  # RFC 5322 line limit; the column holds 1000
MAX_REFS = 100  # the server matches the newest 50; a 5,000-id References is hostile
MAX_TEXT = 1_000_000  # characters of body text kept; the full original stays an attachment
UNKNOWN_DOMAIN = "invalid"  # RFC 2606: senders without an address get unknown-<hash>@invalid
_RAW_FROM = re.compile(rb"^From:[^\r\n]*?<?([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+)>?", re.M | re.I)
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMONS = ("mailer-daemon@", "postmaster@")
_TRACE = {"received", "return-path", "delivered-to", "x-original-to", "x-received"}
_AUTHOR_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Content-Type")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class MailContext:
    """What the parser needs to know about the inbox and the delivery."""

    inbox_address: str  # support@example.com (tokens come as support+<token>@example.com)
    own_domain: str  # domain of our outbound Message-IDs (echo detection)
    received_at: datetime | None = None  # IMAP INTERNALDATE: arrival at our mailbox
    truncated_from: int | None = None  # full size when only the first bytes were fetched
    delivery: str | None = None  # where it was read: "INBOX uidvalidity/uid" (IMAP)


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
    sender = _sender(msg, external_id)
    subject = _subject(msg)
    attrs = _attributes(msg, bodies, mc, raw)
    attachments = list(bodies.attachments)
    attrs["content_hash"] = content_hash(msg, raw)
    if is_malformed(bodies):  # the agent gets a notice and the original to look at
        attrs["email"]["malformed"] = bodies.defects or ["reconstructed"]
        attrs["email"]["raw_source"] = len(attachments)
        attachments.append(Attachment("original-source.eml", "message/rfc822", raw))
    bounce = bounce_report(msg, bodies)
    if bounce:
        attrs["email"]["bounce"] = bounce
    return InboundMessage(
        external_id=external_id,
        contact=sender,
        text=_clip(bodies.text),
        html=_clip(bodies.html),
        attachments=tuple(attachments),
        sent_at=mc.received_at or _date(msg),
        subject=subject,
        thread_refs=(*thread_refs(msg), *bounce.get("refers_to", ()))[-MAX_REFS:],
        conversation_token=conversation_token(_recipients(msg), mc.inbox_address),
        is_auto=is_auto_message(msg, sender.email or ""),
        is_echo=_is_echo(external_id, sender, mc),
        content_attributes=attrs,
    )


def failed_sends(msg: InboundMessage, own_domain: str) -> list[tuple[str, str]]:
    """(our Message-ID, reason) for each of our mails a bounce reports as failed."""
    bounce = msg.content_attributes.get("email", {}).get("bounce") or {}
    if not bounce.get("failed"):
        return []
    failed = [r for r in bounce["recipients"] if r["action"] in ("failed", "")]
    reason = "; ".join(_sentence(r) for r in failed)[:1000] or "the mail bounced"
    ours = [i for i in bounce["refers_to"] if is_own_message_id(i, own_domain)]
    return [(i, reason) for i in ours]


def _sentence(recipient: dict[str, str]) -> str:
    return RecipientStatus(**recipient).sentence()


def is_malformed(bodies: Bodies) -> bool:
    return bool(bodies.defects) or bodies.reconstructed


def content_hash(msg: Message, raw: bytes) -> str:
    """What the author wrote, as bytes: the body and the headers the author sets.

    A repeated Message-ID with another hash is another mail (server/actions/repeated_ids.py);
    the same hash is the same mail seen again. Computed from the raw bytes, not from what we
    parse, so a stored mail keeps its hash when the parser improves (a mailbox re-read after
    an upgrade must not look like new mail), and headers added on the way (trace, spam and
    authentication results, list headers) do not count: the same mail in two mailboxes is
    one message.
    """
    digest = hashlib.sha256()
    for name in _AUTHOR_HEADERS:
        digest.update(f"{name}:{' '.join(header(msg, name).split())}\n".encode("utf-8", "replace"))
    body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2]
    digest.update(body.rstrip(b"\n"))
    return digest.hexdigest()[:32]


def bounce_report(msg: Message, bodies: Bodies) -> dict[str, Any]:
    """Recipients a delivery report names, and the ids of the mails it is about."""
    if not bodies.statuses:
        return {}
    refers = [*bodies.returned_ids, *thread_refs(msg)]
    return {
        "recipients": [s.as_dict() for s in bodies.statuses[:50]],
        "failed": any(s.failed for s in bodies.statuses),
        "refers_to": list(dict.fromkeys(refers))[:MAX_REFS],
    }


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
        contact=_raw_sender(raw) or _unknown(content_hash_id(raw), "Unreadable email"),
        text="This email could not be parsed. The original is attached as raw.eml.",
        attachments=(Attachment("raw.eml", "message/rfc822", raw),),
        sent_at=mc.received_at,
        subject="(unreadable email)",
        content_attributes={"quarantined": reason, "raw_size": len(raw)},
    )


def _raw_sender(raw: bytes) -> ContactInfo | None:
    """The From address found by a plain search in the raw header (the parser failed)."""
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = _RAW_FROM.search(head)
    if found is None:
        return None
    address = found.group(1).decode("ascii", "replace").lower()[:320]
    return ContactInfo(external_id=address, email=address)


def message_id_of(msg: Message, raw: bytes) -> str:
    ids = message_ids(header(msg, "Message-ID"))
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
    refs = message_ids(header(msg, "References")) + message_ids(header(msg, "In-Reply-To"))
    return tuple(dict.fromkeys(refs))[-MAX_REFS:]


def _addresses(value: str) -> list[tuple[str, str]]:
    try:
        return [(n, a) for n, a in getaddresses([value]) if "@" in a]
    except Exception:  # getaddresses has raised on hostile input before
        return []


def _sender(msg: Message, external_id: str) -> ContactInfo:
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        found = _addresses(header(msg, name))
        if found:
            display, address = found[0]
            address = address.strip().lower()[:320]
            return ContactInfo(
                external_id=address, name=display.strip()[:200] or None, email=address
            )
    # No usable address: one identity per From text (or per mail when there is none), so
    # different senders never collapse into one "Unknown sender" contact.
    written = header_as_written(msg, "From").strip('"').strip()[:200]
    return _unknown(written.lower() or external_id, written or "Unknown sender")


def _unknown(key: str, name: str) -> ContactInfo:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return ContactInfo(external_id=f"unknown-{digest}@{UNKNOWN_DOMAIN}", name=name)


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
    if bodies.defects:
        attrs["email"]["defects"] = bodies.defects[:20]
    charset = eight_bit_charset(msg, ("Subject", "From", "To", "Cc", "Reply-To"))
    if charset:  # raw 8-bit headers: which charset they were read as
        attrs["email"]["header_charset"] = charset
    if mc.delivery:
        attrs["email"]["delivery"] = mc.delivery
    if notes:
        attrs["notes"] = notes
    return attrs
