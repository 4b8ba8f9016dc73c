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
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
_ATTRIBUTES = {
    "*": {"title", "dir", "lang", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "data-remote-src"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color"},
}
_REMOTE_SRC = re.compile(r'<img([^>]*?)\ssrc="(https?:[^"]*)"', re.IGNORECASE)


def sanitize_html(html: str) -> str:
    """Return safe HTML: no scripts, styles, event handlers, forms or remote loads."""
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid", "tel"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return _REMOTE_SRC.sub(r'<img\1 data-remote-src="\2"', clean)
