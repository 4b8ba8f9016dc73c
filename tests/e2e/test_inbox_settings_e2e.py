"""Issue 12, driven in Chromium: settings that are forms (not JSON) and can be edited and
deleted, names in the reports CSV, the first-start checklist, and the smaller defects of the
inbox (list previews, assignee menu, contact panel, merge, toasts, report axes)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.support.api import create_agent, create_api_inbox, post_inbound

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server, login=True) as opened:
        opened.on("dialog", lambda dialog: dialog.accept())
        yield opened


async def test_teams_canned_and_inboxes_are_edited_and_deleted(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    base = server.base_url
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    await create_agent(admin, "bo@example.test", name="Bo Builder")
    team = (await admin.post("/api/admin/teams", json={"name": "Billing"})).json()
    await page.goto(f"{base}/#/admin/teams")
    await page.click("button[aria-label='Edit team Billing']")
    await page.fill(f"#team-{team['id']}-name", "Payments")
    await page.select_option(f"#team-{team['id']}-members", label="Bo Builder")
    await page.click("table.data >> text=Save")
    await expect(page.locator("table.data")).to_contain_text("Payments")
    await expect(page.locator("table.data")).to_contain_text("Bo Builder")
    await page.click("button[aria-label='Delete team Payments']")
    await expect(page.locator("#admin-content")).to_contain_text("No teams yet.")

    await page.click("nav[aria-label=Settings] >> text=Canned responses")
    code = page.locator("#canned-code")
    await code.fill("two words")
    assert await code.evaluate("e => e.checkValidity()") is False  # the pattern is in force
    await code.fill("refund-sent")
    assert await code.evaluate("e => e.checkValidity()") is True
    await page.fill("#canned-content", "Your refund is on its way.")
    await page.click("text=Add canned response")
    await page.click("button[aria-label='Edit /refund-sent']")
    await page.locator("table.data textarea").fill("Refund sent today.")
    await page.click("table.data >> text=Save")
    await expect(page.locator("table.data")).to_contain_text("Refund sent today.")
    await page.click("button[aria-label='Delete /refund-sent']")
    await expect(page.locator("#admin-content")).to_contain_text("None yet.")
    assert not [m for m in console if "regular expression" in m], console

    used = await create_api_inbox(admin, name="Used")
    await post_inbound(server.client(), used, text="Hi", contact="x1")
    await create_api_inbox(admin, name="Spare")
    await page.click("nav[aria-label=Settings] >> text=Inboxes")
    await page.click("button[aria-label='Delete inbox Used']")
    await expect(page.locator("#toasts")).to_contain_text("disable it instead")
    await page.click("button[aria-label='Delete inbox Spare']")
    await expect(page.locator("#admin-content table.data")).not_to_contain_text("Spare")
    names = [i["name"] for i in (await admin.get("/api/admin/inboxes")).json()["items"]]
    assert names == ["Used"]
    assert (await admin.get("/api/canned-responses")).json()["items"] == []


async def test_widget_settings_are_form_fields(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    mail = await admin.post(
        "/api/admin/inboxes",
        json={"name": "Mail", "kind": "email", "config": {"address": "help@example.test"}},
    )
    chat = await admin.post("/api/admin/inboxes", json={"name": "Chat", "kind": "webchat"})
    await page.goto(f"{server.base_url}/#/admin/inboxes/{chat.json()['id']}")
    await expect(page.locator("h1")).to_contain_text("Chat")
    assert await page.locator("#settings-h ~ form textarea.mono").count() == 0  # no raw JSON
    await page.select_option("#cfg-appearance-position", "left")
    await page.check("#cfg-pre_chat-enabled")
    await page.click("#cfg-pre_chat-add")
    await page.locator("#cfg-pre_chat .pc-name").fill("email")
    await page.locator("#cfg-pre_chat .pc-type").select_option("email")
    await page.locator("#cfg-pre_chat .pc-required").check()
    await page.check("#cfg-email_continuity-enabled")
    await page.select_option("#cfg-email_continuity-email_inbox_id", label="Mail")
    await page.click("#save-inbox")
    await expect(page.locator("#toasts")).to_contain_text("Settings saved")
    await page.screenshot(path=str(SHOTS / "22-webchat-settings.png"), full_page=True)
    config = next(
        i["config"]
        for i in (await admin.get("/api/admin/inboxes")).json()["items"]
        if i["name"] == "Chat"
    )
    assert config["appearance"]["position"] == "left"
    assert config["pre_chat"]["enabled"] is True
    assert [(f["name"], f["type"], f["required"]) for f in config["pre_chat"]["fields"]] == [
        ("email", "email", True)
    ]
    assert config["email_continuity"]["email_inbox_id"] == mail.json()["id"]
    # a mistake in a field answers with a sentence naming it
    await page.locator("#cfg-pre_chat .pc-type").select_option("select")  # with no choices
    await page.click("#save-inbox")
    error = page.locator("#inbox-error")
    await expect(error).to_contain_text("Pre-chat form")
    assert "pre_chat" not in (await error.text_content() or "")


async def test_reports_csv_names_and_chart_axes(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    client = server.client()
    answered = (await post_inbound(client, inbox, text="Hi", contact="r1")).json()
    await post_inbound(client, inbox, text="Anyone?", contact="r2")
    reply = await admin.post(
        f"/api/conversations/{answered['conversation_id']}/messages", json={"text": "Hello!"}
    )
    assert reply.status_code == 201
    await page.goto(f"{server.base_url}/#/reports")
    await page.select_option("#report-group", "agent")
    table = page.locator("#frt-table-data")
    await expect(table).to_contain_text("Not answered yet")
    labels = await page.locator("#frt-table-data tbody td:first-child").all_text_contents()
    assert "—" not in labels
    await expect(page.locator("#frt-chart svg .axis-title")).to_contain_text("First-response")
    assert await page.locator("#frt-chart svg .tick").count() >= 2
    await page.screenshot(path=str(SHOTS / "23-report-axes.png"), full_page=True)
    async with page.expect_download() as download:
        await page.click("#report-csv")
    saved = await (await download.value).path()
    text = await asyncio.to_thread(Path(saved).read_text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["inbox"] for r in rows} == {"Shop"}
    assert {r["responder"] for r in rows} == {"Admin", ""}
    assert {r["channel"] for r in rows} == {"API"}


async def test_an_empty_workspace_shows_a_checklist_until_done(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    checklist = page.locator("#onboarding")
    await expect(checklist).to_be_visible()
    await expect(checklist.locator("li:not(.done)")).to_have_count(3)
    await page.screenshot(path=str(SHOTS / "24-onboarding.png"))
    inbox = await create_api_inbox(admin, name="Shop")
    await page.reload()
    await expect(checklist.locator("li.done")).to_have_count(1)
    await expect(checklist.locator("li[data-step=channel]")).to_have_class("done")
    await create_agent(admin, "ann@example.test", name="Ann")
    hours = {"timezone": "UTC", "weekly": {"mon": [["09:00", "17:00"]]}, "holidays": []}
    await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json={"business_hours": hours})
    await page.reload()
    await expect(page.locator(".placeholder")).to_contain_text("Select a conversation")
    await expect(checklist).to_have_count(0)


async def test_list_rows_assignees_contact_panel_merge_and_toasts(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    member = await create_agent(admin, "mo@example.test", name="Maximiliana Longname-Builder")
    outsider = await create_agent(admin, "os@example.test", name="Otto Outsider")
    inbox = await create_api_inbox(admin, name="Shop", members=[member["id"]])
    client = server.client()
    first = (await post_inbound(client, inbox, text="Where is my parcel?", contact="m1")).json()
    second = (await post_inbound(client, inbox, text="Same person, laptop", contact="m2")).json()
    cid = first["conversation_id"]
    target = (await admin.get(f"/api/conversations/{cid}")).json()["contact_id"]
    source = (await admin.get(f"/api/conversations/{second['conversation_id']}")).json()
    for contact in (target, source["contact_id"]):
        await admin.patch(f"/api/contacts/{contact}", json={"email": "mia@example.test"})
    await admin.post(f"/api/conversations/{cid}/assignment", json={"assignee_id": member["id"]})
    row = page.locator(f".conv-row[data-id='{cid}']")
    await expect(row.locator(".preview")).to_contain_text("Where is my parcel?")
    meta = row.locator(".meta")
    await expect(meta).to_contain_text("Maximiliana Longname-Builder")
    assert await meta.evaluate("e => e.scrollWidth <= e.clientWidth")  # not cut off

    await row.click()
    # the agent was created after the page loaded: the menu fills in once its name is known
    await expect(page.locator("#assign-agent option", has_text="Maximiliana")).to_have_count(1)
    options = await page.locator("#assign-agent option").all_text_contents()
    assert not any(outsider["name"] in o for o in options)  # not a member of this inbox
    await page.fill("#composer-text", "It ships today.")
    await page.click("#send")
    await expect(row.locator(".preview")).to_contain_text("You: It ships today.")

    contact = page.locator(".contact-pane")
    await page.click("#resolve")
    await expect(contact).to_contain_text(f"#{cid} · resolved")
    await page.click("#resolve")  # reopen
    await page.select_option("#snooze", index=1)
    await expect(page.locator("#conv-status")).to_have_text("snoozed")
    await expect(contact).to_contain_text(f"#{cid} · snoozed")
    await page.click("#resolve")  # "Unsnooze"
    await expect(page.locator("#toasts")).to_contain_text("Unsnoozed")
    toasts = await page.locator("#toasts .toast").all_text_contents()
    assert "Done" not in toasts
    assert len(toasts) <= 3  # they do not pile up

    suggestion = page.locator("#merge-suggestions li")
    await expect(suggestion).to_contain_text("Customer m2")
    await suggestion.get_by_role("button").click()
    await expect(contact).to_contain_text("Conversations (2)")
    moved = (await admin.get(f"/api/conversations/{second['conversation_id']}")).json()
    assert moved["contact_id"] == target
    await page.screenshot(path=str(SHOTS / "25-inbox-rows.png"))
    await page.goto(f"{server.base_url}/#/reports")
    await expect(page.locator("#toasts .toast")).to_have_count(0)  # toasts stay on their page
