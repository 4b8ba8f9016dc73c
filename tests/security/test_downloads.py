"""Hole 4: attachments with any file name download (RFC 6266/5987 ``filename*`` plus an
ASCII fallback), for agents and visitors; content types are normalised before the inline
allow-list decides (an SVG is never shown inline, whatever its parameters or case)."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import unquote

import httpx

from tests.conftest import Running
from tests.support.api import create_api_inbox, post_inbound
from tests.widget.helpers import Visitor, create_webchat_inbox

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
NAMES = ["отчёт за март.pdf", "報告書.txt", "🎉 party.png", 'naïve "quoted".txt']


def _disposition(response: httpx.Response) -> tuple[str, str, str]:
    """(kind, ASCII fallback, decoded filename*) of a Content-Disposition header."""
    value = response.headers["content-disposition"]
    kind, _, rest = value.partition(";")
    fallback = rest.split('filename="', 1)[1].split('"', 1)[0]
    star = rest.split("filename*=UTF-8''", 1)[1].split(";", 1)[0].strip()
    assert fallback.isascii() and star.isascii()
    return kind, fallback, unquote(star, encoding="utf-8", errors="strict")


async def _ingest_files(server: Running, admin: httpx.AsyncClient, files: list[Any]) -> list[Any]:
    inbox = await create_api_inbox(admin)
    response = await post_inbound(server.client(), inbox, text="files", attachments=files)
    assert response.status_code == 201, response.text
    conv = response.json()["conversation_id"]
    items = (await admin.get(f"/api/conversations/{conv}/messages")).json()["items"]
    return [a for m in items for a in m["attachments"]]


def _file(name: str, ctype: str, data: bytes = b"data") -> dict[str, str]:
    encoded = base64.b64encode(data).decode()
    return {"filename": name, "content_type": ctype, "data_base64": encoded}


async def test_agent_downloads_files_with_non_latin_names(
    server: Running, admin: httpx.AsyncClient
) -> None:
    refs = await _ingest_files(server, admin, [_file(n, "application/pdf") for n in NAMES])
    assert [r["filename"] for r in refs] == NAMES
    for ref in refs:
        response = await admin.get(ref["url"])
        assert response.status_code == 200, (ref["filename"], response.text)
        kind, fallback, name = _disposition(response)
        assert (kind, name) == ("attachment", ref["filename"])
        assert fallback and '"' not in fallback
    latin = await admin.get(refs[3]["url"])
    assert _disposition(latin)[1] == "naive _quoted_.txt"  # accents kept as plain letters


#: (stored content type, shown inline, served as)
TYPES = [
    ("image/svg+xml;charset=utf-8", False, "application/octet-stream"),
    ("Image/SVG+XML", False, "application/octet-stream"),
    (" image/svg+xml ", False, "application/octet-stream"),
    ("IMAGE/PNG ; name=x", True, "image/png"),
    ("text/html; charset=utf-8", False, "application/octet-stream"),
    ("image/png\u00a0", True, "image/png"),
]


async def test_content_type_is_normalised_before_the_inline_decision(
    server: Running, admin: httpx.AsyncClient
) -> None:
    files = [_file(f"picture{i}", ctype, PNG) for i, (ctype, _, _) in enumerate(TYPES)]
    refs = await _ingest_files(server, admin, files)
    for ref, (ctype, inline, served_as) in zip(refs, TYPES, strict=True):
        response = await admin.get(ref["url"])
        assert response.status_code == 200, ctype
        assert response.headers["content-type"].split(";")[0] == served_as, ctype
        assert _disposition(response)[0] == ("inline" if inline else "attachment"), ctype
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]


async def test_visitor_downloads_files_with_non_latin_names(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(
        admin, attachments={"max_bytes": 10_000, "types": ["text/plain", "image/svg+xml"]}
    )
    visitor = Visitor(server.client(), inbox["public_key"])
    assert (await visitor.start()).status_code == 201
    files = [_file(n, "text/plain") for n in NAMES] + [_file("x.svg", "image/svg+xml")]
    sent = await visitor.send("", client_id=uuid.uuid4().hex, attachments=files[:5])
    assert sent.status_code == 201, sent.text
    refs = sent.json()["message"]["attachments"]
    for ref, original in zip(refs, [*NAMES, "x.svg"], strict=True):
        response = await visitor.client.get(
            visitor.url(f"attachments/{ref['id']}"), headers=visitor.auth()
        )
        assert response.status_code == 200, (original, response.text)
        assert _disposition(response)[::2] == ("attachment", original)
        assert response.headers["content-type"] == "application/octet-stream"
