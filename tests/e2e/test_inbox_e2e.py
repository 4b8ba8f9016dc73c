"""The agent's main journeys in a real Chromium against a real server: log in, see a customer
message arrive live, reply, add a note, assign, resolve, read the FRT report, change an inbox
setting. Each screen is saved to screenshots/ for a person to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import ADMIN_EMAIL, Running
from tests.e2e.conftest import app_page, log_in
from tests.support.api import create_agent, create_api_inbox, eventually, post_inbound

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
# SQLite only: the browser journeys exercise the UI; storage is covered on both databases elsewhere.
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server) as opened:
        yield opened


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def conversation(admin: httpx.AsyncClient, cid: int) -> dict[str, Any]:
    response = await admin.get(f"/api/conversations/{cid}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_login_rejects_a_wrong_password(page: Page) -> None:
    await shot(page, "01-login")
    await page.fill("#login-email", ADMIN_EMAIL)
    await page.fill("#login-password", "not-the-password")
    await page.click("form.login-card button[type=submit]")
    await expect(page.locator("#login-error")).to_have_text("Wrong email or password.")


async def test_agent_day(page: Page, server: Running, admin: httpx.AsyncClient) -> None:
    agent = await create_agent(admin, "ana@example.test", name="Ana Agent")
    inbox = await create_api_inbox(
        admin, name="Shop API", members=[agent["id"]], frt_targets={"none": 3600}
    )
    await log_in(page)
    await expect(page.locator("#conv-list")).to_contain_text("No conversations")

    # A customer writes while the inbox is open: the row appears without a reload.
    inbound = server.client()
    response = await post_inbound(inbound, inbox, text="Where is my parcel?", contact="cust-live")
    assert response.status_code == 201, response.text
    cid = response.json()["conversation_id"]
    row = page.locator(f".conv-row[data-id='{cid}']")
    await expect(row).to_contain_text("Customer cust-live")
    await expect(row.locator(".sla")).to_contain_text("SLA")
    await expect(row.locator(".unread")).to_have_text("1")
    await shot(page, "02-inbox-live")

    await row.click()
    await expect(page.locator("#thread")).to_contain_text("Where is my parcel?")
    await expect(row.locator(".unread")).to_have_text("")
    await expect(page.locator(".contact-pane")).to_contain_text("cust-live")

    # Reply publicly.
    await page.keyboard.press("r")
    await page.fill("#composer-text", "It ships today.")
    await page.click("#send")
    await expect(page.locator("#thread .msg.out")).to_contain_text("It ships today.")
    assert (await conversation(admin, cid))["first_response_at"] is not None

    # A private note looks different and is marked as such.
    await page.click("#mode-note")
    await page.fill("#composer-text", "VIP customer, be nice")
    await page.click("#send")
    note = page.locator("#thread .msg.note")
    await expect(note).to_contain_text("VIP customer, be nice")
    await expect(note.locator(".note-tag")).to_have_text("Private note")

    # A second customer message arrives live in the open conversation.
    await post_inbound(inbound, inbox, text="Thanks! Tracking number?", contact="cust-live")
    await expect(page.locator("#thread .msg.in").last).to_contain_text("Tracking number?")

    # Assign to Ana: the server records it and an activity line appears.
    await page.select_option("#assign-agent", str(agent["id"]))
    await expect(page.locator("#thread .activity").last).to_contain_text("Ana Agent")
    assert (await conversation(admin, cid))["assignee_id"] == agent["id"]
    await shot(page, "03-conversation")

    # Resolve with the keyboard shortcut.
    await page.locator("#thread").click()
    await page.keyboard.press("e")
    await expect(page.locator("#conv-status")).to_have_text("resolved")
    await eventually(lambda: _status_is(admin, cid, "resolved"))


async def _status_is(admin: httpx.AsyncClient, cid: int, status: str) -> bool:
    return (await conversation(admin, cid))["status"] == status


async def test_reports_show_the_first_response(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop API")
    response = await post_inbound(server.client(), inbox, text="Hi", contact="cust-r")
    cid = response.json()["conversation_id"]
    reply = await admin.post(f"/api/conversations/{cid}/messages", json={"text": "Hello!"})
    assert reply.status_code == 201, reply.text
    other = (await post_inbound(server.client(), inbox, text="Bye", contact="cust-s")).json()
    await admin.post(
        f"/api/conversations/{other['conversation_id']}/status", json={"status": "resolved"}
    )
    await log_in(page)
    await page.click("[data-nav=reports]")
    table = page.locator("#frt-table-data")
    await expect(table).to_contain_text("Shop API")
    await expect(table.locator("thead")).to_contain_text("Resolution median")
    await expect(table.locator("tbody tr").first.locator("td").nth(8)).to_have_text("1")
    await expect(page.locator("#kpi-open .value")).to_have_text("1")
    await table.get_by_role("button", name="Conversations").first.click()
    await expect(page.locator("#drill-card")).to_contain_text(f"#{cid}")
    await shot(page, "04-reports")


async def test_admin_changes_an_inbox_setting(page: Page, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin, name="Shop API")
    await log_in(page)
    await page.click("[data-nav=admin]")
    await page.click("text=Shop API")
    # Secrets are write-only: the page says they are set and never shows a value.
    await expect(page.locator("label[for=cfg-inbound_token]")).to_contain_text("set")
    assert await page.input_value("#cfg-inbound_token") == ""
    await page.fill("#inbox-name", "Shop API (EU)")
    await page.fill("#cfg-webhook_url", "https://hooks.example.test/switchboard")
    await page.click("#save-inbox")
    await expect(page.locator("h1")).to_contain_text("Shop API (EU)")
    await page.fill("#frt-none", "30")
    await page.click("text=Save targets")
    await expect(page.locator("#frt-none")).to_have_value("30")
    await shot(page, "05-admin-inbox")

    listed = (await admin.get("/api/admin/inboxes")).json()["items"]
    saved = next(i for i in listed if i["id"] == inbox["id"])
    assert saved["name"] == "Shop API (EU)"
    assert saved["config"]["webhook_url"] == "https://hooks.example.test/switchboard"
    assert saved["frt_targets"] == {"none": 1800}
    assert saved["secrets_set"]["inbound_token"] is True


async def test_canned_response_and_stale_reply_guard(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop API")
    canned = await admin.post(
        "/api/admin/canned-responses",
        json={"short_code": "thanks", "content": "Thanks for writing!"},
    )
    assert canned.status_code == 201, canned.text
    inbound = server.client()
    cid = (await post_inbound(inbound, inbox, text="Hello?", contact="cust-s")).json()[
        "conversation_id"
    ]
    await log_in(page)
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    await expect(page.locator("#thread")).to_contain_text("Hello?")

    # "/thanks" offers the canned response; Enter inserts it.
    await page.fill("#composer-text", "/tha")
    await expect(page.locator("#canned-suggest")).to_contain_text("/thanks")
    await page.press("#composer-text", "Enter")
    await expect(page.locator("#composer-text")).to_have_value("Thanks for writing!")

    # Live updates stop, the customer writes again: sending is held until the agent decides.
    await page.evaluate("window.switchboard.socket.stop()")
    await post_inbound(inbound, inbox, text="Actually, never mind", contact="cust-s")
    await page.click("#send")
    await expect(page.locator("#stale-warning")).to_contain_text("Your reply was not sent")
    await expect(page.locator("#stale-warning")).to_contain_text("Actually, never mind")
    await expect(page.locator("#thread")).to_contain_text("Actually, never mind")
    await shot(page, "06-stale-reply")
    await page.click("#send-anyway")
    await expect(page.locator("#thread .msg.out")).to_contain_text("Thanks for writing!")
    await expect(page.locator("#stale-warning")).to_be_hidden()
