"""How the inbox shows what comes from outside: email HTML isolated with remote images off
until the agent allows them, and live updates that survive a dropped socket; a tablet-width
layout. Screenshots go to screenshots/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, Route, async_playwright, expect

from adapters.base import ContactInfo, InboundMessage
from server.actions import inbound
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running
from tests.e2e.conftest import app_page
from tests.support.api import create_agent, create_api_inbox, eventually, post_inbound
from tests.support.browser import launch_chromium

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
REMOTE = "http://images.example.test"
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
    "21bc330000000049454e44ae426082"
)
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def browser_page(server: Running, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    width, height = getattr(request, "param", (1360, 820))
    async with app_page(server, width=width, height=height, login=True) as opened:
        yield opened


async def test_email_html_is_isolated_and_remote_images_wait_for_consent(
    browser_page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    page = browser_page
    loads: list[str] = []

    async def image(route: Route) -> None:
        loads.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=PIXEL)

    await page.route(f"{REMOTE}/**", image)
    inbox = await create_api_inbox(admin, name="Mail")
    html = (
        '<p>Hello <b id="bold">there</b>,</p><p>see the photo:</p>'
        f'<img src="{REMOTE}/photo.png" alt="photo" width="40" height="40">'
        '<script>parent.document.title = "pwned"</script>'
        '<a href="https://example.test/track" onclick="alert(1)">details</a>'
    )
    result = await inbound.ingest(
        server.ctx,
        inbox["id"],
        InboundMessage(
            external_id="<m1@example.test>",
            contact=ContactInfo("mia@example.test", name="Mia"),
            text="Hello there",
            html=html,
            subject="Order 1234",
        ),
    )
    await page.goto(f"{server.base_url}/#/inbox/{result.conversation_id}")
    frame = page.frame_locator(".email-frame")
    await expect(frame.locator("b")).to_have_text("there")
    await expect(frame.locator("img")).to_have_attribute("data-remote-src", f"{REMOTE}/photo.png")
    assert await frame.locator("script").count() == 0
    assert await page.title() == "Switchboard"
    assert loads == [], "remote images must not load before the agent allows them"
    await page.screenshot(path=str(SHOTS / "07-email-html.png"))

    await page.click("text=Show remote images")
    await expect(frame.locator("img")).to_have_attribute("src", f"{REMOTE}/photo.png")

    async def loaded() -> list[str]:
        return loads

    assert await eventually(loaded) == [f"{REMOTE}/photo.png"]


async def test_live_updates_resume_after_the_socket_drops(
    browser_page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    page = browser_page
    inbox = await create_api_inbox(admin, name="Shop")
    client = server.client()
    first = await post_inbound(client, inbox, text="First", contact="c1")
    await expect(
        page.locator(f".conv-row[data-id='{first.json()['conversation_id']}']")
    ).to_be_visible()
    await page.evaluate("window.switchboard.socket.ws && window.switchboard.socket.ws.close()")
    second = await post_inbound(client, inbox, text="While away", contact="c2")
    row = page.locator(f".conv-row[data-id='{second.json()['conversation_id']}']")
    await expect(row).to_contain_text("Customer c2", timeout=15000)


@pytest.mark.parametrize("browser_page", [(900, 1100)], indirect=True)
async def test_tablet_layout(browser_page: Page, server: Running, admin: httpx.AsyncClient) -> None:
    page = browser_page
    inbox = await create_api_inbox(admin, name="Shop")
    response = await post_inbound(server.client(), inbox, text="On a tablet", contact="tab")
    cid = response.json()["conversation_id"]
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    await expect(page.locator("#thread")).to_contain_text("On a tablet")
    await expect(page.locator(".conv-header")).to_contain_text("Shop")
    # Nothing spills sideways at tablet width.
    overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0
    await page.click("#contact-toggle")
    await expect(page.locator(".contact-pane")).to_contain_text("Customer tab")
    await page.screenshot(path=str(SHOTS / "08-tablet.png"))
    await page.click(".contact-close")
    await expect(page.locator(".contact-pane")).to_be_hidden()


async def test_two_agents_see_each_other_view_and_type(
    browser_page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    page = browser_page
    ana = await create_agent(admin, "ana@example.test", name="Ana Agent")
    inbox = await create_api_inbox(admin, name="Shop", members=[ana["id"]])
    response = await post_inbound(server.client(), inbox, text="Anyone there?", contact="c9")
    cid = response.json()["conversation_id"]
    await page.goto(f"{server.base_url}/#/inbox/{cid}")
    await expect(page.locator("#thread")).to_contain_text("Anyone there?")

    other = await page.context.browser.new_context(viewport={"width": 1360, "height": 820})
    ana_page = await other.new_page()
    await ana_page.goto(f"{server.base_url}/#/inbox/{cid}")
    await ana_page.fill("#login-email", "ana@example.test")
    await ana_page.fill("#login-password", "agent-password-1")
    await ana_page.click("form.login-card button[type=submit]")
    await expect(ana_page.locator("#thread")).to_contain_text("Anyone there?")
    await expect(page.locator(".peers")).to_contain_text("Ana Agent is viewing")
    await ana_page.type("#composer-text", "On it")
    await expect(page.locator(".peers")).to_contain_text("Ana Agent is typing a reply")
    await page.screenshot(path=str(SHOTS / "09-typing.png"))
    await other.close()


async def test_without_live_updates_a_banner_shows_and_the_inbox_polls(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        page = await browser.new_page(viewport={"width": 1360, "height": 820})
        # The socket endpoint refuses every connection, as when a proxy blocks WebSockets.
        await page.route_web_socket("**/ws", lambda ws: ws.close())
        await page.goto(server.base_url + "/")
        await page.fill("#login-email", ADMIN_EMAIL)
        await page.fill("#login-password", ADMIN_PASSWORD)
        await page.click("form.login-card button[type=submit]")
        await expect(page.locator("#banner")).to_contain_text("Live updates are paused")
        await post_inbound(server.client(), inbox, text="Polled in", contact="poll")
        await expect(page.locator("#conv-list")).to_contain_text("Customer poll", timeout=15000)
        await page.screenshot(path=str(SHOTS / "10-offline-banner.png"))
        await browser.close()
