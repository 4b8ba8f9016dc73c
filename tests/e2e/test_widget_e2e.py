"""The widget in a real Chromium, embedded by a page on another origin (another port)."""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from playwright.async_api import Page, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from server.storage import schema as t
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.support.api import create_agent, eventually
from tests.support.browser import launch_chromium
from tests.support.ports import free_port
from tests.widget.helpers import SECRET, create_webchat_inbox, jwt_token, signed_user

pytestmark = pytest.mark.e2e
SCREENSHOT = Path(__file__).resolve().parents[2] / "screenshots" / "widget.png"
EVIL_NAME = '<img src=x onerror="window.pwned=1">Ana'
EVIL_TEXT = "<script>window.pwned=2</script><b>hi</b>"


class HostSite:
    """A customer's website on its own origin, embedding the widget with one script tag."""

    def __init__(self, switchboard: str) -> None:
        self.switchboard, self.port = switchboard, free_port()
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, key: str, user: dict[str, Any] | None = None) -> str:
        query = httpx.QueryParams({"key": key, "user": json.dumps(user) if user else ""})
        return f"{self.origin}/shop?{query}"

    async def _page(self, request: Request) -> HTMLResponse:
        key = html.escape(request.query_params["key"], quote=True)
        user = request.query_params.get("user")
        stub = f"<script>window.Switchboard={{q:[['setUser',[{user}]]]}}</script>" if user else ""
        return HTMLResponse(
            "<!doctype html><html><head><title>Shop</title><style>button{all:unset}"
            "*{color:red!important}</style></head><body><h1>Demo shop</h1>"
            f'{stub}<script async src="{self.switchboard}/web/widget/widget.js" '
            f'data-inbox="{key}"></script></body></html>'
        )

    async def __aenter__(self) -> HostSite:
        app = Starlette(routes=[Route("/shop", self._page)])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        await eventually(self._started)
        return self

    async def _started(self) -> bool:
        return bool(self.server and self.server.started)

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None and self.task is not None
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def sb(tmp_path: Path) -> AsyncIterator[Running]:
    """One Switchboard on SQLite: the browser flow does not depend on the database."""
    running = await start_server(make_settings(tmp_path, f"sqlite:///{tmp_path / 'sb.db'}"))
    await set_admin_password(running)
    try:
        yield running
    finally:
        await running.stop()


def widget(page: Page, css: str) -> Any:
    return page.locator("#switchboard-widget").locator(css)


async def test_visitor_chats_with_an_agent_across_reload_and_offline(sb: Running) -> None:
    admin = await sb.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    agent = await create_agent(admin, "ana@example.test", name=EVIL_NAME)
    async with HostSite(sb.base_url) as site, async_playwright() as pw:
        inbox = await create_webchat_inbox(
            admin,
            allowed_origins=[site.origin],
            appearance={"title": "Acme support", "color": "#6f42c1"},
        )
        await admin.put(
            f"/api/admin/inboxes/{inbox['id']}/members", json={"user_ids": [agent["id"]]}
        )
        ana = await sb.login("ana@example.test", "agent-password-1")
        browser = await launch_chromium(pw)
        context = await browser.new_context(viewport={"width": 900, "height": 700})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(site.page_url(inbox["public_key"]))
        await widget(page, "button.l").click()
        await widget(page, "textarea").fill(EVIL_TEXT)
        await widget(page, "textarea").press("Enter")

        async def conversation() -> Any:
            items = (await ana.get("/api/conversations")).json()["items"]
            return items[0]["id"] if items else None

        conv_id = await eventually(conversation)
        await ana.post(
            f"/api/conversations/{conv_id}/messages",
            json={"text": "Hello <i>there</i>, how can I help?"},
        )
        await widget(page, ".m:not(.me) .bu").get_by_text("how can I help?").wait_for()
        await widget(page, ".m.me .meta").get_by_text("Sent").wait_for()
        assert await widget(page, ".m.me .bu").first.text_content() == EVIL_TEXT
        assert await widget(page, ".au").first.text_content() == EVIL_NAME[0] + EVIL_NAME
        assert await widget(page, ".bu b, .bu i, .bu script, .au img").count() == 0
        assert await page.evaluate("window.pwned") is None

        await page.reload()
        await widget(page, "button.l").click()
        await widget(page, ".bu").get_by_text("how can I help?").wait_for()

        await context.set_offline(True)
        await widget(page, "textarea").fill("sent while offline")
        await widget(page, "textarea").press("Enter")
        await widget(page, ".meta").get_by_text("Sending…").wait_for()
        await context.set_offline(False)
        await widget(page, ".m.me .meta").last.get_by_text("Sent").wait_for(timeout=20_000)

        async def texts() -> list[str]:
            items = (await ana.get(f"/api/conversations/{conv_id}/messages")).json()["items"]
            return [m["text"] for m in items if m["direction"] == "in"]

        assert await eventually(lambda: _has(texts, "sent while offline"))
        assert await texts() == [EVIL_TEXT, "sent while offline"]
        await page.evaluate("""() => { window.seen = [];
            for (const e of ["message", "opened", "closed"])
                Switchboard.on(e, (d) => window.seen.push(e)); Switchboard.close(); }""")
        thanks = (
            await ana.post(
                f"/api/conversations/{conv_id}/messages", json={"text": "Got it, thanks!"}
            )
        ).json()["message"]
        await widget(page, ".b").get_by_text("1").wait_for()  # unread badge while closed
        await page.evaluate("Switchboard.open()")
        await widget(page, ".bu").get_by_text("Got it, thanks!").wait_for()
        assert await widget(page, ".b").is_hidden()
        assert await page.evaluate("window.seen") == ["closed", "message", "opened"]

        async def read() -> bool:
            items = (await ana.get(f"/api/conversations/{conv_id}/messages")).json()["items"]
            return any(m["id"] == thanks["id"] and m["status"] == "read" for m in items)

        await eventually(read)  # the visitor's read receipt reached the agent side
        await widget(page, "input[type=file]").set_input_files(
            files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(48, 32)}]
        )
        await widget(page, "textarea").fill("here is a photo")
        await widget(page, "button.sd").click()
        await widget(page, "img.att[src^='blob:']").wait_for()

        async def attachment() -> Any:
            items = (await ana.get(f"/api/conversations/{conv_id}/messages")).json()["items"]
            return [a for m in items for a in m["attachments"]]

        [stored] = await eventually(attachment)
        assert stored["filename"] == "photo.png" and stored["content_type"] == "image/png"
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))
        assert errors == []
        await browser.close()


def png(width: int, height: int) -> bytes:
    """A real PNG (solid colour), so the browser decodes and shows it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x2f\x81\xf7" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


async def _has(texts: Any, wanted: str) -> bool:
    return wanted in await texts()


async def test_required_verification_refuses_forged_and_missing_signatures(sb: Running) -> None:
    admin = await sb.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with HostSite(sb.base_url) as site, async_playwright() as pw:
        inbox = await create_webchat_inbox(
            admin,
            allowed_origins=[site.origin],
            identity_verification="required",
            hmac_secret=SECRET,
        )
        key = inbox["public_key"]
        browser = await launch_chromium(pw)
        page = await browser.new_page()
        await page.goto(site.page_url(key))
        await widget(page, "button.l").click()
        await widget(page, "p").get_by_text("Please sign in").wait_for()
        forged = signed_user("u-1", secret="not-the-site-secret-123")
        await page.goto(site.page_url(key, forged))
        await widget(page, "button.l").click()
        await widget(page, ".er").get_by_text("signature does not match").wait_for()
        assert await widget(page, "textarea").count() == 0
        await page.goto(site.page_url(key, signed_user("u-1", name="Lee")))
        await widget(page, "button.l").click()
        await widget(page, "textarea").fill("verified hello")
        await widget(page, "textarea").press("Enter")
        await widget(page, ".m.me .meta").get_by_text("Sent").wait_for()
        await page.reload()  # the page calls setUser again: the same session, same history
        await widget(page, "button.l").click()
        await widget(page, ".bu").get_by_text("verified hello").wait_for()
        # another device, the same user signed as a JWT: the same history
        tablet = await browser.new_page()
        token = jwt_token({"sub": "u-1", "exp": int(time.time()) + 600})
        await tablet.goto(site.page_url(key, {"jwt": token, "name": "Lee"}))
        await widget(tablet, "button.l").click()
        await widget(tablet, ".bu").get_by_text("verified hello").wait_for()
        await browser.close()


async def test_a_message_sent_after_the_session_expired_is_sent_in_a_new_one(
    sb: Running,
) -> None:
    """The visitor's session is gone on the server (expired, revoked): the next message
    is answered 401. The widget starts a new session and sends it there; before, it
    dropped the token and left the message "Sending…" for good."""
    admin = await sb.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with HostSite(sb.base_url) as site, async_playwright() as pw:
        inbox = await create_webchat_inbox(admin, allowed_origins=[site.origin])
        browser = await launch_chromium(pw)
        page = await browser.new_page()
        await page.goto(site.page_url(inbox["public_key"]))
        await widget(page, "button.l").click()
        await widget(page, "textarea").fill("first message")
        await widget(page, "textarea").press("Enter")
        await widget(page, ".m.me .meta").get_by_text("Sent").wait_for()
        s = t.visitor_sessions.c
        async with sb.ctx.db.write() as conn:  # every session's token stops working
            revoked = sa.literal("revoked-") + sa.cast(s.id, sa.String)
            await conn.execute(sa.update(t.visitor_sessions).values(token_hash=revoked))
        await widget(page, "textarea").fill("after expiry")
        await widget(page, "textarea").press("Enter")
        sent = widget(page, ".m.me").filter(has_text="after expiry").locator(".meta")
        await sent.get_by_text("Sent").wait_for(timeout=20_000)
        assert await widget(page, ".meta").get_by_text("Sending…").count() == 0

        async def texts() -> list[str]:
            items = (await admin.get("/api/conversations")).json()["items"]
            found = []
            for conv in items:
                url = f"/api/conversations/{conv['id']}/messages"
                found += [m["text"] for m in (await admin.get(url)).json()["items"]]
            return found

        assert await eventually(lambda: _has(texts, "after expiry"))
        await browser.close()


def closed_today() -> dict[str, Any]:
    """Business hours that are closed all of today (UTC) and open tomorrow 09:00-17:00."""
    import datetime as dt

    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    tomorrow = days[(dt.datetime.now(dt.UTC).weekday() + 1) % 7]
    return {"timezone": "UTC", "weekly": {tomorrow: [["09:00", "17:00"]]}, "holidays": []}


async def test_offline_header_promises_only_what_will_happen(sb: Running) -> None:
    admin = await sb.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with HostSite(sb.base_url) as site, async_playwright() as pw:
        plain = await create_webchat_inbox(admin, allowed_origins=[site.origin])
        told = await create_webchat_inbox(
            admin,
            allowed_origins=[site.origin],
            appearance={
                "offline_message": "We are at the trade fair until Monday",
                "position": "left",
            },
            pre_chat={"enabled": True, "fields": [{"name": "email", "required": True}]},
        )
        for inbox in (plain, told):
            patched = await admin.patch(
                f"/api/admin/inboxes/{inbox['id']}", json={"business_hours": closed_today()}
            )
            assert patched.status_code == 200, patched.text
        browser = await launch_chromium(pw)
        page = await browser.new_page()
        await page.goto(site.page_url(plain["public_key"]))
        await widget(page, "button.l").click()
        header = widget(page, ".hd")
        await header.get_by_text("Offline").wait_for()
        text = await header.text_content() or ""
        # continuity is on by default but points at no email inbox: no email is promised
        assert "email" not in text.lower(), text
        assert "when we're back" in text
        await widget(page, ".hd .bk").get_by_text("Back ").wait_for()

        await page.goto(site.page_url(told["public_key"]))
        box = await widget(page, "button.l").bounding_box()
        assert box and box["x"] < 100  # moved to the left by a form field, no JSON
        await widget(page, "button.l").click()
        await header.get_by_text("We are at the trade fair until Monday").wait_for()
        await widget(page, "button.sd").click()
        await widget(page, "#sb-f-email-e").get_by_text("Please fill this in.").wait_for()
        await widget(page, "#sb-f-email").fill("not-an-address")
        await widget(page, "button.sd").click()
        await widget(page, "#sb-f-email-e").get_by_text("Please enter an email address").wait_for()
        await widget(page, "#sb-f-email").fill("mia@example.test")
        await widget(page, "button.sd").click()
        await widget(page, "textarea").wait_for()
        await browser.close()
