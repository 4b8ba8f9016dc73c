"""Build the outbound MIME for an agent reply. Pure: the clock is a parameter.

* The Message-ID is derived from our message id and the conversation token, so every retry
  of one reply carries the same id (recipients and their servers dedupe on it) and nobody
  outside can forge one of ours without the token.
* Every string that comes from a user (agent name, subject, addresses) goes through the
  email package's header objects, which encode it (RFC 2047) — never spliced into a header
  line, so a CR/LF in a name cannot inject headers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from adapters.base import OutboundMessage

_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$|"
    r"^[^@\s<>()\[\],;:\"\\]+@localhost$"
)
_OWN_ID = re.compile(r"^sb\.(\d+)\.([0-9a-f]{16})@(.+)$")
MAX_REFERENCES = 20  # RFC 5322 suggests trimming; the first and the newest ids matter most


class ComposeError(ValueError):
    """The reply cannot be expressed as a valid email (e.g. no usable recipient address)."""


@dataclass(frozen=True)
class Sender:
    address: str  # the inbox address, e.g. support@example.com
    inbox_name: str  # "Acme Support"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() or "localhost"


def outbound_message_id(message_id: int, conversation_token: str, domain: str) -> str:
    """``sb.<id>.<mac>@domain`` (stored without brackets, like inbound ids)."""
    mac = hashlib.sha256(f"{conversation_token}:{message_id}".encode()).hexdigest()[:16]
    return f"sb.{message_id}.{mac}@{domain}"


def is_own_message_id(value: str, domain: str) -> bool:
    match = _OWN_ID.match(value)
    return bool(match) and match is not None and match.group(3).lower() == domain.lower()


def valid_address(value: str) -> bool:
    return bool(_ADDRESS.match(value)) and len(value) <= 320


def clean(value: str | None) -> str:
    """A single header-safe line: control characters (CR, LF, NUL…) become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value or "").split())


def plus_address(address: str, token: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+{token}@{domain}"


def reply_subject(subject: str | None) -> str:
    subject = clean(subject)[:900]
    if not subject:
        return "Re: your message"
    return subject if subject.lower().startswith(("re:", "aw:", "sv:")) else f"Re: {subject}"


def opening_subject(subject: str | None) -> str:
    return clean(subject)[:900] or "(no subject)"


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.partition("@")
    return Address(display_name=clean(name)[:200], username=local, domain=domain)


def compose_reply(out: OutboundMessage, sender: Sender, now: datetime) -> tuple[EmailMessage, str]:
    """(message, provider id). Raises ComposeError when the recipient address is unusable."""
    to = (out.recipient.email or out.recipient.external_id or "").strip()
    if not valid_address(to):
        raise ComposeError(f"the contact has no valid email address ({to[:80]!r})")
    if not valid_address(sender.address):
        raise ComposeError(f"the inbox address {sender.address[:80]!r} is not valid")
    domain = domain_of(sender.address)
    provider_id = out.provider_id or outbound_message_id(
        out.message_id, out.conversation_token, domain
    )
    msg = EmailMessage()
    from_name = (
        f"{clean(out.author_name)} via {clean(sender.inbox_name)}"
        if out.author_name
        else clean(sender.inbox_name)
    )
    msg["From"] = _address(from_name, sender.address)
    msg["To"] = _address(out.recipient.name or "", to)
    msg["Reply-To"] = _address(
        sender.inbox_name, plus_address(sender.address, out.conversation_token)
    )
    # an email that opens a conversation (docs/outreach.md) answers nothing: no "Re:"
    msg["Subject"] = reply_subject(out.subject) if out.thread_refs else opening_subject(out.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{provider_id}>"
    _threading(msg, out.thread_refs)
    msg.set_content(out.text or "", subtype="plain", charset="utf-8", cte="quoted-printable")
    for item in out.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        msg.add_attachment(
            item.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=clean(item.filename),
        )
    return msg, provider_id


def _threading(msg: EmailMessage, refs: tuple[str, ...]) -> None:
    ids = [
        r
        for r in refs
        if r
        and "@" in r
        and not r.endswith("@switchboard.invalid")
        and not any(c in r for c in "<>\r\n \t")
    ]
    if not ids:
        return
    kept = ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    msg["In-Reply-To"] = f"<{ids[-1]}>"
    msg["References"] = " ".join(f"<{i}>" for i in kept)
