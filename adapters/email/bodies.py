"""Walk a parsed MIME tree the way a mail client shows it. Pure: no I/O.

What an agent sees is what Thunderbird or Apple Mail would show, in the same order:

* ``multipart/alternative``: one version (the richest we can show: HTML over plain text);
  the plain version still feeds ``text`` (previews, search, quoting).
* ``multipart/related``: its first part is the body, the rest are resources (``cid:``).
* every other multipart (mixed, report, signed, digest…): every child, in order — a text
  part, then an HTML part, then another text part are all shown.
* ``message/rfc822`` (forwarded mail, a bounce's returned mail): shown inline, collapsed,
  with its headers, body and the names of its own attachments; the ``.eml`` stays an
  attachment too.
* ``message/delivery-status``: a sentence per recipient ("Delivery to x failed: 550 …").
* text parts that carry a file name are shown when they are inline (or have no
  disposition); they are attachments as well.
* a multipart whose boundary is missing or wrong is reconstructed (``repair.py``).

When everything shown is plain text, ``html`` stays None; otherwise ``html`` holds every
block in order (plain text escaped) and the server sanitizes it like any email HTML.

Charsets are decoded by hand rather than with ``get_content()``: that raises on an unknown
charset, and a mail labelled ``charset="x-unknown"`` is still readable as UTF-8 or cp1252.
"""

from __future__ import annotations

import html as html_lib
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

from adapters.base import Attachment
from adapters.email.headers import header, message_ids
from adapters.email.repair import guess_boundary, reparse, strip_mime_syntax
from adapters.email.reports import RecipientStatus, delivery_statuses, external_body_sentence

MAX_PARTS = 500  # a mail bomb of nested multiparts stops being walked here, with a note
MAX_DEPTH = 30  # deeper nesting is read flat, with a note: real mail never nests this deep
_FALLBACKS = ("utf-8", "cp1252")
_SHOWN_HEADERS = (("From", "From"), ("To", "To"), ("Cc", "Cc"), ("Date", "Date"))
_TYPES = mimetypes.MimeTypes()  # the built-in table only: the same names on every machine
_NAMES = {
    "message/delivery-status": "delivery-status.txt",
    "message/global-delivery-status": "delivery-status.txt",
    "text/rfc822-headers": "returned-headers.txt",
}


@dataclass
class Block:
    """One shown piece of a mail: ``html`` None means plain text (escaped when rendered)."""

    text: str
    html: str | None = None


@dataclass
class Bodies:
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    statuses: list[RecipientStatus] = field(default_factory=list)  # bounce reports
    returned_ids: list[str] = field(default_factory=list)  # Message-IDs of attached mails
    defects: list[str] = field(default_factory=list)  # MIME defects of any part
    reconstructed: bool = False  # a broken multipart was guessed back together


def collect_bodies(msg: Message) -> Bodies:
    walker = _Walker()
    blocks = walker.blocks(msg, 0)
    out = walker.out
    texts = [b.text for b in blocks if b.text.strip()]
    out.text = "\n\n".join(texts) if texts else ("" if blocks else None)
    if any(b.html is not None for b in blocks):
        out.html = render(blocks)
    return out


def render(blocks: list[Block]) -> str:
    return "\n".join(b.html if b.html is not None else plain_html(b.text) for b in blocks)


def plain_html(text: str) -> str:
    lines = [html_lib.escape(line) for line in text.strip("\n").split("\n")]
    return "<div>" + "<br>\n".join(lines) + "</div>"


class _Walker:
    def __init__(self) -> None:
        self.out = Bodies()
        self.count = 0
        self.label = "Forwarded message"

    def blocks(self, part: Message, depth: int) -> list[Block]:
        self.count += 1
        if self.count > MAX_PARTS:
            if not any("MIME parts" in n for n in self.out.notes):
                self.out.notes.append(f"more than {MAX_PARTS} MIME parts: the rest was not read")
            return []
        self._defects(part)
        try:
            return self._part(part, depth)
        except Exception as exc:  # one unreadable part must not cost the rest of the mail
            self.out.notes.append(f"a MIME part could not be read ({type(exc).__name__})")
            self.out.reconstructed = True
            name = f"unreadable-part-{len(self.out.attachments) + 1}.bin"
            self.out.attachments.append(Attachment(name, "application/octet-stream", _raw(part)))
            return []

    def _part(self, part: Message, depth: int) -> list[Block]:
        ctype = part.get_content_type()
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart":
            if isinstance(payload, list):
                return self._multipart(part, payload, depth)
            return self._unparsed(part, str(payload or ""), depth)
        if ctype == "message/rfc822":
            return self._attached_mail(part, depth)
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            return self._status(part)
        if ctype == "text/rfc822-headers":
            return self._returned_headers(part)
        if ctype == "message/external-body":
            return [Block(external_body_sentence(part))]
        return self._leaf(part)

    def _defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if name not in self.out.defects and len(self.out.defects) < 20:
                self.out.defects.append(name)

    def _multipart(self, part: Message, payload: list[Any], depth: int) -> list[Block]:
        kids = [c for c in payload if isinstance(c, Message)]
        if depth >= MAX_DEPTH:
            self.out.notes.append(f"MIME parts nested more than {MAX_DEPTH} levels deep")
            return [b for leaf in _leaves(part) for b in self._leaf(leaf)]
        subtype = part.get_content_subtype()
        if subtype == "alternative":
            return self._alternative(kids, depth)
        if subtype == "related" and kids:
            shown = self.blocks(kids[0], depth + 1)
            for resource in kids[1:]:
                if resource.is_multipart():
                    shown += self.blocks(resource, depth + 1)
                else:
                    self.attach(resource)
            return shown
        if subtype == "report":
            self.label = "Returned message"
        return [b for kid in kids for b in self.blocks(kid, depth + 1)]

    def _alternative(self, kids: list[Message], depth: int) -> list[Block]:
        shown = [k for k in kids if _displayable(k)]
        for other in kids:
            if other not in shown:
                self.attach(other)  # e.g. a text/calendar invitation next to its text
        if not shown:
            return []
        best = shown[-1]  # RFC 2046: the last alternative is the richest
        blocks = self.blocks(best, depth + 1)
        plain = next((k for k in shown if k.get_content_type() == "text/plain"), None)
        if plain is None or plain is best or all(b.html is None for b in blocks):
            return blocks
        text, note = decode_text(plain)
        if note:
            self.out.notes.append(note)
        return [Block(text, render(blocks))]

    def _unparsed(self, part: Message, body: str, depth: int) -> list[Block]:
        """A multipart without usable boundary: guess it, else drop the MIME syntax."""
        boundary = guess_boundary(body)
        fixed = reparse(part, body, boundary) if boundary else None
        if fixed is not None:
            self.out.reconstructed = True
            return self._multipart(fixed, list(fixed.get_payload()), depth)
        text = strip_mime_syntax(body)
        self.out.reconstructed = self.out.reconstructed or text != body.strip("\n")
        return [Block(text)] if text.strip() else []

    def _attached_mail(self, part: Message, depth: int) -> list[Block]:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        self.attach(part)
        if not isinstance(inner, Message):
            return []
        label, self.label = self.label, "Forwarded message"
        first = len(self.out.attachments)
        inner_blocks = self.blocks(inner, depth + 1)
        self.label = label
        names = [a.filename for a in self.out.attachments[first:]]
        self._note_returned(inner)
        return [_forward_block(label, inner, inner_blocks, names)]

    def _returned_headers(self, part: Message) -> list[Block]:
        data = _part_bytes(part)
        self.attach(part)
        try:
            inner = BytesParser(policy=policy.default).parsebytes(data.strip() + b"\r\n\r\n")
        except Exception:  # unreadable returned headers: the attachment has them
            return []
        self._note_returned(inner)
        return [_forward_block("Returned message", inner, [], [])]

    def _note_returned(self, inner: Message) -> None:
        self.out.returned_ids += message_ids(header(inner, "Message-ID"))[:1]

    def _status(self, part: Message) -> list[Block]:
        statuses = delivery_statuses(part)
        self.out.statuses += statuses
        self.attach(part)
        return [_status_block(s) for s in statuses]

    def _leaf(self, part: Message) -> list[Block]:
        ctype = part.get_content_type()
        if not _shown_inline(part, ctype):
            self.attach(part)
            return []
        text, note = decode_text(part)
        if note:
            self.out.notes.append(note)
        if _filename_of(part):
            self.attach(part)  # shown, and downloadable under its name
        if ctype == "text/html":
            return [Block(html_to_text(text), text)]
        return [Block(text)]

    def attach(self, part: Message) -> None:
        self.out.attachments.append(_attachment(part, len(self.out.attachments) + 1))


def _leaves(root: Message) -> Iterator[Message]:
    """Leaves of a too-deep tree, depth first, iteratively (no recursion limit to hit)."""
    stack = [root]
    while stack:
        part = stack.pop()
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            stack.extend(c for c in reversed(payload) if isinstance(c, Message))
            continue
        yield part


def _displayable(part: Message) -> bool:
    ctype = part.get_content_type()
    return ctype in ("text/plain", "text/html") or part.get_content_maintype() == "multipart"


def _shown_inline(part: Message, ctype: str) -> bool:
    """Body text: text/plain and text/html unless marked as attachment; any other text/*
    only when explicitly inline (a log or diff a mail client shows in the body)."""
    disposition = _disposition(part)
    if disposition == "attachment" or part.get_content_maintype() != "text":
        return False
    return ctype in ("text/plain", "text/html") or disposition == "inline"


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # a broken Content-Disposition: read the part as if it had none
        return ""


def _raw(part: Message) -> bytes:
    try:
        return part.as_bytes()
    except Exception:  # not even serialisable: its decoded payload, or nothing
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""


def _forward_block(label: str, inner: Message, blocks: list[Block], names: list[str]) -> Block:
    subject = " ".join(header(inner, "Subject").split())[:300]
    shown = [(title, " ".join(header(inner, name).split())[:500]) for name, title in _SHOWN_HEADERS]
    shown = [(title, value) for title, value in shown if value]
    shown.append(("Subject", subject))
    head_text = "\n".join(f"{title}: {value}" for title, value in shown)
    files = f"Attachments: {', '.join(names)}" if names else ""
    body_text = "\n\n".join(b.text for b in blocks if b.text.strip())
    text = "\n\n".join(
        x for x in (f"---------- {label} ----------", head_text, body_text, files) if x
    )
    summary = f"{label}: {subject or '(no subject)'}"
    head_html = "<br>\n".join(
        f"<b>{html_lib.escape(title)}:</b> {html_lib.escape(value)}" for title, value in shown
    )
    files_html = f"<p><i>{html_lib.escape(files)}</i></p>" if files else ""
    html = (
        f'<details class="sb-forward"><summary>{html_lib.escape(summary)}</summary>'
        f"<p>{head_html}</p>\n{render(blocks)}\n{files_html}</details>"
    )
    return Block(text, html)


def _status_block(status: RecipientStatus) -> Block:
    sentence = status.sentence()
    return Block(sentence, f"<p><b>{html_lib.escape(sentence)}</b></p>")


def _attachment(part: Message, index: int) -> Attachment:
    ctype = part.get_content_type()
    data = _embedded_message(part) if ctype == "message/rfc822" else _part_bytes(part)
    cid = (str(part.get("Content-ID") or "")).strip().strip("<>") or None
    return Attachment(
        filename=_filename(part, ctype, index),
        content_type=ctype[:200],
        data=data,
        content_id=cid[:500] if cid else None,
    )


def _part_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/delivery-status: a list of header blocks
        return b"".join(_as_bytes(p) for p in payload if isinstance(p, Message))
    decoded = part.get_payload(decode=True)
    return decoded if isinstance(decoded, bytes) else b""


def _embedded_message(part: Message) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    return _as_bytes(inner) if isinstance(inner, Message) else b""


def _as_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes()
    except Exception:  # a broken embedded mail is kept as best we can
        return str(msg).encode("utf-8", "replace")


def _filename_of(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # RFC 2231 parameters can be arbitrarily broken
        return None
    if not name:
        return None
    cleaned = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(ch for ch in cleaned if ch.isprintable())
    return cleaned[:255] if cleaned and cleaned not in (".", "..") else None


def _filename(part: Message, ctype: str, index: int) -> str:
    name = _filename_of(part)
    if name:
        return name
    if ctype in _NAMES:
        return _NAMES[ctype]
    if ctype == "message/rfc822":
        return _mail_filename(part)
    return f"attachment-{index}{extension(ctype)}"


def extension(ctype: str) -> str:
    """The usual extension of a MIME type (``.pdf``, ``.jpg``); ``.txt`` for unknown text,
    ``.bin`` for any other unknown type. Never a cut-off subtype."""
    found = _TYPES.guess_extension(ctype, strict=False)
    if found:
        return found
    return ".txt" if ctype.startswith(("text/", "message/")) else ".bin"


def _mail_filename(part: Message) -> str:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    subject = header(inner, "Subject") if isinstance(inner, Message) else ""
    safe = "".join(ch if ch.isalnum() or ch in " -_" else " " for ch in subject)
    safe = "-".join(safe.split())[:80]
    return f"{safe or 'forwarded-message'}.eml"


def decode_text(part: Message) -> tuple[str, str | None]:
    """(text, note): the declared charset, else UTF-8, else cp1252 with replacements."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else str(part.get_payload()).encode()
    declared = (part.get_content_charset() or "us-ascii").strip().lower()
    for charset in (declared, *_FALLBACKS):
        try:
            text = data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
        text = text.replace("\r\n", "\n")
        note = (
            None
            if charset == declared
            else f"charset {declared!r} did not decode; read as {charset}"
        )
        return text, note
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return text, f"charset {declared!r} did not decode; undecodable bytes were replaced"


class _TextOnly(HTMLParser):
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """A plain-text rendering of an HTML part (for previews, search and quoting)."""
    parser = _TextOnly()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient, but never lose the body over it
        return html
    lines = [" ".join(line.split()) for line in "".join(parser.chunks).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
