"""The agent app in Chromium: one way to open it, watch its errors and log in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Page, async_playwright, expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Running
from tests.support.api import eventually
from tests.support.browser import launch_chromium

#: A common phone's CSS viewport (iPhone 12-15 class).
PHONE = {"width": 390, "height": 844}


async def socket_live(page: Page, timeout: float = 30.0) -> None:
    """Wait until the app's socket is live (page.evaluate: the app's CSP forbids the eval that
    wait_for_function needs)."""
    await eventually(
        lambda: page.evaluate("window.switchboard.socket?.state === 'live'"), timeout=timeout
    )


async def log_in(page: Page) -> None:
    await page.fill("#login-email", ADMIN_EMAIL)
    await page.fill("#login-password", ADMIN_PASSWORD)
    await page.click("form.login-card button[type=submit]")
    await expect(page.locator("#whoami")).to_contain_text("Admin")


@asynccontextmanager
async def app_page(
    server: Running,
    *,
    width: int = 1360,
    height: int = 820,
    login: bool = False,
    phone: bool = False,
) -> AsyncIterator[Page]:
    """The app at / in a fresh browser; fails the test if the page had a JavaScript error
    or showed the user an error (the app logs those as "UI error: ..." — web/js/dom.js).
    phone: a 390x844 touch screen with a mobile viewport (PHONE)."""
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        size = PHONE if phone else {"width": width, "height": height}
        context = await browser.new_context(viewport=size, is_mobile=phone, has_touch=phone)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.text.startswith("UI error") and errors.append(m.text))
        await page.goto(server.base_url + "/")
        if login:
            await log_in(page)
        yield page
        await browser.close()
        assert not errors, f"errors on the page: {errors}"
