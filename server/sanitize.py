"""HTML from outside (email bodies) is sanitized with nh3 before it is stored or shown.

Remote images are neutralised at sanitize time: ``src`` of an <img> that points outside
(http/https) is moved to ``data-remote-src`` so the browser loads nothing until an agent
chooses to show remote images (the client then swaps the attribute back). ``cid:`` images
are served from our attachment store.
"""

from __future__ import annotations

import re

import nh3

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",  # a forwarded mail shown collapsed (adapters/email/bodies.py)
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "*": {"title", "dir", "lang", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "data-remote-src"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color"},
    "blockquote": {"type"},  # type="cite": Apple Mail/Thunderbird quoted history
}
_IMG_SRC = re.compile(r'<img([^>]*?)\ssrc="([^"]*)"', re.IGNORECASE)
# Quote markers kept so the inbox can collapse quoted history (Gmail, Thunderbird, Apple
# Mail, Outlook web); every other class is dropped.
_CLASSES = {
    "div": {"gmail_quote", "gmail_signature", "moz-cite-prefix", "moz-signature"},
    "blockquote": {"gmail_quote"},
    "details": {"sb-forward"},
}
# Elements dropped together with their content. <title> (and the rest of <head>) is not
# body text: kept as text it would appear as the first line of the mail.
_DROP_WITH_CONTENT = {"script", "style", "title", "template"}


def sanitize_html(html: str) -> str:
    """Return safe HTML: no scripts, styles, event handlers, forms or remote loads."""
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid", "tel"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        allowed_classes=_CLASSES,
        clean_content_tags=_DROP_WITH_CONTENT,
    )
    return _IMG_SRC.sub(_park_image, clean)


def _park_image(match: re.Match[str]) -> str:
    """cid: images stay; remote ones wait in data-remote-src for an agent's click.

    Protocol-relative (``//host/x``) is remote too, and a relative src would load from our
    own origin (a GET on our API with the agent's cookies), so it is dropped.
    """
    attrs, src = match.group(1), match.group(2)
    lowered = src.strip().lower()
    if lowered.startswith("cid:"):
        return match.group(0)
    if lowered.startswith(("http:", "https:")):
        return f'<img{attrs} data-remote-src="{src}"'
    if lowered.startswith("//"):
        return f'<img{attrs} data-remote-src="https:{src.strip()}"'
    return f"<img{attrs}"
