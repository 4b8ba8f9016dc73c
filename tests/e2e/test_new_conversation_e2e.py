"""New conversation in Chromium: an agent writes an email first; the conversation opens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.support.api import create_api_inbox

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_an_agent_starts_an_email_conversation(
    server: Running, admin: httpx.AsyncClient
) -> None:
    config = {
        "address": "help@example.test",
        "imap_host": "127.0.0.1",
        "imap_port": 1,
        "imap_security": "none",
        "imap_password": "x",
        "smtp_host": "127.0.0.1",
        "smtp_port": 1,
        "smtp_security": "none",
    }  # nothing listens: sending is retried
    made = await admin.post(
        "/api/admin/inboxes", json={"name": "Help desk", "kind": "email", "config": config}
    )
    assert made.status_code == 201, made.text
    await create_api_inbox(admin, name="Integration")  # cannot write first: not offered
    async with app_page(server, login=True) as page:
        await page.click("#new-conversation-btn")
        dialog = page.locator("#new-conversation")
        await expect(dialog.locator("#new-conv-inbox option")).to_have_count(1)
        await dialog.locator("#new-conv-email").fill("not an address")
        await dialog.locator("#new-conv-subject").fill("Your order")
        await dialog.locator("#new-conv-text").fill("Your parcel ships today.")
        await dialog.locator("button[type=submit]").click()
        assert await dialog.is_visible()  # the browser's own check stops a bad address
        await dialog.locator("#new-conv-email").fill("zofia@example.org")
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / "new-conversation.png"))
        await dialog.locator("button[type=submit]").click()
        await expect(page).to_have_url(f"{server.base_url}/#/inbox/1")
        await expect(page.locator("#main")).to_contain_text("Your parcel ships today.")
