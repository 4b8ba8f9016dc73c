"""Report rollups (docs/reports.md, "How reports stay fast"): figures read from the daily
rollups equal the figures computed from the stored rows (counts exactly, percentiles
within the documented bound), and a rewrite of history leaves the rollups exactly as a
rebuild from the rows would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.reporting import rollup
from server.storage.rollup_schema import report_rollups
from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound

HOURS = {
    "timezone": "Europe/Warsaw",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
}
ANN = {"external_id": "ann", "email": "ann@example.test"}
BOB = {"external_id": "bob", "email": "bob@example.test"}


def _conversation(n: int) -> dict[str, Any]:
    """Spread over ten days, replies after 1 to 500 minutes, some resolved, some followed up."""
    day = 3 + n % 10
    hour = 5 + (n * 7) % 14
    wait = 1 + (n * 37) % 500
    at = f"2026-01-{day:02d}T{hour:02d}:00:00Z"
    agent = ANN if n % 3 else BOB

    def later(minutes: int) -> str:
        h, m = divmod(hour * 60 + minutes, 60)
        d, h = divmod(h, 24)
        return f"2026-01-{day + d:02d}T{h:02d}:{m:02d}:00Z"

    events: list[dict[str, Any]] = [
        {"id": "1", "type": "message", "from": "customer", "at": at, "text": "?"},
    ]
    if n % 7:
        events.append(
            {"id": "2", "type": "message", "from": "agent", "agent": agent, "text": "!",
             "at": later(wait)}
        )  # fmt: skip
        if n % 4 == 0:
            events.append(
                {"id": "3", "type": "message", "from": "customer", "at": later(wait + 3),
                 "text": "and?"}
            )  # fmt: skip
            events.append(
                {"id": "4", "type": "message", "from": "agent", "agent": agent, "text": "so",
                 "at": later(wait + 3 + n % 50)}
            )  # fmt: skip
        if n % 2:
            events.append(
                {"id": "5", "type": "status", "status": "resolved", "agent": agent,
                 "at": later(wait + 60 + n)}
            )  # fmt: skip
    return {"external_id": f"c{n}", "contact": {"external_id": f"p{n}"}, "events": events}


async def _setup(admin: httpx.AsyncClient, count: int) -> dict[str, Any]:
    await create_agent(admin, "ann@example.test", name="Ann")
    await create_agent(admin, "bob@example.test", name="Bob")
    inbox = await create_api_inbox(admin, name="Shop")
    settings = {"business_hours": HOURS, "frt_targets": {"default": 3600}}
    assert (
        await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json=settings)
    ).status_code == 200
    records = [_conversation(n) for n in range(count)]
    imported = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
    )
    assert imported.status_code == 200, imported.text
    return inbox


def _close(exact: Any, fast: Any, where: str) -> None:
    """Counts equal; seconds within 1 s below a minute, else 3 % (plus rounding)."""
    if isinstance(exact, dict):
        assert set(exact) == set(fast), where
        for key in exact:
            _close(exact[key], fast[key], f"{where}.{key}")
    elif isinstance(exact, list):
        assert len(exact) == len(fast), where
        for i, (a, b) in enumerate(zip(exact, fast, strict=True)):
            _close(a, b, f"{where}[{i}]")
    elif isinstance(exact, float) and isinstance(fast, float) and "seconds" in where:
        assert abs(exact - fast) <= max(1.0, 0.03 * exact) + 0.1, (where, exact, fast)
    elif where.endswith(("median", "p90", "mean")) and exact is not None:
        assert fast is not None, where
        assert abs(exact - fast) <= max(1.0, 0.03 * exact) + 0.1, (where, exact, fast)
    else:
        assert exact == fast, (where, exact, fast)


async def test_rollup_figures_equal_the_rows(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = await _setup(admin, 60)
    asks: list[tuple[str, dict[str, Any]]] = []
    for interval in ("day", "week"):
        asks.append(
            (
                "/api/reports/trends",
                {
                    "from": "2026-01-04T06:30:00Z",
                    "to": "2026-01-12T15:00:00Z",
                    "interval": interval,
                    "inbox_id": inbox["id"],
                },
            )
        )
    asks.append(
        ("/api/reports/trends", {"from": "2025-12-30", "to": "2026-01-20", "tz": "Europe/Warsaw"})
    )
    for by in ("inbox", "channel", "agent", "team"):
        for path in ("/api/reports/frt", "/api/reports/nrt"):
            asks.append(
                (path, {"from": "2026-01-03T10:00:00Z", "to": "2026-01-11", "group_by": by})
            )
    exact = [(await admin.get(path, params=params)).json() for path, params in asks]
    monkeypatch.setattr(rollup, "EXACT_MAX", -1)  # every report from the rollups now
    fast = [(await admin.get(path, params=params)).json() for path, params in asks]
    for (path, params), a, b in zip(asks, exact, fast, strict=True):
        a.pop("segments_truncated", None), b.pop("segments_truncated", None)
        a.pop("waits_truncated", None), b.pop("waits_truncated", None)
        _close(a, b, f"{path} {params}")
    totals = exact[0]["totals"]
    assert totals["segments"] > 30 and totals["frt_median_seconds"] is not None  # not vacuous
    assert any(g["count"] > 0 for g in exact[-2]["groups"])


async def _snapshot(server: Running) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    async with server.ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(report_rollups))).all()
    out = {}
    for x in rows:
        m = x._mapping
        hist = tuple(m[f"h{i}"] for i in range(rollup.BUCKETS))
        if x.n or abs(x.total) > 1e-6 or any(hist):
            out[(x.inbox_id, x.grain, x.dim, x.day, x.key, x.metric)] = (
                x.n, round(x.total, 3), hist)  # fmt: skip
    return out


async def test_rewrites_subtract_what_they_replace(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await _setup(admin, 12)
    # the time zone changed: the inbox's days are rebuilt in the new zone
    moved = {**HOURS, "timezone": "America/New_York"}
    url = f"/api/admin/inboxes/{inbox['id']}"
    assert (await admin.patch(url, json={"business_hours": moved})).status_code == 200
    # live traffic: a segment answered, resolved, reopened, answered, followed up, answered
    await create_agent(admin, "hana@example.test", name="Hana")
    agent = await server.login("hana@example.test", "agent-password-1")
    first = await post_inbound(server.client(), inbox, text="where is my order")
    cid = int(first.json()["conversation_id"])
    url = f"/api/conversations/{cid}/messages"
    await agent.post(url, json={"text": "on its way"})
    await agent.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
    await post_inbound(server.client(), inbox, text="it is broken")
    await agent.post(url, json={"text": "sorry"})
    await post_inbound(server.client(), inbox, text="and?")
    await agent.post(url, json={"text": "a new one ships today"})
    # history rewritten: imported events dated before what was folded (a replay)
    again = [_conversation(n) for n in range(12)]
    for record in again:
        record["events"].insert(
            0, {"id": "0", "type": "message", "from": "customer", "text": "hello",
                "at": record["events"][0]["at"][:11] + "01:00:00Z"}
        )  # fmt: skip
    assert (
        await admin.post(
            "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": again}
        )
    ).status_code == 200
    # a calendar change in the same zone: waiting conversations are recomputed
    await post_inbound(server.client(), inbox, text="one more")
    later = {**moved, "weekly": {"mon": [["08:00", "12:00"]]}}
    patched = await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json={"business_hours": later})
    assert patched.status_code == 200
    await agent.post(url, json={"text": "answered"})
    kept = await _snapshot(server)
    async with server.ctx.db.write() as conn:
        await conn.run_sync(rollup.rebuild)
    rebuilt = await _snapshot(server)
    assert kept == rebuilt
    segments = [v[0] for k, v in kept.items() if k[1:3] == ("d", "inbox") and k[5] == "seg"]
    assert sum(segments) >= 13  # twelve imported, one live (reopened: two segments)


def _spread_conversation(n: int) -> dict[str, Any]:
    """Every other day from mid-February to November 2026, at hours around the clock (both
    DST changes of Europe/Warsaw inside), replies after 1 to 500 minutes."""
    at = datetime(2026, 2, 15, tzinfo=UTC) + timedelta(days=2 * n + n % 2, hours=(n * 5) % 24)
    agent = ANN if n % 3 else BOB

    def iso(minutes: int) -> str:
        return (at + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    wait = 1 + (n * 37) % 500
    events: list[dict[str, Any]] = [
        {"id": "1", "type": "message", "from": "customer", "at": iso(0), "text": "?"},
    ]
    if n % 7:
        events.append(
            {"id": "2", "type": "message", "from": "agent", "agent": agent, "text": "!",
             "at": iso(wait)}
        )  # fmt: skip
        if n % 4 == 0:
            events.append(
                {"id": "3", "type": "message", "from": "customer", "at": iso(wait + 3),
                 "text": "and?"}
            )  # fmt: skip
            events.append(
                {"id": "4", "type": "message", "from": "agent", "agent": agent, "text": "so",
                 "at": iso(wait + 3 + n % 50)}
            )  # fmt: skip
        if n % 2:
            events.append(
                {"id": "5", "type": "status", "status": "resolved", "agent": agent,
                 "at": iso(wait + 60 + 30 * n)}
            )  # fmt: skip
    return {"external_id": f"s{n}", "contact": {"external_id": f"q{n}"}, "events": events}


async def test_trends_over_months_and_dst_equal_the_rows(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trends read whole local months from the month rows, the totals of this and the
    previous period at the coarsest grain that fits, and the heatmap per weekday: the
    figures equal the rows' (counts exactly) across month edges and both DST changes, and
    the totals and heatmap are the same whatever the interval."""
    await create_agent(admin, "ann@example.test", name="Ann")
    await create_agent(admin, "bob@example.test", name="Bob")
    inbox = await create_api_inbox(admin, name="Shop")
    settings = {"business_hours": HOURS, "frt_targets": {"default": 3600}}
    assert (
        await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json=settings)
    ).status_code == 200
    records = [_spread_conversation(n) for n in range(140)]
    imported = await admin.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": records}
    )
    assert imported.status_code == 200, imported.text
    periods = [
        # partial days and months at both ends, DST start (29 Mar) and end (25 Oct) inside;
        # the previous period starts mid-January
        ("2026-03-10T05:00:00Z", "2026-10-27T13:00:00Z"),
        # whole local months only (summer time at both ends)
        ("2026-04-01T00:00:00+02:00", "2026-09-01T00:00:00+02:00"),
        # from the first of a month to the middle of one, across the spring change
        ("2026-03-01T00:00:00+01:00", "2026-04-17T00:00:00+02:00"),
        # late evening to early morning: the partial days from their rows (the periods
        # above: their day rows less the part outside)
        ("2026-05-04T19:30:00Z", "2026-08-20T03:00:00Z"),
        # partial days whose parts outside the period hold conversations (03:00 on
        # 7 March, 22:00 on 21 October, Warsaw)
        ("2026-03-07T06:00:00Z", "2026-10-21T12:00:00Z"),
    ]
    asks: list[dict[str, Any]] = []
    for lo, hi in periods:
        for interval in ("day", "week", "month"):
            asks.append({"from": lo, "to": hi, "interval": interval, "tz": "Europe/Warsaw"})
    url = "/api/reports/trends"
    exact = [(await admin.get(url, params=params)).json() for params in asks]
    monkeypatch.setattr(rollup, "EXACT_MAX", -1)  # every report from the rollups now
    fast = [(await admin.get(url, params=params)).json() for params in asks]
    for params, a, b in zip(asks, exact, fast, strict=True):
        _close(a, b, f"{url} {params}")
    # the FRT and NRT groups over the same periods: a month mostly inside the period is
    # its month row less the days outside, the others their days
    groups = [
        (path, {"from": lo, "to": hi, "group_by": by})
        for lo, hi in periods
        for path in ("/api/reports/frt", "/api/reports/nrt")
        for by in ("agent", "inbox")
    ]
    monkeypatch.setattr(rollup, "EXACT_MAX", 10**9)
    exact_groups = [(await admin.get(path, params=params)).json() for path, params in groups]
    monkeypatch.setattr(rollup, "EXACT_MAX", -1)
    for (path, params), a in zip(groups, exact_groups, strict=True):
        b = (await admin.get(path, params=params)).json()
        for part in (a, b):
            for extra in ("segments_truncated", "waits_truncated"):
                part.pop(extra, None)
        _close(a, b, f"{path} {params}")
        assert sum(g["count"] for g in a["groups"]) > 3
    for i in range(0, len(asks), 3):  # day, week and month of one period
        for j in (i + 1, i + 2):
            for part in ("totals", "previous", "heatmap"):
                assert fast[i][part] == fast[j][part], (asks[j], part)
    assert exact[0]["totals"]["segments"] > 80 and exact[0]["previous"]["segments"] > 10
    assert exact[0]["totals"]["resolved"] > 30 and exact[0]["totals"]["nrt_p90_seconds"]
    assert len(exact[2]["series"]) == 8 and len(exact[1]["series"]) > 30
