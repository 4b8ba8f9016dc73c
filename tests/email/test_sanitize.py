"""HTML from email is sanitised before it is stored: nothing runs, nothing loads."""

from __future__ import annotations

import pytest

from server.sanitize import sanitize_html


@pytest.mark.parametrize(
    ("html", "present", "absent"),
    [
        (
            '<img src="https://t.example/p.gif">',
            'data-remote-src="https://t.example/p.gif"',
            ' src="https',
        ),
        ('<IMG SRC="HTTP://t.example/p.gif">', 'data-remote-src="HTTP://t.example/p.gif"', " src="),
        ('<img src="//t.example/p.gif">', 'data-remote-src="https://t.example/p.gif"', " src="),
        ('<img src="/api/auth/logout">', "<img", "/api/auth/logout"),
        (
            '<img alt="a>b" src="http://t.example/x">',
            'data-remote-src="http://t.example/x"',
            ' src="http',
        ),
        ('<img src="cid:logo@x">', 'src="cid:logo@x"', "data-remote-src"),
        ('<p onclick="x()">hi</p><script>steal()</script>', "<p>hi</p>", "steal"),
        ('<a href="javascript:alert(1)">x</a>', "<a", "javascript"),
        (
            '<div class="gmail_quote evil"><blockquote type="cite">q</blockquote></div>',
            '<div class="gmail_quote"><blockquote type="cite">',
            "evil",
        ),
        ('<p style="background:url(https://t.example/x)">s</p>', "<p>s</p>", "t.example"),
        # issue 14: a document's <title> is not body text
        ("<html><head><title>Untitled 3</title></head><body><p>b</p>", "<p>b</p>", "Untitled"),
        ("<title>T1</title><style>p{}</style><p>b</p>", "<p>b</p>", "T1"),
        (
            '<details class="sb-forward x"><summary>Fwd</summary>b</details>',
            '<details class="sb-forward"><summary>Fwd</summary>b</details>',
            " x",
        ),
    ],
)
def test_sanitize(html: str, present: str, absent: str) -> None:
    clean = sanitize_html(html)
    assert present in clean
    assert absent not in clean
