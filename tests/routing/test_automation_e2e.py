"""The automation page and the notification bell in Chromium (docs/automation.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import Running
from tests.e2e.conftest import app_page, socket_live
from tests.routing.conftest import make_agent
from tests.support.api import create_api_inbox, eventually, post_inbound

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server, login=True) as opened:
        yield opened


async def test_admin_turns_on_routing_writes_a_rule_and_reads_notifications(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    ana = await make_agent(server, "ana")
    inbox = await create_api_inbox(admin, name="Support", members=[ana.id])
    await page.reload()
    await socket_live(page)
    await page.click("nav >> text=Automation")

    await page.select_option(f"#routing-{inbox['id']}", "round_robin")
    await expect(page.locator("#toasts")).to_contain_text("Saved.")
    r = await admin.get(f"/api/admin/inboxes/{inbox['id']}/routing")
    assert r.json()["policy"] == "round_robin"

    await page.fill("#rule-name", "Refunds")
    await page.select_option("#rule-trigger", "customer_message")
    await page.select_option("#rule-field", "message.text")
    await page.select_option("#rule-op", "contains")
    await page.fill("#rule-value", "refund")
    await page.select_option("#rule-actions .action-type", "add_label")
    await page.fill("#rule-actions .action-value", "refund")
    await page.click("text=Save rule")
    await expect(page.locator("#rule-list")).to_contain_text(
        "When a customer writes, if the message text contains “refund”, then add label “refund”."
    )
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "40-automation-rules.png"))

    sent = await post_inbound(admin, inbox, contact="c1", text="I want a refund")
    conversation = sent.json()["conversation_id"]
    got = (await admin.get(f"/api/conversations/{conversation}")).json()
    assert got["labels"] == ["refund"]
    await page.click("text=Recent runs")
    await expect(page.locator(".rule-runs")).to_contain_text(
        f"Conversation #{conversation}: done. added label refund"
    )

    # a mention arrives live: the bell counts it, the panel lists it, "mark all read" clears it
    await expect(page.locator("#notif-badge")).to_be_hidden()
    r = await ana.http.post(
        f"/api/conversations/{conversation}/messages",
        json={"text": "@admin can you approve this refund?", "private": True},
    )
    assert r.status_code == 201, r.text
    await expect(page.locator("#notif-badge")).to_have_text("1")
    await page.click("#notif-btn")
    await expect(page.locator("#notif-list")).to_contain_text("Ana mentioned you on conversation")
    await page.screenshot(path=str(SHOTS / "41-notifications.png"))
    await page.click("#notif-read-all")
    await expect(page.locator("#notif-badge")).to_be_hidden()

    async def all_read() -> bool:
        return (await admin.get("/api/notifications/unread")).json()["unread"] == 0

    await eventually(all_read)

    await page.fill("#macro-name", "Close as refunded")
    await page.select_option("#macro-form .action-type", "resolve")
    await page.click("text=Save macro")
    await expect(page.locator("#macro-list")).to_contain_text("Close as refunded")
