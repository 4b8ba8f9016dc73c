"""Trend drill-down in Chromium (docs/reports.md, "Drill-down"): a tile, a bar and a
table cell of the Trends screen each list the conversations behind that figure; desktop
and phone, with screenshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from server.api import reports
from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.e2e.test_reports_trends_e2e import _record
from tests.support.api import create_agent, create_api_inbox

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.mark.parametrize(("width", "height", "name"), [(1440, 900, "desktop"), (390, 844, "phone")])
async def test_every_trend_figure_opens_its_conversations(
    server: Running, admin: httpx.AsyncClient, width: int, height: int, name: str
) -> None:
    await create_agent(admin, "ann@example.test", name="Ann")
    inbox = await create_api_inbox(admin, name="Shop", frt_targets={"default": 900})
    base = (datetime.now(UTC) - timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    records = [
        _record(i, base + timedelta(days=i % 3, hours=i % 4), 5 + 10 * (i % 3)) for i in range(9)
    ]
    done = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
    )
    ids = sorted(r["conversation_id"] for r in done.json()["results"])

    async with app_page(server, width=width, height=height, login=True) as page:
        await page.goto(f"{server.base_url}/#/reports/trends")
        await expect(page.locator("#kpi-new .value")).to_have_text("9")
        await expect(page.locator("#trend-drill")).to_contain_text("conversations behind it")

        await page.click("#kpi-new button.drill")  # the tile: the whole period
        await expect(page.locator("#trend-drill-card h2")).to_contain_text("(9)")
        links = page.locator("#trend-drill-table tbody a")
        await expect(links).to_have_count(9)
        shown = sorted([int((await links.nth(i).inner_text()).lstrip("#")) for i in range(9)])
        assert shown == ids

        # a table cell: FRT median of the first day with conversations
        cell = page.locator("table.data button.drill[data-figure='frt_median_seconds']")
        day = None
        for i in range(await cell.count()):
            if (await cell.nth(i).inner_text()) != "—":
                day = await cell.nth(i).get_attribute("data-bucket")
                await cell.nth(i).click()
                break
        assert day is not None
        shown_day = date.fromisoformat(day).strftime("%b %-d, %Y")  # as the reader's language
        await expect(page.locator("#trend-drill-card h2")).to_contain_text(shown_day)
        await expect(page.locator("#trend-drill-table tbody tr")).to_have_count(3)
        await expect(page.locator("#trend-drill-table tbody tr").first).to_contain_text("5m")

        # a bar of the volume chart (polled: the CSP forbids wait_for_function)
        await page.locator(
            f".chart rect.bar[data-figure='resolved'][data-bucket='{day}']"
        ).dispatch_event("click")
        for _ in range(100):
            text = await page.evaluate(
                "document.querySelector('#trend-drill-card h2')?.textContent || ''"
            )
            if "Resolved" in text or "resolved" in text:
                break
            await page.wait_for_timeout(100)
        await expect(page.locator("#trend-drill-card h2")).to_contain_text(shown_day)
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"reports-trends-drill-{name}.png"), full_page=True)
        wide = await page.evaluate(
            "[...document.querySelectorAll('#main *')].filter(e => !e.closest('.table-scroll') &&"
            " e.getBoundingClientRect().right > innerWidth + 1).map(e => e.tagName + '.' +"
            " e.className).slice(0, 5)"
        )
        assert not wide, f"wider than the screen: {wide}"


async def test_first_response_drill_asks_for_its_group_when_the_list_is_cut(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_agent(admin, "ann@example.test", name="Ann")
    inbox = await create_api_inbox(admin, name="Shop")
    base = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    records = [_record(i, base + timedelta(hours=i), 5 + i) for i in range(4)]
    done = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
    )
    ids = {r["conversation_id"] for r in done.json()["results"]}
    monkeypatch.setattr(reports, "LIST_LIMIT", 1)  # as a period of more than LIST_LIMIT would
    async with app_page(server, width=1440, height=900, login=True) as page:
        await page.goto(f"{server.base_url}/#/reports")
        table = page.locator("#frt-table-data")
        await expect(table).to_contain_text("Shop")
        await table.get_by_role("button", name="Conversations").first.click()
        card = page.locator("#drill-card")
        await expect(card.locator("h2")).to_contain_text("(4)")  # the group's figures: all four
        await expect(card).to_contain_text(
            "The first 1 of 4 are listed."
        )  # the list says it is cut
        await expect(card.locator("tbody a")).to_have_count(1)
        assert (await card.locator("tbody a").inner_text()).lstrip("#") in {str(i) for i in ids}
        assert "format=csv" in (await page.get_attribute("#report-csv", "href") or "")
