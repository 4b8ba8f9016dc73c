"""Holes 9 and 10: security headers on the app; CSRF refused on every state-changing
request that rides on the session cookie, whatever its body; bearer requests exempt.

The requests carry the headers a browser sends: a same-site page on another port of the
same host (``Sec-Fetch-Site: same-site``), a cross-site page, and our own page.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Running,
    make_settings,
    start_server,
)
from tests.conftest import _set_admin_password as set_admin_password
from tests.support.api import create_api_inbox, post_inbound

EVIL = "http://127.0.0.1:1"  # same host, another port: same-site, not same-origin


async def test_app_page_and_api_carry_security_headers(server: Running) -> None:
    client = server.client()
    for path in ("/", "/api/me", "/healthz", "/web/app.js"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # plain http here
    https = await client.get("/healthz", headers={"x-forwarded-proto": "https"})
    assert https.headers["strict-transport-security"].startswith("max-age=")


async def test_app_page_has_no_inline_script(server: Running) -> None:
    page = (await server.client().get("/")).text
    for tag in page.split("<script")[1:]:
        assert "src=" in tag.split(">")[0], "inline script would be blocked by the CSP"
    assert " on" not in page.split("<body>")[1].replace(" only", "")  # no onclick= etc.


def _browser(origin: str, site: str) -> dict[str, str]:
    return {"origin": origin, "sec-fetch-site": site, "sec-fetch-mode": "cors"}


@pytest.fixture
async def targets(server: Running, admin: httpx.AsyncClient) -> list[tuple[str, str]]:
    inbox = await create_api_inbox(admin, webhook_url="http://127.0.0.1:9/hook")
    conv = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
    reply = await admin.post(
        f"/api/conversations/{conv}/messages", json={"text": "hi", "client_id": "csrf-test-1"}
    )
    message_id = reply.json()["message"]["id"]
    return [
        ("POST", "/api/auth/logout"),
        ("POST", f"/api/conversations/{conv}/attachments?filename=x.txt"),
        ("POST", f"/api/conversations/{conv}/messages/{message_id}/retry"),
        ("POST", f"/api/admin/inboxes/{inbox['id']}/test"),
        ("POST", f"/api/conversations/{conv}/status"),
        ("PATCH", "/api/contacts/1"),
        ("DELETE", "/api/admin/agents/999"),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        _browser(EVIL, "same-site"),
        _browser("https://attacker.example", "cross-site"),
        {"origin": "https://attacker.example"},  # an older browser: Origin only
        {"origin": "null"},  # a sandboxed frame
        {"referer": "https://attacker.example/page"},
    ],
    ids=["same-site", "cross-site", "origin-only", "null-origin", "referer-only"],
)
async def test_cookie_requests_from_other_sites_are_refused(
    server: Running,
    admin: httpx.AsyncClient,
    targets: list[tuple[str, str]],
    headers: dict[str, str],
) -> None:
    for method, path in targets:
        response = await admin.request(method, path, content=b"x", headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "csrf_refused"
    assert (await admin.get("/api/me")).status_code == 200  # logout was refused too


async def test_same_origin_and_bearer_requests_pass(
    server: Running, admin: httpx.AsyncClient, targets: list[tuple[str, str]]
) -> None:
    own = _browser(server.base_url, "same-origin")
    method, path = targets[3]  # the admin's inbox test
    assert (await admin.request(method, path, headers=own)).status_code == 200
    assert (await admin.request(method, path, headers={"origin": server.base_url})).is_success
    token = (await admin.post("/api/auth/tokens", json={"name": "bot"})).json()["token"]
    bot = server.client(token)
    bot.cookies.update(admin.cookies)  # a cookie riding along does not matter with a bearer
    assert (await bot.request(method, path, headers=_browser(EVIL, "cross-site"))).is_success
    logout = await admin.post("/api/auth/logout", headers=own)
    assert logout.status_code == 200
    assert (await admin.get("/api/me")).status_code == 401


async def test_behind_a_tls_proxy_the_public_url_decides(tmp_path: Path) -> None:
    public = "https://support.example.test"
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'p.db'}", public_url=public)
    running = await start_server(settings)
    try:
        await set_admin_password(running)
        admin = await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        page = await admin.get("/")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        proxied = {"origin": public, "sec-fetch-site": "same-origin"}
        assert (
            await admin.post("/api/auth/tokens", json={"name": "a"}, headers=proxied)
        ).is_success
        other = {"origin": "https://evil.example.test"}
        refused = await admin.post("/api/auth/tokens", json={"name": "b"}, headers=other)
        assert refused.status_code == 403
    finally:
        await running.stop()
