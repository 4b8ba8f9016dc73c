"""Trend drill-down (docs/reports.md, "Drill-down"): the conversations behind one figure
of one bucket are exactly the ones the figure counts."""

from __future__ import annotations

import httpx
import pytest

from server.api import reports
from tests.conftest import Running
from tests.imports.test_trends_api import _conversation
from tests.support.api import create_agent, create_api_inbox


async def test_each_trend_figure_lists_what_it_counts(
    server: Running, admin: httpx.AsyncClient
) -> None:
    await create_agent(admin, "ann@example.test", name="Ann")
    inbox = await create_api_inbox(admin, name="Shop", frt_targets={"default": 900})
    records = [
        _conversation(1, "2026-01-05", 10, True),  # Monday: 10 min, within the 15 min target
        _conversation(2, "2026-01-05", 30, True),  # Monday: 30 min, missed
        _conversation(3, "2026-01-06", 5, False),  # Tuesday: 5 min
        _conversation(4, "2026-01-03", 20, True),  # before the period
    ]
    imported = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
    )
    ids = {r["external_id"]: r["conversation_id"] for r in imported.json()["results"]}
    params = {
        "from": "2026-01-05T00:00:00+01:00",
        "to": "2026-01-08T00:00:00+01:00",
        "interval": "day",
        "tz": "Europe/Warsaw",
        "inbox_id": inbox["id"],
    }
    report = (await admin.get("/api/reports/trends", params=params)).json()
    url = "/api/reports/trends/conversations"

    async def drill(figure: str, bucket: str | None = None) -> dict:  # type: ignore[type-arg]
        extra = {"figure": figure, **({"bucket": bucket} if bucket else {})}
        r = await admin.get(url, params={**params, **extra})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    monday = await drill("frt_median_seconds", "2026-01-05")
    assert [i["conversation_id"] for i in monday["items"]] == [ids["c1"], ids["c2"]]
    assert [i["value"] for i in monday["items"]] == [600.0, 1800.0]
    assert monday["unit"] == "seconds" and monday["total"] == 2 and not monday["truncated"]
    sla = await drill("sla_within_percent", "2026-01-05")
    assert [i["within"] for i in sla["items"]] == [True, False]
    resolved = await drill("resolved", "2026-01-05")
    assert {i["conversation_id"] for i in resolved["items"]} == {ids["c1"], ids["c2"]}
    assert [i["value"] for i in resolved["items"]] == [3600.0, 3600.0]
    for bucket in report["series"]:
        for figure in ("new", "resolved", "segments", "reopened", "csat_answers"):
            behind = await drill(figure, bucket["start"])
            assert behind["total"] == bucket[figure], (figure, bucket["start"])
    whole = await drill("new")  # a KPI tile: the whole period
    assert whole["total"] == report["totals"]["new"] == 3
    weekly = await drill("new", "2026-01-05")
    assert weekly["total"] == 2

    for bad in ({"figure": "nonsense"}, {"figure": "new", "bucket": "Monday"},
                {"figure": "new", "bucket": "2026-01-06", "interval": "week"}):  # fmt: skip
        r = await admin.get(url, params={**params, **bad})
        assert r.status_code == 422, (bad, r.text)

    agent = await server.login("ann@example.test", "agent-password-1")  # not a member
    hidden = await agent.get(url, params={**params, "figure": "new"})
    assert hidden.status_code in (200, 403, 404)
    if hidden.status_code == 200:
        assert hidden.json()["items"] == []


async def test_frt_report_lists_one_group_when_the_period_is_long(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await create_agent(admin, "ann@example.test", name="Ann")
    inbox = await create_api_inbox(admin, name="Shop")
    records = [_conversation(n, "2026-01-05", 10 + n, True) for n in range(1, 4)]
    records.append(
        {"external_id": "c9", "contact": {"external_id": "p9"},
         "events": [{"id": "1", "type": "message", "from": "customer",
                     "at": "2026-01-05T09:00:00Z", "text": "?"}]}
    )  # fmt: skip
    await admin.post("/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records})
    monkeypatch.setattr(reports, "LIST_LIMIT", 1)
    params = {"from": "2026-01-01", "to": "2026-02-01", "group_by": "agent"}
    report = (await admin.get("/api/reports/frt", params=params)).json()
    assert report["segments_truncated"] is True and len(report["segments"]) == 1
    counts = {g["key"]: g["count"] for g in report["groups"]}
    assert counts == {ann["id"]: 3, None: 1}  # the figures cover every segment
    mine = (await admin.get("/api/reports/frt", params={**params, "group_key": ann["id"]})).json()
    assert mine["segments_truncated"] is True  # still one per answer, but only Ann's
    monkeypatch.setattr(reports, "LIST_LIMIT", 10)
    mine = (await admin.get("/api/reports/frt", params={**params, "group_key": ann["id"]})).json()
    assert {s["responder_id"] for s in mine["segments"]} == {ann["id"]}
    assert len(mine["segments"]) == 3 and mine["segments_truncated"] is False
    nobody = (await admin.get("/api/reports/frt", params={**params, "group_key": "none"})).json()
    assert [s["responder_id"] for s in nobody["segments"]] == [None]
    bad = await admin.get("/api/reports/frt", params={**params, "group_key": "ann"})
    assert bad.status_code == 422
