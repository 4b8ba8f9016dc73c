"""The admin's inbox form offers OAuth2 sign-in for email (issue 14), driven in Chromium:
the OAuth2 fields appear only when chosen, a missing one is named, and what is saved is
the OAuth2 configuration with write-only secrets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import Running
from tests.e2e.conftest import app_page

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server, login=True) as opened:
        yield opened


async def test_an_email_inbox_is_created_with_oauth2_sign_in(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    await page.goto(f"{server.base_url}/#/admin/inboxes")
    await page.select_option("#new-inbox-kind", "email")
    await page.fill("#new-inbox-name", "Gmail support")
    await page.fill("#new-cfg-address", "support@example.com")
    client_id = page.locator("#new-cfg-oauth2_client_id")
    await expect(client_id).to_be_hidden()
    await page.select_option("#new-cfg-auth_method", "oauth2")
    await expect(client_id).to_be_visible()
    await expect(page.locator("#new-inbox-fields")).to_contain_text("https://mail.google.com/")
    await client_id.fill("1234.apps.googleusercontent.com")
    await page.fill("#new-cfg-oauth2_client_secret", "client-secret-x")
    await page.fill("#new-cfg-oauth2_token_url", "https://oauth2.googleapis.com/token")
    await page.fill("#new-cfg-oauth2_scope", "https://mail.google.com/")
    await page.click("text=Create inbox")
    error = page.locator("#new-inbox-error")
    await expect(error).to_contain_text("required when auth_method is oauth2")
    await expect(page.locator("#new-cfg-oauth2_refresh_token")).to_have_attribute(
        "aria-invalid", "true"
    )

    await page.fill("#new-cfg-oauth2_refresh_token", "1//refresh-token-x")
    await page.click("text=Create inbox")
    await expect(page).to_have_url(re.compile(r"#/admin/inboxes/\d+$"))
    listed = await admin.get("/api/admin/inboxes")
    inbox: dict[str, Any] = next(i for i in listed.json()["items"] if i["name"] == "Gmail support")
    assert inbox["config"]["auth_method"] == "oauth2"
    assert inbox["config"]["oauth2_token_url"] == "https://oauth2.googleapis.com/token"
    assert inbox["secrets_set"] == {
        "imap_password": False,
        "smtp_password": False,
        "oauth2_client_secret": True,
        "oauth2_refresh_token": True,
    }
    assert "refresh-token-x" not in listed.text
    await expect(page.locator("#cfg-oauth2_client_id")).to_have_value(
        "1234.apps.googleusercontent.com"
    )
