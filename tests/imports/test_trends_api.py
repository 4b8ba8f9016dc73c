"""GET /api/reports/trends over imported history with hand-computed figures (docs/reports.md)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox

ANN = {"external_id": "ann", "email": "ann@example.test"}


def _conversation(n: int, day: str, wait_minutes: int, resolve: bool) -> dict[str, Any]:
    events: list[dict[str, Any]] = [
        {"id": "1", "type": "message", "from": "customer", "at": f"{day}T08:00:00Z", "text": "?"},
        {
            "id": "2",
            "type": "message",
            "from": "agent",
            "agent": ANN,
            "text": "!",
            "at": f"{day}T08:{wait_minutes:02d}:00Z",
        },
    ]
    if resolve:
        events.append(
            {
                "id": "3",
                "type": "status",
                "status": "resolved",
                "agent": ANN,
                "at": f"{day}T09:00:00Z",
            }
        )
    return {"external_id": f"c{n}", "contact": {"external_id": f"p{n}"}, "events": events}


async def test_daily_trend_with_previous_period_heatmap_and_csv(
    server: Running, admin: httpx.AsyncClient
) -> None:
    await create_agent(admin, "ann@example.test", name="Ann")
    inbox = await create_api_inbox(admin, name="Shop", frt_targets={"default": 900})
    records = [
        _conversation(1, "2026-01-05", 10, True),  # Monday: 10 min, within 15 min target
        _conversation(2, "2026-01-05", 30, True),  # Monday: 30 min, missed
        _conversation(3, "2026-01-06", 5, False),  # Tuesday: 5 min
        _conversation(4, "2026-01-03", 20, True),  # the three days before
    ]
    imported = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
    )
    assert imported.json()["created"] == 4, imported.text
    params = {
        "from": "2026-01-05T00:00:00+01:00",
        "to": "2026-01-08T00:00:00+01:00",
        "interval": "day",
        "tz": "Europe/Warsaw",
        "inbox_id": inbox["id"],
    }
    report = (await admin.get("/api/reports/trends", params=params)).json()
    assert [b["start"] for b in report["series"]] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    monday, tuesday, wednesday = report["series"]
    assert (monday["new"], monday["resolved"], monday["frt_median_seconds"]) == (2, 2, 1200.0)
    assert monday["sla_within_percent"] == 50.0 and monday["resolution_median_seconds"] == 3600.0
    assert (tuesday["new"], tuesday["resolved"], tuesday["frt_median_seconds"]) == (1, 0, 300.0)
    assert wednesday["new"] == 0 and wednesday["frt_median_seconds"] is None
    assert report["totals"]["new"] == 3 and report["totals"]["sla_within_percent"] == 66.7
    assert report["previous"]["new"] == 1 and report["previous"]["frt_median_seconds"] == 1200.0
    assert report["heatmap"][0][9] == 2 and report["heatmap"][1][9] == 1  # 08:00 UTC = 09:00

    csv_text = (await admin.get("/api/reports/trends", params={**params, "format": "csv"})).text
    assert csv_text.splitlines()[0].startswith("start,new,")
    assert csv_text.splitlines()[1].startswith("2026-01-05,2,")

    for bad in (
        {"tz": "Mars/Base"},
        {"interval": "hour"},
        {"from": "soon"},
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"from": "0001-01-01", "to": "9999-12-31"},  # the previous period once overflowed: 500
    ):
        r = await admin.get("/api/reports/trends", params={**params, **bad})
        assert r.status_code == 422, (bad, r.text)
