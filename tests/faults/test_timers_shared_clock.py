"""Snoozes and SLA alarms come due by the shared clock, not by one node's wall clock.

A node whose wall clock stepped an hour ahead (the chaos suite's clock_jump) woke every
snooze ending within the hour and fired every SLA alarm due within the hour, for good (an
alarm fires once). On PostgreSQL the timer work now asks the database's clock; on SQLite
there is one node, whose clock is the only one (server/storage/shared_clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from server.actions import conversations, sla
from server.storage import schema as t
from server.storage import shared_clock
from server.storage.schema import utcnow
from tests.conftest import Running
from tests.support.api import create_api_inbox, post_inbound

JUMP = timedelta(hours=1)


async def test_a_node_an_hour_ahead_neither_wakes_snoozes_nor_fires_alarms_early(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = await create_api_inbox(admin)
    for contact in ("snoozer", "waiter"):
        await post_inbound(server.client(), inbox, text="hello", contact=contact)
    items = (await admin.get("/api/conversations")).json()["items"]
    snoozed, waiting = items[0]["id"], items[1]["id"]
    in_half_an_hour = utcnow() + timedelta(minutes=30)
    done = await admin.post(
        f"/api/conversations/{snoozed}/status",
        json={"status": "snoozed", "snoozed_until": in_half_an_hour.isoformat()},
    )
    assert done.status_code == 200, done.text
    c = t.conversations.c
    async with server.ctx.db.write() as conn:  # an FRT breach due in half an hour
        await conn.execute(
            sa.update(t.conversations)
            .where(c.id == waiting)
            .values(
                sla_warn_at=in_half_an_hour - timedelta(minutes=5),
                sla_due_at=in_half_an_hour,
                sla_warned_at=None,
                sla_breached_at=None,
            )
        )

    ahead = lambda: datetime.now(UTC) + JUMP  # noqa: E731
    for module in (conversations, sla, shared_clock):
        monkeypatch.setattr(module, "utcnow", ahead, raising=False)
    woken = await conversations.wake_snoozed(server.ctx)
    fired = await sla.mark_breaches(server.ctx)
    monkeypatch.undo()

    async with server.ctx.db.read() as conn:
        row = (await conn.execute(sa.select(t.conversations).where(c.id == snoozed))).one()
        alarm = (await conn.execute(sa.select(t.conversations).where(c.id == waiting))).one()
    if server.ctx.db.is_sqlite:  # one node: its clock is the clock
        assert (woken, fired, row.status) == (1, 1, "open")  # the breach (the warning
        assert alarm.sla_breached_at is not None  # is skipped once past the deadline)
    else:
        assert (woken, fired, row.status) == (0, 0, "snoozed")
        assert alarm.sla_warned_at is None and alarm.sla_breached_at is None
