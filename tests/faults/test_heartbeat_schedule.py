"""A node's heartbeat keeps its own schedule whatever its timer work costs.

It used to share the one-second tick loop with snooze and SLA work: on a loaded machine that
work delayed the beat past NODE_DEAD_AFTER, another node took this node's in-flight outbox
claims for a dead node's, and the delivery went out twice (the chaos run's SMTP phase saw a
mail accepted twice). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.storage import schema as t
from server.workers import timers
from tests.conftest import make_settings, start_server


async def test_the_heartbeat_beats_while_timer_work_hangs(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = asyncio.Event()

    async def hanging_sla_work(ctx: object) -> None:  # slow work, not the thing under test
        stuck.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(timers.sla, "mark_breaches", hanging_sla_work)
    monkeypatch.setattr(timers, "HEARTBEAT_SECONDS", 0.3)
    running = await start_server(make_settings(tmp_path, database_url))
    try:
        await asyncio.wait_for(stuck.wait(), timeout=30)
        beats: list[datetime] = []
        for _ in range(40):
            async with running.ctx.db.read() as conn:
                seen = (
                    await conn.execute(
                        sa.select(t.nodes.c.seen_at).where(
                            t.nodes.c.node_id == running.ctx.incarnation
                        )
                    )
                ).scalar()
            if seen is not None and (not beats or seen > beats[-1]):
                beats.append(seen)
            if len(beats) >= 4:
                break
            await asyncio.sleep(0.25)
        assert len(beats) >= 4, f"the heartbeat stopped while timer work hung: {beats}"
    finally:
        await running.stop()
