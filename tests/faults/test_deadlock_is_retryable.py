"""A deadlock (SQLSTATE 40P01) rolls the transaction back; the same request again
succeeds, so it is "unavailable now" (503 with Retry-After), not a 500. A real deadlock
on PostgreSQL: two transactions lock two rows in opposite orders."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from server.storage.db import async_url, unavailability


async def test_a_deadlock_counts_as_unavailable_now(postgres: Any) -> None:
    url = postgres.create_database("deadlock_check")
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (id int PRIMARY KEY, n int)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1, 0), (2, 0)"))
        first_locked, second_locked = asyncio.Event(), asyncio.Event()

        async def lock(first: int, second: int, mine: asyncio.Event, theirs: asyncio.Event) -> None:
            async with engine.begin() as conn:
                await conn.execute(sa.text(f"UPDATE t SET n = n + 1 WHERE id = {first}"))
                mine.set()
                await theirs.wait()
                await conn.execute(sa.text(f"UPDATE t SET n = n + 1 WHERE id = {second}"))

        results = await asyncio.gather(
            lock(1, 2, first_locked, second_locked),
            lock(2, 1, second_locked, first_locked),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1, results  # PostgreSQL broke the deadlock by rolling one back
        kind = unavailability(failures[0])
        assert kind is not None, repr(failures[0])
        # logged as what it is: a conflict to retry, not a database that did not answer
        assert kind.startswith("transaction rolled back by a conflict") and "40P01" in kind
    finally:
        await engine.dispose()
        postgres.drop_database("deadlock_check")
