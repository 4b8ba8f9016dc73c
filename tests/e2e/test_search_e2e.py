"""Search in the agent app (Chromium): find a message by a word in its text, see the word
marked, open the conversation; on a phone-sized screen without horizontal scrolling."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.support.api import create_api_inbox, post_inbound

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize(("width", "height", "name"), [(1360, 820, "desktop"), (390, 844, "phone")])
async def test_find_a_message_by_its_words(
    server: Running, admin: httpx.AsyncClient, width: int, height: int, name: str
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    await post_inbound(server.client(), inbox, text="Please refund <b>order</b> 77, it broke")
    await post_inbound(server.client(), inbox, text="Where is the parcel?", contact="other")
    async with app_page(server, width=width, height=height, login=True) as page:
        await page.click("[data-nav=search]")
        await expect(page.locator("#search-summary")).to_contain_text("Type a word")
        await page.fill("#search-q", "REFUN")
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-summary")).to_have_text("1 result")
        hit = page.locator(".search-hit")
        await expect(hit.locator("mark")).to_have_text("refund")
        await expect(hit.locator(".snippet")).to_contain_text("<b>order</b> 77")  # text, not HTML
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"search-{name}.png"), full_page=True)
        wide = await page.evaluate(
            "[...document.querySelectorAll('#main *')].filter(e => e.getBoundingClientRect().right"
            " > innerWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
        )
        assert not wide, f"search page wider than the screen: {wide}"

        await page.fill("#search-q", "nothing-like-this")
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-summary")).to_contain_text("No message or note")

        await page.fill("#search-q", "refund")
        await page.press("#search-q", "Enter")
        await page.click(".search-hit a")
        await expect(page).to_have_url(f"{server.base_url}/#/inbox/{await _cid(admin)}")


async def _cid(admin: httpx.AsyncClient) -> int:
    found = (await admin.get("/api/search", params={"q": "refund"})).json()
    return int(found["items"][0]["conversation_id"])


async def test_search_speaks_polish_with_its_plural_forms(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Sklep")
    for n in range(3):
        await post_inbound(server.client(), inbox, text=f"Gdzie jest paczka {n}?", contact=f"k{n}")
    async with app_page(server, login=True) as page:
        await page.evaluate("localStorage.setItem('switchboard.language', 'pl')")
        await page.goto(f"{server.base_url}/#/search")
        await page.reload()  # the language is chosen when the app starts
        await expect(page.locator("#search-summary")).to_contain_text("Wpisz słowo")
        await page.fill("#search-q", "paczka")
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-summary")).to_have_text("3 wyniki")  # few, not many
        await page.fill("#search-q", "paczka 1")
        await page.press("#search-q", "Enter")
        await expect(page.locator("#search-summary")).to_have_text("1 wynik")
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / "search-polish.png"))


async def test_the_agent_picks_greek_in_the_top_bar(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with app_page(server, login=True) as page:
        await page.select_option("#language", "el")
        await page.wait_for_load_state()
        await expect(page.locator("#language")).to_have_value("el")
        assert await page.evaluate("document.documentElement.lang") == "el"
        await page.goto(f"{server.base_url}/#/search")
        await expect(page.locator("h1")).to_have_text("Αναζήτηση")
