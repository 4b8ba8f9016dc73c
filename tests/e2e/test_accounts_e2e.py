"""Accounts end to end in Chromium (issue 11): an admin invites an agent, the agent sets
its password, turns on two-factor, logs in with a TOTP code; from a second browser the
agent ends the first browser's session, and the first browser is logged out at once
(its socket is closed with 4401 and the app shows the login page)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import ADMIN_PASSWORD, Running
from tests.e2e.conftest import log_in, socket_live
from tests.support.api import create_agent
from tests.support.browser import launch_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

AGENT_EMAIL = "vera@example.test"
AGENT_PASSWORD = "vera-password-1"


class Browsers:
    """Separate browser contexts (separate cookie jars), each page watched for errors."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser, self.base_url = browser, base_url
        self.errors: list[str] = []
        self.contexts: list[BrowserContext] = []

    async def page(self, path: str = "/") -> Page:
        context = await self.browser.new_context(viewport={"width": 1280, "height": 820})
        self.contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: m.text.startswith("UI error") and self.errors.append(m.text))
        await page.goto(self.base_url + path)
        return page


@pytest.fixture
async def browsers(server: Running) -> AsyncIterator[Browsers]:
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        watched = Browsers(browser, server.base_url)
        yield watched
        await browser.close()
        assert not watched.errors, f"errors on the page: {watched.errors}"


async def _invite(browsers: Browsers) -> str:
    admin = await browsers.page()
    await log_in(admin)
    await admin.click("a[data-nav=account]")
    await admin.click("a[href='#/account/agents']")
    await admin.fill("#invite-name", "Vera")
    await admin.fill("#invite-email", AGENT_EMAIL)
    await admin.click("#invite-form button[type=submit]")
    link = admin.locator("#invite-link")
    await expect(link).to_have_value(lambda_contains("#/invite/"))
    value = await link.input_value()
    await expect(admin.locator("#agents-table")).to_contain_text("Invitation pending")
    return value


def lambda_contains(text: str) -> object:
    import re

    return re.compile(".*" + re.escape(text) + ".*")


async def _set_password_and_enable_2fa(page: Page, link: str) -> tuple[str, list[str]]:
    await page.goto(link)
    await expect(page.locator("#public-title")).to_have_text("Welcome, Vera")
    await page.fill("#new-password", AGENT_PASSWORD)
    await page.fill("#new-password-again", AGENT_PASSWORD)
    await page.click("form button[type=submit]")
    await expect(page.locator("#whoami")).to_contain_text("Vera")
    await page.goto(page.url.split("#")[0] + "#/account")
    await page.click("#totp-start")
    secret = await page.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    await expect(page.locator("#totp-uri")).to_contain_text("otpauth://totp/")
    await page.fill("#totp-code", pyotp.TOTP(secret).now())
    await page.click("#account-2fa form button[type=submit]")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    await page.click("#codes-done")
    await expect(page.locator("#totp-state")).to_be_visible()
    return secret, codes


async def _log_in_with_code(page: Page, code: str) -> None:
    await page.fill("#login-email", AGENT_EMAIL)
    await page.fill("#login-password", AGENT_PASSWORD)
    await page.click("form.login-card button[type=submit]")
    await expect(page.locator("#login-code")).to_be_visible()  # the second step
    await page.fill("#login-code", code)
    await page.click("form.login-card button[type=submit]")
    await expect(page.locator("#whoami")).to_contain_text("Vera")


async def test_invite_password_two_factor_login_and_revoke_from_another_browser(
    browsers: Browsers,
) -> None:
    link = await _invite(browsers)
    first = await browsers.page()
    secret, codes = await _set_password_and_enable_2fa(first, link)

    await first.click("#logout")
    # The code that turned 2FA on was spent; the next 30 s step is within the drift the
    # server accepts (RFC 6238 §5.2), so this is a fresh, valid code right now.
    await _log_in_with_code(first, pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30)))
    await socket_live(first)

    second = await browsers.page()
    await _log_in_with_code(second, codes[0])  # a recovery code, once
    await second.click("a[data-nav=account]")
    rows = second.locator("#sessions-table tbody tr")
    await expect(rows).to_have_count(2)
    await rows.filter(has=second.locator("button")).locator("button").click()

    # the first browser is logged out at once: its socket closed with 4401
    await expect(first.locator("#login-email")).to_be_visible()
    await expect(first.locator("#toasts")).to_contain_text("Your session has ended")
    await expect(rows).to_have_count(1)


async def test_when_two_factor_is_required_a_new_login_sets_it_up_before_anything_else(
    server: Running, browsers: Browsers
) -> None:
    admin = server.client()
    token = (
        await admin.post(
            "/api/auth/login", json={"email": "admin@example.test", "password": ADMIN_PASSWORD}
        )
    ).json()["token"]
    admin = server.client(token)
    await create_agent(admin, AGENT_EMAIL, name="Vera", password=AGENT_PASSWORD)
    secret = (await admin.post("/api/account/totp/setup")).json()["secret"]
    await admin.post("/api/account/totp/enable", json={"code": pyotp.TOTP(secret).now()})
    await admin.put("/api/admin/security", json={"require_two_factor": True})

    page = await browsers.page()
    await page.fill("#login-email", AGENT_EMAIL)
    await page.fill("#login-password", AGENT_PASSWORD)
    await page.click("form.login-card button[type=submit]")
    await expect(page.locator("#account-content h1")).to_have_text(
        "Set up two-factor authentication"
    )
    await page.click("a[data-nav=inbox]")  # nothing else opens before the setup
    await expect(page.locator("#totp-start")).to_be_visible()
    await page.click("#totp-start")
    own = await page.locator("#totp-secret").get_attribute("data-secret")
    assert own
    await page.fill("#totp-code", pyotp.TOTP(own).now())
    await page.click("#account-2fa form button[type=submit]")
    await page.click("#codes-done")
    await socket_live(page)
    await expect(page.locator("#whoami")).to_contain_text("Vera")
