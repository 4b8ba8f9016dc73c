"""Accessibility of the main screens in both themes (axe-core, WCAG 2 A and AA): no serious
or critical violation — contrast included — at desktop and phone sizes, and the theme
follows the agent's choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.conftest import Running
from tests.e2e.conftest import log_in, socket_live
from tests.support.api import create_api_inbox, post_inbound
from tests.support.browser import launch_chromium
from tests.support.services import INSTALL_HINT, ServiceUnavailable

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
SCREENS = ("#/inbox/1", "#/search", "#/reports", "#/reports/trends", "#/admin")
RUN = """() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))})))"""


async def violations(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        raise ServiceUnavailable(f"axe-core is not installed at {AXE}; {INSTALL_HINT}")
    await page.add_script_tag(path=str(AXE))
    return await page.evaluate(RUN)  # type: ignore[no-any-return]


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), [(1360, 860), (390, 844)])
async def test_main_screens_have_no_serious_violations(
    server: Running, admin: httpx.AsyncClient, theme: str, width: int, height: int
) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    await post_inbound(server.client(), inbox, text="Where is my parcel?")
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        # axe is injected as a script: the app's CSP (scripts from self only) is bypassed
        # for this test's context alone
        context = await browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=True
        )
        page = await context.new_page()
        await page.goto(server.base_url + "/")
        await page.evaluate(f"localStorage.setItem('switchboard.theme', '{theme}')")
        await page.reload()
        await log_in(page)
        await socket_live(page)
        assert await page.evaluate("document.documentElement.dataset.theme") == theme
        found: dict[str, list[dict[str, Any]]] = {}
        for screen in SCREENS:
            await page.goto(f"{server.base_url}/{screen}")
            await expect(page.locator("#main")).not_to_be_empty()
            await page.wait_for_timeout(300)  # let the screen's data arrive
            problems = await violations(page)
            if problems:
                found[screen] = problems
        SHOTS.mkdir(exist_ok=True)
        await page.goto(f"{server.base_url}/#/inbox/1")
        await page.wait_for_timeout(300)
        await page.screenshot(path=str(SHOTS / f"a11y-inbox-{theme}-{width}.png"))
        await browser.close()
    assert not found, found
