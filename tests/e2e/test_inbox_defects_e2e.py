"""Defects found in a working day with the app (issue 12), each driven in Chromium against a
real server: channel setup from the screens alone, "Any status", the customer's typing line,
a quiet reconnect after a server restart and the stale-reply guard pinned to the draft."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.async_api import Page, expect

from tests.conftest import Running, start_server
from tests.e2e.conftest import app_page, socket_live
from tests.support.api import create_agent, create_api_inbox, post_inbound
from tests.widget.helpers import Visitor, create_webchat_inbox

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server, login=True) as opened:
        yield opened


async def inboxes(admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    items = (await admin.get("/api/admin/inboxes")).json()["items"]
    return {i["name"]: i for i in items}


async def create_inbox(page: Page, base: str, name: str, kind: str, fields: dict[str, str]) -> None:
    await page.goto(f"{base}/#/admin/inboxes")
    await page.fill("#new-inbox-name", name)
    await page.select_option("#new-inbox-kind", kind)
    for selector, value in fields.items():
        if await page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            await page.select_option(selector, value)
        else:
            await page.fill(selector, value)
    await page.click("text=Create inbox")
    await expect(page.locator("h1")).to_contain_text(name)


async def test_every_channel_kind_is_created_and_edited_from_the_screens(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    base = server.base_url
    await page.goto(f"{base}/#/admin/inboxes")
    await page.select_option("#new-inbox-kind", "email")
    # the form offers exactly what the server accepts (STARTTLS since adapters/email/tls.py)
    from adapters.email.config import IMAP_SECURITY

    imap = page.locator("#new-cfg-imap_security option")
    offered = [v for v in await imap.evaluate_all("os => os.map(o => o.value)") if v]
    assert sorted(offered) == sorted(IMAP_SECURITY)
    await create_inbox(
        page,
        base,
        "Support mail",
        "email",
        {"#new-cfg-address": "help@example.test", "#new-cfg-smtp_host": "smtp.example.test"},
    )
    await page.fill("#cfg-from_name", "Acme Support")
    await page.click("#save-inbox")
    await expect(page.locator("#cfg-from_name")).to_have_value("Acme Support")
    await create_inbox(
        page,
        base,
        "Bot",
        "telegram",
        {"#new-cfg-mode": "polling", "#new-cfg-bot_token": "12345:abcdef"},
    )
    await create_inbox(
        page,
        base,
        "WhatsApp",
        "whatsapp",
        {
            "#new-cfg-phone_number_id": "1555000",
            "#new-cfg-access_token": "token-1",
            "#new-cfg-app_secret": "secret-1",
            "#new-cfg-verify_token": "verify-1",
        },
    )
    for kind in ("messenger", "instagram"):
        account = "#new-cfg-page_id" if kind == "messenger" else "#new-cfg-ig_account_id"
        await create_inbox(
            page,
            base,
            kind.title(),
            kind,
            {
                account: "42",
                "#new-cfg-access_token": "t",
                "#new-cfg-app_secret": "s",
                "#new-cfg-verify_token": "v",
            },
        )
    await create_inbox(page, base, "Chat", "webchat", {})
    await create_inbox(page, base, "Hook", "api", {})
    # a mistake answers with a sentence naming the field, not a developer string
    await page.goto(f"{base}/#/admin/inboxes")
    await page.fill("#new-inbox-name", "Broken bot")
    await page.select_option("#new-inbox-kind", "telegram")
    await page.fill("#new-cfg-bot_token", "not-a-token")
    await page.click("text=Create inbox")
    error = page.locator("#new-inbox-error")
    await expect(error).to_contain_text("Bot token")
    assert "config." not in (await error.text_content() or "")
    await page.fill("#new-inbox-name", "x" * 201)
    await page.fill("#new-cfg-bot_token", "12345:abcdef")
    await page.click("text=Create inbox")
    await expect(error).to_have_text("Name: too long: at most 200 characters.")
    await page.fill("#new-inbox-name", "Broken bot")
    await page.fill("#new-cfg-bot_token", "not-a-token")
    await page.click("text=Create inbox")
    await expect(error).to_contain_text("Bot token")
    await page.screenshot(path=str(SHOTS / "20-new-inbox.png"), full_page=True)
    made = await inboxes(admin)
    assert made["Support mail"]["config"]["from_name"] == "Acme Support"
    assert made["Support mail"]["config"]["address"] == "help@example.test"
    assert made["Bot"]["secrets_set"]["bot_token"] is True
    assert made["WhatsApp"]["config"]["phone_number_id"] == "1555000"
    assert {i["kind"] for i in made.values()} == {
        "email",
        "telegram",
        "whatsapp",
        "messenger",
        "instagram",
        "webchat",
        "api",
    }


async def test_any_status_lists_every_conversation(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    client = server.client()
    first = (await post_inbound(client, inbox, text="Still open", contact="s1")).json()
    done = (await post_inbound(client, inbox, text="All sorted", contact="s2")).json()
    await admin.post(
        f"/api/conversations/{done['conversation_id']}/status", json={"status": "resolved"}
    )
    await expect(page.locator(".conv-row")).to_have_count(1)
    await page.select_option("#filter-status", "")
    await expect(page.locator(".conv-row")).to_have_count(2)
    await expect(page.locator(f".conv-row[data-id='{first['conversation_id']}']")).to_be_visible()


async def test_the_customer_typing_is_named_as_the_customer(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    visitor = Visitor(server.client(), inbox["public_key"])
    await visitor.start(form={})
    sent = (await visitor.send("Hello there")).json()["message"]
    await page.goto(f"{server.base_url}/#/inbox/{sent['conversation_id']}")
    await expect(page.locator("#thread")).to_contain_text("Hello there")
    await socket_live(page)
    url = f"{server.ws_url}/widget/ws?key={inbox['public_key']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": visitor.token, "last_event_id": None}))
        await ws.recv()
        await ws.send(json.dumps({"type": "typing", "typing": True}))
        peers = page.locator(".peers")
        await expect(peers).to_contain_text("is typing")
        text = await peers.text_content() or ""
        assert "null" not in text and "undefined" not in text
        await expect(peers).to_contain_text(re.compile(r"customer\)? is typing", re.I))


async def test_a_server_restart_reconnects_quietly(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    cid = (await post_inbound(server.client(), inbox, text="Before restart", contact="r1")).json()[
        "conversation_id"
    ]
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    await expect(page.locator("#thread")).to_contain_text("Before restart")
    await socket_live(page)
    await server.stop()
    banner = page.locator("#banner")
    await expect(banner).to_contain_text("Reconnecting")
    # polls while down fail: none of them may reach the person
    await page.wait_for_timeout(6000)
    restarted = await start_server(server.settings)
    try:
        await socket_live(page)
        await expect(banner).to_be_hidden()
        again = await post_inbound(restarted.client(), inbox, text="After restart", contact="r1")
        assert again.status_code == 201
        await expect(page.locator("#thread")).to_contain_text("After restart")
        toasts = await page.locator("#toasts .toast").all_text_contents()
        assert not [t for t in toasts if "Cannot read" in t or "undefined" in t]
        assert await page.locator("#toasts .toast-error").count() == 0
        assert toasts.count("Reconnected.") <= 1
    finally:
        await restarted.stop()


async def test_a_message_arriving_during_a_draft_needs_one_confirm(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    client = server.client()
    cid = (await post_inbound(client, inbox, text="Please refund me", contact="g1")).json()[
        "conversation_id"
    ]
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    await expect(page.locator("#thread")).to_contain_text("Please refund me")
    await page.fill("#composer-text", "Refund processed")
    # the customer changes their mind while the agent is typing; it renders live
    await post_inbound(client, inbox, text="Never mind the refund", contact="g1")
    await expect(page.locator("#thread")).to_contain_text("Never mind the refund")
    notice = page.locator("#stale-warning")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Never mind the refund")
    await page.screenshot(path=str(SHOTS / "21-stale-draft.png"))
    await page.click("#send")
    await expect(page.locator("#send-anyway")).to_be_visible()
    messages = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
    assert [m["text"] for m in messages if m["direction"] == "out"] == []
    await page.click("#send-anyway")
    await expect(page.locator("#thread .msg.out")).to_contain_text("Refund processed")
    await expect(notice).to_be_hidden()
    # a fresh draft after that starts from what the agent has now seen
    await page.fill("#composer-text", "Anything else?")
    await page.click("#send")
    await expect(page.locator("#thread .msg.out")).to_have_count(2)
    # another agent's public reply during a draft is news too
    bo_id = (await create_agent(admin, "bo@example.test", name="Bo Builder"))["id"]
    await admin.put(f"/api/admin/inboxes/{inbox['id']}/members", json={"user_ids": [bo_id]})
    bo = await server.login("bo@example.test", "agent-password-1")
    await page.fill("#composer-text", "Let me check")
    sent = await bo.post(f"/api/conversations/{cid}/messages", json={"text": "I have it, Bo"})
    assert sent.status_code == 201, sent.text
    await expect(notice).to_contain_text("I have it, Bo")
    await expect(notice).to_contain_text("Bo Builder")
