"""Saved views in the inbox sidebar (Chromium): save the current filters, see the count,
and one click brings the filters back."""

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


async def test_save_and_apply_a_view(server: Running, admin: httpx.AsyncClient) -> None:
    inbox = await create_api_inbox(admin, name="Shop")
    for n in range(3):
        await post_inbound(server.client(), inbox, text=f"order {n}", contact=f"c{n}")
    async with app_page(server, login=True) as page:
        await expect(page.locator("#saved-views")).to_contain_text("No saved views yet.")
        await page.select_option("#filter-status", "")  # any status
        await page.click("#save-view")
        await page.fill("#view-name", "Everything")
        await page.click(".saved-view-form button[type=submit]")
        row = page.locator("#saved-views .view-link", has_text="Everything")
        await expect(row.locator(".view-count")).to_have_text("3")

        await page.select_option("#filter-status", "resolved")
        await expect(page.locator("#conv-list")).to_contain_text("No conversations match")
        await row.click()
        await expect(page.locator("#filter-status")).to_have_value("")
        await expect(page.locator("#conv-list li")).to_have_count(3)

        # a new customer message: the count follows without a reload
        await post_inbound(server.client(), inbox, text="one more", contact="c9")
        await expect(row.locator(".view-count")).to_have_text("4")
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / "saved-views.png"))
