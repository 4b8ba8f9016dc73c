"""The agent sees a continuity email's status under the chat reply, live (Chromium)."""

from __future__ import annotations

import os
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import expect

from server.storage.schema import utcnow
from server.widget.continuity import sweep
from tests.conftest import Running
from tests.e2e.conftest import app_page, socket_live
from tests.support.ports import free_port
from tests.widget.test_continuity_outbox import ScriptedSmtp, serve, unseen_reply

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


async def test_a_refused_continuity_email_is_shown_under_the_reply_with_the_reason(
    server: Running, admin: httpx.AsyncClient
) -> None:
    smtp_port = free_port()
    controller = serve(ScriptedSmtp("550 5.1.1 mailbox unavailable"), smtp_port)
    try:
        conv, reply = await unseen_reply(server, admin, smtp_port)
        async with app_page(server, login=True) as page:
            await page.goto(f"{server.base_url}/#/inbox/{conv}")
            await socket_live(page)
            line = page.locator(f"li.msg[data-id='{reply['id']}'] .email-continuity")
            await expect(line).to_have_count(0)  # nothing promised before it is queued
            assert await sweep(server.ctx, utcnow() + timedelta(minutes=4)) == 1
            await expect(line).to_have_text(
                "The email to visitor@example.test was not sent: "
                "SMTP server answered 550 5.1.1 mailbox unavailable",
                timeout=30_000,
            )
            if os.environ.get("SWITCHBOARD_SHOTS"):
                await page.screenshot(path=os.environ["SWITCHBOARD_SHOTS"])
    finally:
        controller.stop()
