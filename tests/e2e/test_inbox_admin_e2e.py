"""Admin screens and the smaller conversation actions, driven in Chromium: agents, teams,
canned responses, a live-chat inbox's settings and embed snippet; labels, priority, snooze,
reopen and j/k navigation. Screenshots go to screenshots/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from server.storage import schema as t
from server.storage.schema import utcnow
from tests.conftest import Running
from tests.e2e.conftest import app_page, socket_live
from tests.support.api import create_api_inbox, post_inbound
from tests.support.receiver import Receiver

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server, login=True) as opened:
        yield opened


async def test_admin_manages_agents_teams_canned_and_a_chat_inbox(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    base = server.base_url
    await page.goto(f"{base}/#/admin/agents")
    await page.fill("#agent-name", "Bo Builder")
    await page.fill("#agent-email", "bo@example.test")
    await page.fill("#agent-password", "bo-password-1")
    await page.click("text=Add agent")
    await expect(page.locator("table.data")).to_contain_text("bo@example.test")
    await page.screenshot(path=str(SHOTS / "11-admin-agents.png"))

    await page.click("nav[aria-label=Settings] >> text=Teams")
    await page.fill("#team-name", "Billing")
    await page.select_option("#team-members", label="Bo Builder")
    await page.click("text=Create team")
    await expect(page.locator("table.data")).to_contain_text("Bo Builder")

    await page.click("nav[aria-label=Settings] >> text=Canned responses")
    await page.fill("#canned-code", "refund")
    await page.fill("#canned-content", "Your refund is on its way.")
    await page.click("text=Add canned response")
    await expect(page.locator("table.data")).to_contain_text("/refund")
    await page.screenshot(path=str(SHOTS / "12-admin-canned.png"))

    await page.click("nav[aria-label=Settings] >> text=Inboxes")
    await page.fill("#new-inbox-name", "Website chat")
    await page.select_option("#new-inbox-kind", "webchat")
    await page.click("text=Create inbox")
    await expect(page.locator("h1")).to_contain_text("Website chat")
    await expect(page.locator("#embed-snippet")).to_contain_text("script")
    await page.fill("#cfg-appearance-title", "Talk to Acme")
    await page.fill("#cfg-allowed_origins", "https://shop.example.test")
    await page.click("#save-inbox")
    await expect(page.locator("#cfg-appearance-title")).to_have_value("Talk to Acme")
    await page.check("#hours-enabled")
    await page.fill("#hours-tz", "Europe/Berlin")
    await page.check("#day-mon")
    await page.fill("#hours-holidays", "2026-12-25")
    await page.click("text=Save hours")
    await expect(page.locator("#hours-holidays")).to_have_value("2026-12-25")
    await page.screenshot(path=str(SHOTS / "13-admin-webchat.png"), full_page=True)

    inboxes = (await admin.get("/api/admin/inboxes")).json()["items"]
    chat = next(i for i in inboxes if i["kind"] == "webchat")
    assert chat["config"]["appearance"]["title"] == "Talk to Acme"
    assert chat["config"]["allowed_origins"] == ["https://shop.example.test"]
    assert chat["business_hours"]["timezone"] == "Europe/Berlin"
    assert chat["business_hours"]["holidays"] == ["2026-12-25"]
    teams = (await admin.get("/api/admin/teams")).json()["items"]
    assert [t["name"] for t in teams] == ["Billing"]


async def test_labels_priority_snooze_reopen_and_keyboard(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop", frt_targets={"urgent": 300})
    client = server.client()
    ids = [
        (await post_inbound(client, inbox, text=f"Message {n}", contact=f"k{n}")).json()[
            "conversation_id"
        ]
        for n in range(3)
    ]
    await expect(page.locator(".conv-row")).to_have_count(3)
    await page.keyboard.press("j")
    await expect(page.locator("#thread")).to_contain_text("Message 2")  # newest first
    await page.keyboard.press("j")
    await expect(page.locator("#thread")).to_contain_text("Message 1")
    await page.keyboard.press("k")
    await expect(page.locator("#thread")).to_contain_text("Message 2")
    cid = ids[2]

    await page.fill("#label-add", "vip")
    await page.press("#label-add", "Enter")
    await expect(page.locator(".chip")).to_contain_text("vip")
    await page.select_option("#priority", "urgent")
    await expect(page.locator("#conv-timers")).to_contain_text("SLA")
    await page.screenshot(path=str(SHOTS / "14-actions.png"))
    await page.click("button[aria-label='Remove label vip']")
    await expect(page.locator(".chip")).to_have_count(0)

    await page.select_option("#snooze", "custom")
    await page.fill("#snooze-custom", "2030-01-02T09:30")
    await expect(page.locator("#conv-status")).to_have_text("snoozed")
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    assert conv["snoozed_until"].startswith("2030-01-02")
    assert conv["priority"] == "urgent" and conv["labels"] == []
    await page.click("#resolve")  # "Unsnooze"
    await expect(page.locator("#conv-status")).to_have_text("open")

    await page.keyboard.press("?")
    await expect(page.locator("#help")).to_be_visible()


async def test_failed_delivery_shows_the_reason_and_retries(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    async with Receiver() as hook:
        hook.script.append(422)  # the integration refuses the first delivery, then accepts
        inbox = await create_api_inbox(admin, name="Shop", webhook_url=hook.url)
        cid = (await post_inbound(server.client(), inbox, text="Hi", contact="d1")).json()[
            "conversation_id"
        ]
        await page.goto(f"{server.base_url}/#/inbox/{cid}")
        await page.fill("#composer-text", "Hello from support")
        await page.click("#send")
        failed = page.locator("#thread .msg.out .delivery")
        await expect(failed).to_contain_text("Failed")
        await expect(failed).to_contain_text("HTTP 422")
        await page.screenshot(path=str(SHOTS / "15-delivery-failed.png"))
        await failed.get_by_role("button", name="Retry").click()
        await expect(failed).to_contain_text("Sent")
        assert len(hook.requests) == 2


async def test_merge_a_duplicate_contact(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    client = server.client()
    first = (await post_inbound(client, inbox, text="From phone", contact="m1")).json()
    second = (await post_inbound(client, inbox, text="From laptop", contact="m2")).json()
    target = (await admin.get(f"/api/conversations/{first['conversation_id']}")).json()
    await page.goto(f"{server.base_url}/#/inbox/{first['conversation_id']}")
    await expect(page.locator(".contact-pane")).to_contain_text("Conversations (1)")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.fill("#merge-search", "m2")  # found by name, not typed in as an id
    await expect(page.locator("#merge-results li").get_by_role("button")).to_have_count(1)
    # a live change to this contact re-renders the pane while the agent is at the search:
    # what was typed and found stays (a refresh used to rebuild the search, empty)
    renamed = await admin.patch(f"/api/contacts/{target['contact_id']}", json={"name": "Mia"})
    assert renamed.status_code == 200, renamed.text
    await expect(page.locator(".contact-pane h3")).to_have_text("Mia")
    await expect(page.locator("#merge-search")).to_have_value("m2")
    await expect(page.locator("#merge-search")).to_be_focused()
    await page.locator("#merge-results li").get_by_role("button").click()
    await expect(page.locator(".contact-pane")).to_contain_text("Conversations (2)")
    await expect(page.locator("#merge-results li")).to_have_count(0)  # a fresh search
    moved = (await admin.get(f"/api/conversations/{second['conversation_id']}")).json()
    assert moved["contact_id"] == target["contact_id"]


async def test_closed_reply_window_asks_for_a_template(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    cid = (await post_inbound(server.client(), inbox, text="Hi", contact="w1")).json()[
        "conversation_id"
    ]
    # The state a WhatsApp conversation is in 24 h after the customer's last message.
    async with server.ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.conversations)
            .where(t.conversations.c.id == cid)
            .values(
                reply_window_closes_at=utcnow() - timedelta(hours=1),
                version=t.conversations.c.version + 1,
            )
        )
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    window = page.locator("#reply-window")
    await expect(page.locator("#thread")).to_contain_text("Hi")
    await expect(window).to_contain_text("reply window is closed")
    await page.fill("#template-name", "order_update")
    await page.fill("#template-params", "Mia, 1234")
    await page.screenshot(path=str(SHOTS / "16-reply-window.png"))
    await page.click("#send")
    await expect(page.locator("#thread .msg.out")).to_have_count(1)
    messages = (await admin.get(f"/api/conversations/{cid}/messages")).json()["items"]
    sent = next(m for m in messages if m["direction"] == "out")
    assert sent["content_attributes"]["template"] == {
        "name": "order_update",
        "language": "en_US",
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Mia"}, {"type": "text", "text": "1234"}],
            }
        ],
    }


async def test_reply_with_an_attachment(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    cid = (await post_inbound(server.client(), inbox, text="Invoice please", contact="a1")).json()[
        "conversation_id"
    ]
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    await expect(page.locator("#thread")).to_contain_text("Invoice please")
    await page.set_input_files(
        "#composer-files",
        files=[{"name": "invoice.txt", "mimeType": "text/plain", "buffer": b"total: 42 EUR"}],
    )
    await expect(page.locator("#pending-files")).to_contain_text("invoice.txt")
    await page.fill("#composer-text", "Here it is")
    await page.screenshot(path=str(SHOTS / "17-attachment.png"))
    await page.click("#send")
    link = page.locator("#thread .msg.out .attachments a")
    await expect(link).to_contain_text("invoice.txt")
    await expect(page.locator("#pending-files")).to_be_empty()
    download = await admin.get(await link.get_attribute("href") or "")
    assert download.content == b"total: 42 EUR"


async def test_admin_sees_a_watcher_failure_at_once(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Mailroom")
    await page.goto(f"{server.base_url}/#/admin/inboxes/{inbox['id']}")
    await expect(page.locator("h1")).to_contain_text("Mailroom")
    await socket_live(page)
    assert server.ctx.channels is not None
    reporter = server.ctx.channels.health.reporter(inbox["id"])
    reporter.report(connected=False, error="IMAP login refused")
    await expect(page.locator("#toasts")).to_contain_text(
        "Mailroom: watcher disconnected — IMAP login refused"
    )
    await expect(page.locator("#watcher-status")).to_contain_text("IMAP login refused")
    reporter.report(connected=True)
    await expect(page.locator("#watcher-status")).to_contain_text("Watcher connected")
