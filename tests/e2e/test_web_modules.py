"""The browser app's pure modules (store, time, socket backoff) called directly in Chromium:
idempotent, version-ordered application of events, and the countdown texts agents read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

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


async def run(page: Page, body: str) -> Any:
    return await page.evaluate(f"""async () => {{
        const store = await import('/web/js/store.js');
        const time = await import('/web/js/time.js');
        const socket = await import('/web/js/socket.js');
        {body}
    }}""")


async def test_events_apply_once_and_never_go_back_in_version(page: Page) -> None:
    result = await run(
        page,
        """
        const s = new store.Store();
        const changes = [];
        s.subscribe((c) => changes.push(c.kind));
        const conv = (version, status) => ({ type: 'conversation.updated',
            payload: { conversation: { id: 7, version, status, contact_id: 1 } } });
        const applied = [conv(2, 'open'), conv(2, 'open'), conv(1, 'resolved'), conv(3, 'snoozed')]
            .map((e) => store.applyEvent(s, e));
        const msg = { id: 5, conversation_id: 7, version: 1, kind: 'message', text: 'a' };
        const m1 = store.applyEvent(s, { type: 'message.created', payload: { message: msg } });
        const m2 = store.applyEvent(s, { type: 'message.created', payload: { message: msg } });
        return { applied, status: s.conversations.get(7).status, m: [m1, m2],
                 messages: s.messagesOf(7).length, changes };
    """,
    )
    assert result["applied"] == [True, False, False, True]
    assert result["status"] == "snoozed"
    assert result["m"] == [True, False]
    assert result["messages"] == 1
    assert result["changes"] == ["conversation", "conversation", "message"]


# One browser for the whole table: a server + Chromium per row would cost seconds each.
CASES: list[tuple[str, Any]] = [
    ("time.formatDuration(42)", "42s"),
    ("time.formatDuration(125)", "2m"),
    ("time.formatDuration(3 * 3600 + 5 * 60)", "3h 05m"),
    ("time.formatDuration(50 * 3600)", "2d 2h"),
    ("time.formatDuration(-5)", "0s"),
    (
        "time.slaBadge({sla_due_at: '2026-01-01T10:30:00Z', waiting_since: '2026-01-01T10:00:00Z'},"
        " Date.parse('2026-01-01T10:25:00Z'))",
        {"text": "SLA 5m left", "level": "warn"},
    ),
    (
        "time.slaBadge({sla_due_at: '2026-01-01T10:30:00Z', waiting_since: '2026-01-01T10:00:00Z'},"
        " Date.parse('2026-01-01T10:00:00Z'))",
        {"text": "SLA 30m left", "level": "ok"},
    ),
    (
        "time.slaBadge({sla_due_at: '2026-01-01T10:30:00Z', waiting_since: '2026-01-01T10:00:00Z'},"
        " Date.parse('2026-01-01T10:32:00Z'))",
        {"text": "SLA overdue 2m", "level": "breach"},
    ),
    (
        "time.slaBadge({first_response_at: '2026-01-01T10:04:00Z', frt_seconds: 240}, 0)",
        {"text": "FRT 4m", "level": "met"},
    ),
    ("time.slaBadge({}, 0)", None),
    ("[0, 1, 2, 10].map((n) => socket.backoffDelay(n) <= 15000)", [True, True, True, True]),
]


async def test_pure_helpers(page: Page) -> None:
    for expr, expected in CASES:
        assert await run(page, f"return {expr};") == expected, expr
