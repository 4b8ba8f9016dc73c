"""The inbox's countdown for a follow-up waiting on the next reply (docs/frt.md, NRT),
computed by the browser app's time module in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, async_playwright

from tests.conftest import Running
from tests.support.browser import launch_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
async def page(server: Running) -> AsyncIterator[Page]:
    async with async_playwright() as p:
        browser = await launch_chromium(p)
        page = await browser.new_page()
        await page.goto(server.base_url + "/web/css/app.css")  # same origin, no app running
        yield page
        await browser.close()


NOW = "Date.parse('2026-01-01T10:10:00Z')"
ANSWERED = "first_response_at: '2026-01-01T09:05:00Z', frt_seconds: 300"


@pytest.mark.parametrize(
    ("conversation", "expected"),
    [
        (
            f"{{{ANSWERED}, waiting_since: '2026-01-01T10:00:00Z',"
            " nrt_due_at: '2026-01-01T10:30:00Z'}",
            {"text": "Next reply 20m left", "level": "ok"},
        ),
        (
            f"{{{ANSWERED}, waiting_since: '2026-01-01T10:00:00Z',"
            " nrt_due_at: '2026-01-01T10:15:00Z'}",
            {"text": "Next reply 5m left", "level": "warn"},
        ),
        (
            f"{{{ANSWERED}, waiting_since: '2026-01-01T09:30:00Z',"
            " nrt_due_at: '2026-01-01T09:40:00Z'}",
            {"text": "Next reply overdue 30m", "level": "breach"},
        ),
        (
            f"{{{ANSWERED}, waiting_since: null, nrt_due_at: null}}",
            {"text": "FRT 5m", "level": "met"},
        ),
    ],
)
async def test_a_waiting_follow_up_shows_the_next_reply_countdown(
    page: Page, conversation: str, expected: dict[str, str]
) -> None:
    badge = await page.evaluate(
        f"""async () => {{
            const time = await import('/web/js/time.js');
            return time.slaBadge({conversation}, {NOW});
        }}"""
    )
    assert badge == expected
