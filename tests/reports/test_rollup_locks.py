"""Rollup writes cannot deadlock (docs/reports.md, "How reports stay fast"): a transaction's
rollup changes are staged and written once before its commit, in primary-key order. Two
transactions that change the same rollup rows in opposite orders (two group commits whose
units came in different orders; a segment and a wait) wait for each other on real
PostgreSQL instead of one being rolled back as a deadlock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from server.actions._tx import transaction
from server.reporting import rollup
from server.storage.db import Database
from server.storage.migrations import migrate
from server.storage.rollup_schema import report_rollups

WARSAW = ZoneInfo("Europe/Warsaw")


def _segment(day: int, seconds: float) -> dict[str, Any]:
    return {
        "started_at": datetime(2026, 3, day, 10, tzinfo=UTC), "idx": 0, "responder_id": 7,
        "team_id": 2, "wall_seconds": seconds, "business_seconds": seconds,
        "target_seconds": 600.0, "resolution_seconds": None, "resolved_at": None,
    }  # fmt: skip


async def test_opposite_orders_wait_instead_of_deadlocking(postgres: Any) -> None:
    db = Database(postgres.create_database("rollup_locks"))
    try:
        await migrate(db)
        ctx = SimpleNamespace(db=db)
        first_done, second_done = asyncio.Event(), asyncio.Event()

        async def write(a: int, b: int, mine: asyncio.Event, theirs: asyncio.Event) -> None:
            async with transaction(ctx) as tx:  # type: ignore[arg-type]
                await rollup.apply(tx, a, WARSAW, [], rollup.cycle_entries(_segment(3, 60)))
                # a second statement between the two changes: the other transaction
                # has made its first change by now
                await tx.conn.execute(sa.select(1))
                mine.set()
                await theirs.wait()
                await rollup.apply(tx, b, WARSAW, [], rollup.cycle_entries(_segment(3, 90)))

        results = await asyncio.wait_for(
            asyncio.gather(
                write(1, 2, first_done, second_done),
                write(2, 1, second_done, first_done),
                return_exceptions=True,
            ),
            timeout=60,
        )
        assert [r for r in results if isinstance(r, BaseException)] == [], results
        async with db.read() as conn:
            r = report_rollups.c
            rows = (
                await conn.execute(
                    sa.select(r.inbox_id, r.n).where(
                        r.grain == "d", r.dim == "inbox", r.metric == "seg"
                    )
                )
            ).all()
        assert sorted((int(i), int(n)) for i, n in rows) == [(1, 2), (2, 2)]
    finally:
        await db.dispose()
        postgres.drop_database("rollup_locks")
