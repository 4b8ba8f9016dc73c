"""Reports → Trends and Satisfaction in Chromium, desktop and phone: figures with units,
the previous period, the heatmap, CSV links, and an admin turning surveys on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.support.api import create_agent, create_api_inbox

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
ANN = {"external_id": "ann", "email": "ann@example.test"}


def _record(n: int, at: datetime, minutes: int) -> dict[str, Any]:
    reply = at + timedelta(minutes=minutes)
    return {
        "external_id": f"t{n}",
        "contact": {"external_id": f"p{n}"},
        "events": [
            {"id": "1", "type": "message", "from": "customer", "at": at.isoformat(), "text": "?"},
            {"id": "2", "type": "message", "from": "agent", "agent": ANN, "at": reply.isoformat()},
            {
                "id": "3",
                "type": "status",
                "status": "resolved",
                "agent": ANN,
                "at": (reply + timedelta(minutes=5)).isoformat(),
            },
        ],
    }


@pytest.mark.parametrize(("width", "height", "name"), [(1360, 900, "desktop"), (390, 844, "phone")])
async def test_trends_and_satisfaction_screens(
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
    assert done.json()["created"] == 9, done.text

    async with app_page(server, width=width, height=height, login=True) as page:
        await page.goto(f"{server.base_url}/#/reports/trends")
        await expect(page.locator("#kpi-new .value")).to_have_text("9")
        await expect(page.locator("#kpi-sla_within_percent .value")).to_contain_text("%")
        await expect(page.locator("#trend-heatmap td.heat[data-level='4']").first).to_be_visible()
        assert "format=csv" in (await page.get_attribute("#trend-csv", "href") or "")
        SHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"reports-trends-{name}.png"), full_page=True)
        wide = await page.evaluate(
            "[...document.querySelectorAll('#main *')].filter(e => !e.closest('.table-scroll') &&"
            " e.getBoundingClientRect().right > innerWidth + 1).map(e => e.tagName + '.' +"
            " e.className).slice(0, 5)"
        )
        assert not wide, f"wider than the screen: {wide}"

        await page.select_option("#trend-interval", "week")
        await expect(page.locator("#trend-status")).to_have_text("")
        await page.fill("#trend-tz", "Mars/Base")
        await page.click("#trend-body ~ * button, form.filters button[type=submit]")
        await expect(page.locator("#trend-status")).to_contain_text("time zone")
        colors = await page.evaluate(
            "[getComputedStyle(document.querySelector('#trend-status')).color,"
            " getComputedStyle(document.body).color]"
        )
        assert colors[0] != colors[1], f"the refusal looks like body text: {colors}"

        await page.click("nav.report-tabs >> text=Customer satisfaction")
        await expect(page.locator("#csat-status")).to_contain_text("No surveys were sent")
        row = page.locator(f".csat-inbox[data-inbox='{inbox['id']}']")
        await row.locator("input[type=checkbox]").check()
        await row.locator("select").select_option("pl")
        await row.locator("button").click()
        await expect(row).to_contain_text("Saved.")
        await page.screenshot(path=str(SHOTS / f"reports-csat-{name}.png"), full_page=True)
    saved = (await admin.get(f"/api/admin/inboxes/{inbox['id']}/csat")).json()
    assert saved["enabled"] is True and saved["language"] == "pl"


async def test_an_empty_period_and_an_unanswered_one_say_so(
    server: Running, admin: httpx.AsyncClient
) -> None:
    """Nothing in the period: one empty state, not a table of zeros, and no zero or "—"
    figure that opens an empty list. Conversations but no reply yet: the volume chart is
    drawn, the first-response chart says there is nothing to chart (not an empty axis)."""
    inbox = await create_api_inbox(admin, name="Shop")
    async with app_page(server, width=1360, height=900, login=True) as page:
        await page.goto(f"{server.base_url}/#/reports/trends")
        await expect(page.locator("#trend-empty")).to_be_visible()
        await expect(page.locator("#trend-drill")).to_be_empty()
        assert await page.locator("#trend-body table.data").count() == 0
        assert await page.locator("#trend-body button.drill").count() == 0

        now = datetime.now(UTC) - timedelta(hours=2)
        records = [
            {
                "external_id": "waiting",
                "contact": {"external_id": "w"},
                "events": [
                    {"id": "1", "type": "message", "from": "customer", "at": now.isoformat()}
                ],
            }
        ]
        done = await admin.post(
            "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
        )
        assert done.json()["created"] == 1, done.text
        await page.click("form.filters button[type=submit]")
        await expect(page.locator("#kpi-new .value button.drill")).to_have_text("1")
        await expect(page.locator("#trend-body .chart-empty")).to_have_count(1)
        assert await page.locator("#kpi-frt_median_seconds button.drill").count() == 0


async def test_periods_read_as_dates_in_the_readers_language(
    server: Running, admin: httpx.AsyncClient
) -> None:
    """The chart's axis, the bars' tooltips and the table's period column name each bucket
    as a date in the reader's language ("15 lis" per day, "listopad 2026" per month),
    not as the API's ISO key ("11-15", "2026-11-01")."""
    inbox = await create_api_inbox(admin, name="Shop")
    at = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
    done = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": [_record(1, at, 5)]}
    )
    assert done.json()["created"] == 1, done.text
    async with app_page(server, login=True) as page:
        await page.evaluate("localStorage.setItem('switchboard.language', 'pl')")
        await page.goto(f"{server.base_url}/#/reports/trends")
        await page.reload()
        await page.fill("#trend-tz", "UTC")
        await page.fill("#trend-from", "2026-11-10")
        await page.fill("#trend-to", "2026-11-20")
        await page.click("form.filters button[type=submit]")
        period = page.locator("#trend-body table.data tbody tr td:first-child")
        await expect(period.first).to_contain_text("lis")  # listopad, in Polish
        cells = await period.all_inner_texts()
        assert not [c for c in cells if c[:4].isdigit() and "-" in c], cells  # no ISO keys
        axis = await page.locator("#trend-body svg.chart text.tick").all_text_contents()
        assert "15 lis" in axis, axis
        await page.select_option("#trend-interval", "month")
        await expect(period.first).to_contain_text("listopad 2026")
        await page.fill("#trend-tz", "Mars/Base")  # refused in Polish, not the server's English
        await page.click("form.filters button[type=submit]")
        await expect(page.locator("#trend-status")).to_have_text(
            "„Mars/Base” nie jest nazwą strefy czasowej (np. Europe/Warsaw)."
        )
