"""Watcher health changes reach admins as events at once; repeats do not."""

from __future__ import annotations

import asyncio

import httpx

from server.events.types import EventType
from tests.conftest import Running
from tests.support.api import create_api_inbox


async def test_health_changes_are_published_once_each(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    assert server.ctx.channels is not None
    sub = server.ctx.bus.subscribe()
    ready = getattr(sub, "ready", None)
    if ready is not None:
        await ready()
    reporter = server.ctx.channels.health.reporter(inbox["id"])
    reporter.report(connected=True, lag=0.5)
    reporter.report(connected=True, lag=1.0)  # no change that matters: no event
    reporter.report(connected=True, lag=120.0)  # lagging
    reporter.report(connected=False, error="connection refused")
    seen = []

    async def collect() -> None:
        async for item in sub:
            if item.event.type == EventType.INBOX_HEALTH:
                seen.append(item.event)
                if len(seen) == 3:
                    return

    await asyncio.wait_for(collect(), timeout=10)
    await sub.close()
    assert [(e.payload["health"]["connected"], e.payload["health"]["error"]) for e in seen] == [
        (True, None),
        (True, None),
        (False, "connection refused"),
    ]
    assert seen[1].payload["health"]["lag"] == 120.0
    assert all(e.audience == "admins" and e.inbox_id == inbox["id"] for e in seen)
    listed = (await admin.get("/api/admin/inboxes")).json()["items"]
    assert listed[0]["health"]["error"] == "connection refused"
