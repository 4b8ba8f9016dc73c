"""Languages in Chromium (docs/languages.md): the agent app in Polish and Greek (chosen in this
browser: localStorage 'switchboard.language') on the inbox, a conversation and the settings
screen, with no English left in the main navigation; counted texts in Polish's three forms;
the widget in Polish for a visitor whose browser speaks Polish, or in the inbox's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.conftest import Running
from tests.e2e.conftest import PHONE, log_in
from tests.e2e.test_widget_e2e import HostSite, widget
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.browser import launch_chromium
from tests.widget.helpers import create_webchat_inbox

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

#: The English words of the main navigation and top bar: none may be left in another language.
ENGLISH_NAV = (
    "Inbox",
    "Search",
    "Reports",
    "Automation",
    "Settings",
    "Account",
    "Log out",
    "New conversation",
    "Online",
    "Away",
)


@asynccontextmanager
async def app_in(
    server: Running, code: str, *, phone: bool = False, width: int = 1360
) -> AsyncIterator[Page]:
    """The app in language `code`, logged in as the admin; fails on any page error."""
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        size = PHONE if phone else {"width": width, "height": 820}
        context = await browser.new_context(viewport=size, is_mobile=phone, has_touch=phone)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: m.text.startswith(("UI error", "missing text")) and errors.append(m.text),
        )
        await page.goto(server.base_url + "/")
        await page.evaluate(f"localStorage.setItem('switchboard.language', '{code}')")
        await page.reload()
        await log_in(page)
        yield page
        await browser.close()
        assert not errors, f"errors on the page: {errors}"


async def no_english_in_nav(page: Page) -> None:
    top = await page.locator("#topbar").inner_text()
    left = [w for w in ENGLISH_NAV if w in top]
    assert not left, f"English left in the top bar: {left} in {top!r}"


async def plural_forms(page: Page, code: str) -> list[str]:
    return await page.evaluate(  # type: ignore[no-any-return]
        f"""async () => {{ const i = await import('/web/js/i18n.js'); i.setLanguage('{code}');
        return [1, 2, 5, 12, 22].map((n) => i.tn('inbox.count', n)); }}"""
    )


async def test_the_app_in_polish(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin, name="Sklep")
    await post_inbound(server.client(), inbox, text="Gdzie jest moja paczka?", contact="c1")
    await post_inbound(server.client(), inbox, text="Dzień dobry", contact="c2")
    SHOTS.mkdir(exist_ok=True)
    async with app_in(server, "pl") as page:
        await expect(page.locator("html")).to_have_attribute("lang", "pl")
        await expect(page.locator("[data-nav=inbox]")).to_have_text("Skrzynka")
        await expect(page.locator("[data-nav=admin]")).to_have_text("Ustawienia")
        await expect(page.locator("#logout")).to_have_text("Wyloguj")
        await no_english_in_nav(page)
        await expect(page.locator(".list-count")).to_have_text("2 rozmowy")
        await expect(page.locator("#filter-status option[value='']")).to_have_text("Dowolny status")
        await expect(page.locator("[data-assignee=me]")).to_have_text("Moje")
        await page.screenshot(path=str(SHOTS / "pl-inbox.png"))

        await page.locator(".conv-row").first.click()
        await expect(page.locator("#conv-status")).to_have_text("otwarta")
        await expect(page.locator("#send")).to_have_text("Wyślij")
        await expect(page.locator("#mode-note")).to_have_text("Notatka wewnętrzna")
        await expect(page.locator("#resolve")).to_have_text("Zamknij")
        await expect(page.locator("#conv-timers")).to_contain_text("Klient czeka")
        await page.fill("#composer-text", "Paczka wyjechała dziś.")
        await page.click("#send")
        await expect(page.locator("#thread .msg.out")).to_contain_text("Paczka wyjechała dziś.")
        await page.screenshot(path=str(SHOTS / "pl-conversation.png"))

        await page.click("[data-nav=admin]")
        await expect(page.locator("#admin-content h1")).to_have_text("Skrzynki")
        await expect(page.locator(".subnav")).to_contain_text("Gotowe odpowiedzi")
        await expect(page.locator("#admin-content")).to_contain_text("Utwórz skrzynkę")
        await no_english_in_nav(page)
        # the longer Polish words never widen the page (the top bar's links scroll instead)
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await expect(page.locator("#logout")).to_be_in_viewport()
        await page.screenshot(path=str(SHOTS / "pl-settings.png"), full_page=True)

        for hash_, title, shot in (
            ("#/reports", "Raporty", "pl-reports.png"),
            ("#/automation", "Automatyzacja", "pl-automation.png"),
        ):
            await page.goto(server.base_url + "/" + hash_)
            await expect(page.locator("main h1").first).to_have_text(title)
            await no_english_in_nav(page)
            assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
            await page.screenshot(path=str(SHOTS / shot), full_page=True)

        # Polish counts: one, few, many (12 is "many", 22 is "few" again)
        assert await plural_forms(page, "pl") == [
            "1 rozmowa",
            "2 rozmowy",
            "5 rozmów",
            "12 rozmów",
            "22 rozmowy",
        ]

    async with app_in(server, "pl", phone=True) as page:
        await expect(page.locator(".list-count")).to_have_text("2 rozmowy")
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=str(SHOTS / "pl-inbox-phone.png"))
        await page.locator(".conv-row").first.click()
        await expect(page.locator("#send")).to_have_text("Wyślij")
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=str(SHOTS / "pl-conversation-phone.png"))
        await page.goto(server.base_url + "/#/admin")
        await expect(page.locator("#admin-content h1")).to_have_text("Skrzynki")
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=str(SHOTS / "pl-settings-phone.png"))


async def test_the_app_in_greek(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin, name="Κατάστημα")
    await post_inbound(server.client(), inbox, text="Πού είναι το δέμα μου;", contact="c1")
    async with app_in(server, "el") as page:
        await expect(page.locator("[data-nav=inbox]")).to_have_text("Εισερχόμενα")
        await expect(page.locator("[data-nav=reports]")).to_have_text("Αναφορές")
        await no_english_in_nav(page)
        await expect(page.locator(".list-count")).to_have_text("1 συνομιλία")
        await page.locator(".conv-row").first.click()
        await expect(page.locator("#send")).to_have_text("Αποστολή")
        await expect(page.locator("#conv-status")).to_have_text("ανοιχτή")
        await page.click("[data-nav=admin]")
        await expect(page.locator("#admin-content h1")).to_have_text("Εισερχόμενα")
        await expect(page.locator(".subnav")).to_contain_text("Έτοιμες απαντήσεις")
        await page.screenshot(path=str(SHOTS / "el-settings.png"))
        assert await plural_forms(page, "el") == [
            "1 συνομιλία",
            "2 συνομιλίες",
            "5 συνομιλίες",
            "12 συνομιλίες",
            "22 συνομιλίες",
        ]


@pytest.mark.parametrize("code", ["pl", "el"])
async def test_the_top_bar_is_one_row_on_a_laptop_and_folds_on_a_phone(
    server: Running, code: str
) -> None:
    """At 1440 px the longer Polish and Greek words keep the top bar to one row with every
    control on screen; on a phone language, theme, help and log out fold behind "More"."""
    async with app_in(server, code, width=1440) as page:
        await expect(page.locator("#notif-btn svg")).to_be_visible()  # drawn, not a font glyph
        height = await page.evaluate("document.getElementById('topbar').offsetHeight")
        assert height <= 56, f"the top bar wrapped to {height} px in {code}"
        for control in ("#logout", "#language", "#theme", "#presence", "#notif-btn"):
            await expect(page.locator(control)).to_be_in_viewport()
        await expect(page.locator("#topbar-more")).to_be_hidden()
    async with app_in(server, code, phone=True) as page:
        more = page.locator("#topbar-more")
        await expect(more).to_have_attribute("aria-expanded", "false")
        await expect(page.locator("#logout")).to_be_hidden()
        await expect(page.locator("#language")).to_be_hidden()
        await more.click()
        await expect(more).to_have_attribute("aria-expanded", "true")
        await expect(page.locator("#language")).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await page.click("#logout")
        await expect(page.locator("#login-email")).to_be_visible()


async def test_the_widget_follows_the_browser_or_the_inbox(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with HostSite(server.base_url) as site, async_playwright() as pw:
        polish = await create_webchat_inbox(admin, allowed_origins=[site.origin])
        greek = await create_webchat_inbox(
            admin, allowed_origins=[site.origin], appearance={"language": "el"}
        )
        browser = await launch_chromium(pw)
        context = await browser.new_context(locale="pl-PL", viewport={"width": 900, "height": 700})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(site.page_url(polish["public_key"]))
        launcher = widget(page, "button.l")
        await expect(launcher).to_have_attribute("aria-label", "Otwórz czat")
        await launcher.click()
        await expect(widget(page, ".hd b")).to_have_text("Napisz do nas")  # the default title
        await expect(widget(page, "textarea")).to_have_attribute("placeholder", "Napisz wiadomość…")
        await expect(widget(page, "button.sd")).to_have_text("Wyślij")
        await widget(page, "textarea").fill("Dzień dobry")
        await widget(page, "textarea").press("Enter")
        await expect(widget(page, ".m.me .meta")).to_have_text("Wysłane")

        async def conversation() -> Any:
            items = (await admin.get("/api/conversations", params={"status": "all"})).json()
            return items["items"][0]["id"] if items["items"] else None

        conv_id = await eventually(conversation)
        await page.evaluate("Switchboard.close()")
        for text in ("Dzień dobry!", "Paczka jest w drodze."):
            await admin.post(f"/api/conversations/{conv_id}/messages", json={"text": text})
        await expect(widget(page, ".b")).to_have_text("2")
        await expect(launcher).to_have_attribute("aria-label", "Otwórz czat (2 nowe wiadomości)")
        await page.evaluate("Switchboard.open()")
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / "pl-widget.png"))

        # the inbox says Greek: the same Polish browser gets the Greek widget
        other = await context.new_page()
        other.on("pageerror", lambda exc: errors.append(str(exc)))
        await other.goto(site.page_url(greek["public_key"]))
        greek_launcher = widget(other, "button.l")
        await expect(greek_launcher).to_have_attribute("aria-label", "Άνοιγμα συνομιλίας")
        await browser.close()
        assert not errors, errors
