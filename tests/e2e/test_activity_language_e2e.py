"""Activity lines (status changes, assignments) read in the agent's language, built from
what the server recorded rather than the server's English sentence."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.support.api import create_agent, create_api_inbox, post_inbound

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_activity_lines_in_polish(server: Running, admin: httpx.AsyncClient) -> None:
    ola = await create_agent(admin, "ola@example.test", name="Ola")
    inbox = await create_api_inbox(admin, name="Sklep", members=[ola["id"]])
    cid = (await post_inbound(server.client(), inbox, text="Paczka?")).json()["conversation_id"]
    await admin.post(f"/api/conversations/{cid}/assignment", json={"assignee_id": ola["id"]})
    await admin.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
    async with app_page(server, login=True) as page:
        await page.evaluate("localStorage.setItem('switchboard.language', 'pl')")
        await page.goto(f"{server.base_url}/#/inbox/{cid}")
        await page.reload()
        lines = page.locator("li.activity span")
        await expect(lines.nth(0)).to_have_text("Przypisano do: Ola (przez: Admin (Ty))")
        await expect(lines.nth(1)).to_contain_text("Rozwiązane przez:")
        english = await admin.get(f"/api/conversations/{cid}/messages")
        assert any("Resolved by" in (m["text"] or "") for m in english.json()["items"])
