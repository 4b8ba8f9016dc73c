"""Response headers for attachment downloads (pure): a safe type and a file name that any
browser reads, whatever script the name is written in.

* ``Content-Disposition`` follows RFC 6266: ``filename*=UTF-8''<percent-encoded>``
  (RFC 5987) carries the real name, and ``filename="…"`` an ASCII fallback for old clients.
  A raw non-Latin name in a header cannot be encoded at all (it used to answer 500).
* The content type is normalised (parameters dropped, case folded, whitespace trimmed)
  *before* the inline allow-list decides, so ``Image/SVG+XML; charset=utf-8`` is never
  shown inline: SVG can carry script. Only raster images are inline; everything else is
  served as ``application/octet-stream`` to be saved, never rendered.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"}
)
OCTET_STREAM = "application/octet-stream"
_TOKEN = re.compile(r"^[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,127}$")  # RFC 6838
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9 !#$&'()+.=@\[\]^_`{}~-]")
_RFC5987_SAFE = "!#$&+-.^_`|~"  # attr-char besides ALPHA / DIGIT
_FALLBACK = "download"
#: The sandbox keeps even a mislabelled file from running script if a browser renders it.
SANDBOX_CSP = "default-src 'none'; sandbox"


def normalise_content_type(raw: str | None) -> str:
    """``type/subtype`` in lower case, no parameters; anything malformed is octet-stream."""
    value = (raw or "").split(";", 1)[0].strip().lower()
    return value if _TOKEN.match(value) else OCTET_STREAM


def ascii_fallback(filename: str) -> str:
    """The name in plain ASCII for ``filename=``: accents dropped, other letters as ``_``;
    a name with nothing left but its extension becomes ``download.<ext>``."""
    decomposed = unicodedata.normalize("NFKD", filename)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    safe = _UNSAFE_ASCII.sub("_", plain).strip(" .")[-200:]
    stem, dot, suffix = safe.rpartition(".")
    if not dot:
        stem, suffix = safe, ""
    if not stem.strip("_ "):
        stem = _FALLBACK
    if not suffix.strip("_ "):
        return stem
    return f"{stem}.{suffix}"


def content_disposition(disposition: str, filename: str) -> str:
    encoded = quote(filename, safe=_RFC5987_SAFE, encoding="utf-8")
    return f"{disposition}; filename=\"{ascii_fallback(filename)}\"; filename*=UTF-8''{encoded}"


def download_headers(
    filename: str, content_type: str | None, *, allow_inline: bool
) -> tuple[str, dict[str, str]]:
    """(media type, headers) for one stored attachment."""
    ctype = normalise_content_type(content_type)
    inline = allow_inline and ctype in INLINE_TYPES
    media_type = ctype if ctype in INLINE_TYPES else OCTET_STREAM
    return media_type, {
        "content-disposition": content_disposition("inline" if inline else "attachment", filename),
        "x-content-type-options": "nosniff",
        "content-security-policy": SANDBOX_CSP,
    }
