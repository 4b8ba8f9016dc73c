"""The agent app on a phone-sized screen (390x844, touch) and on a desktop: pick a
conversation, read, reply, add a note, assign and resolve with no horizontal scrolling; the
app is installable (a web app manifest). Screenshots go to screenshots/."""

from __future__ import annotations

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


@pytest.fixture(params=["phone", "tablet", "desktop"])
async def page(request: pytest.FixtureRequest, server: Running) -> AsyncIterator[Page]:
    size = {"tablet": {"width": 820, "height": 1180}}.get(request.param, {})
    async with app_page(server, login=True, phone=request.param == "phone", **size) as opened:
        yield opened


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"
    # no element wider than the screen either (a clipped toolbar is as bad as a scrollbar)
    wide = await page.evaluate(
        """() => {
            // inside a box that scrolls sideways on its own (a wide table) is fine
            const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
                if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; }
                return false; };
            return [...document.querySelectorAll('#main *')].filter((e) => {
                const r = e.getBoundingClientRect();
                return r.width > 0 && (r.right > innerWidth + 1 || r.left < -1)
                    && e.offsetParent !== null && !scrolls(e);
            }).map((e) => e.id || e.className || e.tagName).slice(0, 5); }"""
    )
    assert not wide, f"elements past the screen's edge: {wide}"


async def test_a_whole_conversation_on_this_screen(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    width = (page.viewport_size or {}).get("width", 0)
    size = "phone" if width < 500 else "tablet" if width < 1000 else "desktop"
    agent = await create_agent(admin, "ana@example.test", name="Ana Agent")
    inbox = await create_api_inbox(admin, name="Shop", members=[agent["id"]])
    cid = (
        await post_inbound(server.client(), inbox, text="Where is my parcel?", contact="ph1")
    ).json()["conversation_id"]
    row = page.locator(f".conv-row[data-id='{cid}']")
    await expect(row).to_be_visible()
    await no_sideways_scroll(page)
    await page.screenshot(path=str(SHOTS / f"30-{size}-list.png"))

    await row.tap() if size == "phone" else await row.click()
    await expect(page.locator("#thread")).to_contain_text("Where is my parcel?")
    await expect(page.locator("#composer-text")).to_be_visible()
    await no_sideways_scroll(page)
    await page.fill("#composer-text", "It ships today.")
    await page.locator("#send").tap() if size == "phone" else await page.click("#send")
    await expect(page.locator("#thread .msg.out")).to_contain_text("It ships today.")
    await page.locator("#mode-note").click()
    await page.fill("#composer-text", "VIP, be quick")
    await page.click("#send")
    await expect(page.locator("#thread .msg.note")).to_contain_text("VIP, be quick")
    await page.select_option("#assign-agent", str(agent["id"]))
    await expect(page.locator("#thread .activity").last).to_contain_text("Ana Agent")
    await no_sideways_scroll(page)
    await page.screenshot(path=str(SHOTS / f"31-{size}-conversation.png"))
    await page.click("#resolve")
    await expect(page.locator("#conv-status")).to_have_text("resolved")
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    assert conv["status"] == "resolved" and conv["assignee_id"] == agent["id"]

    if size == "phone":  # one pane at a time: back to the list
        await expect(page.locator(".list-pane")).to_be_hidden()
        await page.click("#back-to-list")
        await expect(page.locator(".list-pane")).to_be_visible()
        await expect(page.locator("#conv-pane")).to_be_hidden()
        await no_sideways_scroll(page)
    await page.goto(f"{server.base_url}/#/admin/inboxes/{inbox['id']}")
    await expect(page.locator("h1")).to_contain_text("Shop")
    await no_sideways_scroll(page)
    await page.screenshot(path=str(SHOTS / f"32-{size}-settings.png"))
    await page.goto(f"{server.base_url}/#/reports")
    await expect(page.locator("h1")).to_contain_text("Reports")
    await no_sideways_scroll(page)


async def test_the_app_is_installable(page: Page, server: Running) -> None:
    href = await page.locator("link[rel=manifest]").get_attribute("href")
    assert href
    client = server.client()
    manifest = (await client.get(href)).json()
    assert manifest["name"] == "Switchboard" and manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    icon = manifest["icons"][0]
    assert (await client.get(icon["src"])).status_code == 200
    theme = page.locator("meta[name=theme-color]")
    assert await theme.get_attribute("content") == manifest["theme_color"]
