"""Mentions and macros where agents write (docs/automation.md, Macros; Mentions and
notifications): `@` in a private note offers who can see the inbox, and a macro runs from
the conversation's "Run macro" control and from `/macro` in the composer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from server.actions import admin as admin_actions
from server.api import auth
from tests.conftest import Running
from tests.e2e.conftest import app_page, socket_live
from tests.routing.conftest import Agent
from tests.support.api import create_api_inbox, eventually, post_inbound

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with app_page(server, login=True) as opened:
        yield opened


async def _open(page: Page, server: Running, conversation: int) -> None:
    await page.goto(f"{server.base_url}/#/inbox/{conversation}")
    await page.reload()  # the directory (agents, teams) is read at start
    await socket_live(page)
    await expect(page.locator("#conv-title")).to_be_visible()


async def _options(page: Page) -> list[str]:
    return await page.locator("#canned-suggest li").all_inner_texts()


async def _agent(server: Running, handle: str, name: str) -> Agent:
    """An agent with a session token (no password: Argon2 would slow the setup)."""
    user = await admin_actions.create_user(
        server.ctx, email=f"{handle}@example.test", name=name, role="agent", password=None
    )
    token = await auth.issue_token(server.ctx, user["id"], "session", expires=timedelta(days=1))
    return Agent(user, token, server.client(token))


async def _mentions(agent: Agent) -> list[dict[str, Any]]:
    r = await agent.http.get("/api/notifications")
    assert r.status_code == 200, r.text
    return [n for n in r.json()["notifications"] if n["kind"] == "mention"]


async def test_at_completion_offers_who_sees_the_inbox_and_notifies_the_one_picked(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    ana = await _agent(server, "ana", "Ana Lima")
    await _agent(server, "anatole", "Anatole")  # not a member of the inbox: never offered
    r = await admin.post("/api/admin/teams", json={"name": "Tier two", "member_ids": [ana.id]})
    assert r.status_code == 201, r.text
    inbox = await create_api_inbox(admin, name="Support", members=[ana.id])
    conversation = (await post_inbound(admin, inbox, contact="c1", text="Hi")).json()[
        "conversation_id"
    ]
    await _open(page, server, conversation)
    text = page.locator("#composer-text")

    await text.fill("@an")  # a reply: mentions make no sense there, the list stays shut
    await text.press("End")
    await text.type("a")
    await expect(page.locator("#canned-suggest")).to_be_hidden()

    await page.click("#mode-note")
    await text.fill("")
    await text.type("Please look @")
    await expect(page.locator("#canned-suggest")).to_be_visible()
    offered = await _options(page)
    assert any("@ana-lima" in o for o in offered), offered
    assert any("@tier-two" in o for o in offered), offered
    assert not any("anatole" in o for o in offered), offered
    await text.type("t")  # narrows to the team; Escape closes, arrows move, Enter picks
    assert [o.split()[0] for o in await _options(page)] == ["@tier-two"]
    await text.press("Escape")
    await expect(page.locator("#canned-suggest")).to_be_hidden()
    await text.press("Backspace")
    await text.type("a")
    await expect(page.locator("#canned-suggest li")).to_have_count(1)
    await text.press("ArrowDown")
    await text.press("Enter")
    await expect(text).to_have_value("Please look @ana-lima ")
    await text.type("at this")
    await page.click("#send")
    await expect(page.locator("#thread")).to_contain_text("Please look @ana-lima at this")

    async def notified() -> bool:
        return len(await _mentions(ana)) == 1

    await eventually(notified)
    note = [
        m
        for m in (await admin.get(f"/api/conversations/{conversation}/messages")).json()["items"]
        if m["private"]
    ]
    assert [m["text"] for m in note] == ["Please look @ana-lima at this"]

    # with the mouse (or a finger): the option is clicked, not typed
    await text.type("@ti")
    await page.locator("#canned-suggest li", has_text="@tier-two").click()
    await expect(text).to_have_value("@tier-two ")


async def test_a_macro_runs_from_the_conversation_and_from_slash_macro(
    page: Page, server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Support")
    r = await admin.post(
        "/api/macros",
        json={
            "name": "Refund done",
            "visibility": "shared",
            "actions": [{"type": "add_label", "label": "refund"}],
        },
    )
    assert r.status_code == 201, r.text
    r = await admin.post("/api/macros", json={"name": "Close it", "actions": [{"type": "resolve"}]})
    assert r.status_code == 201, r.text
    conversation = (await post_inbound(admin, inbox, contact="c1", text="Hi")).json()[
        "conversation_id"
    ]
    await _open(page, server, conversation)

    await page.click("#macro-toggle")
    await expect(page.locator("#macro-menu")).to_contain_text("Refund done (shared)")
    await page.click("#macro-menu >> text=Refund done")
    await expect(page.locator("#macro-outcome")).to_have_text(
        "Macro “Refund done” done: added label refund."
    )
    got = (await admin.get(f"/api/conversations/{conversation}")).json()
    assert got["labels"] == ["refund"]
    await expect(page.locator("#thread")).to_contain_text("Macro 'Refund done' by Admin")

    text = page.locator("#composer-text")
    await text.type("/macro clo")
    await expect(page.locator("#canned-suggest li")).to_have_count(1)
    await expect(page.locator("#canned-suggest")).to_contain_text("/macro Close it")
    await text.press("Enter")
    await expect(page.locator("#conv-status")).to_have_text("resolved")
    await expect(page.locator("#macro-outcome")).to_have_text(
        "Macro “Close it” done: resolved the conversation."
    )
    await expect(text).to_have_value("")
    got = (await admin.get(f"/api/conversations/{conversation}")).json()
    assert got["status"] == "resolved"
