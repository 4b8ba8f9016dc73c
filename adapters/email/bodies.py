"""Walk a parsed MIME tree: text and HTML bodies, attachments, inline (cid:) images.

Charsets are decoded by hand rather than with ``get_content()``: that raises on an unknown
charset, and a mail labelled ``charset="x-unknown"`` is still readable as UTF-8 or cp1252.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser

from adapters.base import Attachment

MAX_PARTS = 500  # a mail bomb of nested multiparts stops being walked here, with a note
MAX_DEPTH = 30  # deeper nesting is read, but noted: real mail never nests this deep
_FALLBACKS = ("utf-8", "cp1252")


@dataclass
class Bodies:
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def collect_bodies(msg: Message) -> Bodies:
    out = Bodies()
    texts: list[str] = []
    htmls: list[str] = []
    for count, (part, depth) in enumerate(_walk(msg), start=1):
        if count > MAX_PARTS:
            out.notes.append(f"more than {MAX_PARTS} MIME parts: the rest was not read")
            break
        if depth > MAX_DEPTH and not out.notes:
            out.notes.append(f"MIME parts nested more than {MAX_DEPTH} levels deep")
        _take(part, texts, htmls, out)
    out.text = "\n\n".join(texts) if texts else None
    out.html = "\n".join(htmls) if htmls else None
    if out.text is None and out.html is not None:
        out.text = html_to_text(out.html)
    return out


def _walk(root: Message) -> Iterator[tuple[Message, int]]:
    """Leaves of the tree, depth first, iteratively (no recursion limit to hit).

    message/rfc822 is a leaf (kept as an attachment). A multipart whose boundary is missing
    has a string payload: it is read as text rather than lost.
    """
    stack: list[tuple[Message, int]] = [(root, 0)]
    while stack:
        part, depth = stack.pop()
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            children = [c for c in payload if isinstance(c, Message)]
            stack.extend((c, depth + 1) for c in reversed(children))
            continue
        yield part, depth


def _take(part: Message, texts: list[str], htmls: list[str], out: Bodies) -> None:
    ctype = part.get_content_type()
    disposition = (part.get_content_disposition() or "").lower()
    if ctype.startswith("multipart/"):
        ctype = "text/plain"  # a multipart without boundary: its body is all there is
    if (
        disposition != "attachment"
        and ctype in ("text/plain", "text/html")
        and not part.get_filename()
    ):
        text, note = decode_text(part)
        (texts if ctype == "text/plain" else htmls).append(text)
        if note:
            out.notes.append(note)
        return
    out.attachments.append(_attachment(part, len(out.attachments) + 1))


def _attachment(part: Message, index: int) -> Attachment:
    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        data = _embedded_message(part)
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    cid = (part.get("Content-ID") or "").strip().strip("<>") or None
    return Attachment(
        filename=_filename(part, ctype, index),
        content_type=ctype[:200],
        data=data,
        content_id=cid[:500] if cid else None,
    )


def _embedded_message(part: Message) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    try:
        return inner.as_bytes() if isinstance(inner, Message) else b""
    except Exception:  # a broken embedded mail is kept as best we can
        return str(inner).encode("utf-8", "replace")


def _filename(part: Message, ctype: str, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # RFC 2231 parameters can be arbitrarily broken
        name = None
    if name:
        cleaned = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
        cleaned = "".join(ch for ch in cleaned if ch.isprintable())
        if cleaned and cleaned not in (".", ".."):
            return cleaned[:255]
    ext = {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html"}.get(ctype, "")
    if not ext and "/" in ctype:
        ext = "." + "".join(ch for ch in ctype.split("/", 1)[1] if ch.isalnum())[:10]
    return f"attachment-{index}{ext}"


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
    """A plain-text rendering of an HTML-only mail (for previews, search and quoting)."""
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
