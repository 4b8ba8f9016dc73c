"""Unit of work: one write transaction plus the events it records."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.context import AppContext
from server.events.types import EPHEMERAL, Event
from server.exceptions import DatabaseUnavailable
from server.log_throttle import Throttle
from server.metrics import EVENTS_PUBLISHED
from server.reporting import rollup
from server.storage import schema as t
from server.storage.db import unavailability
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
_throttled = Throttle(log)
T = TypeVar("T")
_INSERT_EVENTS = t.events.insert()
_INSERT_EVENTS_RETURNING = t.events.insert().returning(t.events.c.id, sort_by_parameter_order=True)


@dataclass
class Tx:
    conn: AsyncConnection
    events: list[Event] = field(default_factory=list)
    after_commit: list[Any] = field(default_factory=list)  # zero-arg callables
    rollups: dict[int, Any] = field(default_factory=dict)  # staged: rollup.apply / flush
    # reads that cannot change within this transaction (active rules), shared by the
    # units of one group commit
    memo: dict[Any, Any] = field(default_factory=dict)

    pending: list[Event] = field(default_factory=list)

    async def emit(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        inbox_id: int | None = None,
        conversation_id: int | None = None,
        audience: str = "agents",
    ) -> None:
        """Record an event in this transaction; it is published after commit.

        Rows are written in one batch just before commit (``flush_events``): one INSERT
        per transaction instead of one per event.
        """
        if type in EPHEMERAL:
            raise ValueError(f"{type} is ephemeral: publish it directly, do not store it")
        self.pending.append(
            Event(type, _jsonable(payload), inbox_id, conversation_id, audience=audience)
        )

    async def flush_events(self) -> None:
        if not self.pending:
            return
        rows = [
            {
                "type": e.type,
                "inbox_id": e.inbox_id,
                "conversation_id": e.conversation_id,
                "payload": e.payload,
            }
            for e in self.pending
        ]
        ids: Sequence[int]
        if self.conn.dialect.name == "sqlite":
            # RETURNING in parameter order is one statement per row on SQLite. This
            # transaction is the only writer (BEGIN IMMEDIATE), so one executemany
            # numbers its rows consecutively, ending at last_insert_rowid().
            await self.conn.execute(_INSERT_EVENTS, rows)
            last = (await self.conn.exec_driver_sql("SELECT last_insert_rowid()")).scalar_one()
            ids = range(int(last) - len(rows) + 1, int(last) + 1)
        else:
            result = await self.conn.execute(_INSERT_EVENTS_RETURNING, rows)
            ids = [int(r[0]) for r in result]
        self.events += [replace(e, db_id=i) for e, i in zip(self.pending, ids, strict=True)]
        self.pending = []


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(payload, default=str))  # type: ignore[no-any-return]


@asynccontextmanager
async def transaction(ctx: AppContext) -> AsyncIterator[Tx]:
    """Run a write transaction; publish its events once it committed."""
    tx: Tx | None = None
    try:
        async with ctx.db.write() as conn:
            tx = Tx(conn)
            yield tx
            await rollup.flush(conn, [tx.rollups])  # one upsert, in key order
            await tx.flush_events()
    except DatabaseUnavailable:
        if tx is not None and tx.events:
            # The connection failed at or after COMMIT: the rows may be committed (the
            # client retries and is told "already there"), their events unpublished. The
            # republisher looks once the database answers (server/events/backlog.py).
            ctx.publish_backlog.defer()
        raise
    if tx.events:
        await publish_committed(ctx, tx.events)
    for callback in tx.after_commit:
        callback()


class _UnitFailed(Exception):
    """A unit of an optimistic group raised: the group runs again, units in savepoints."""


async def run_group(
    ctx: AppContext, work: Sequence[Callable[[Tx], Awaitable[T]]]
) -> list[T | Exception]:
    """Group commit: run every unit of ``work`` in ONE write transaction, one commit.

    A unit that raises (a constraint violation, a bug tripped by its input) is rolled back
    alone, its exception is its outcome, and the others go on. The events of the units
    that succeeded are written in one INSERT in unit order and published after the
    commit, in that order, exactly like ``transaction``'s; their ``after_commit``
    callbacks run after it too. The outcomes are returned only once the commit succeeded:
    nothing is reported done before its commit (docs/ingest.md). If the transaction as a
    whole fails (the database did not answer, the commit failed), this raises and no unit
    counts as done.

    Optimistic: the group first runs with no SAVEPOINT (two statements, on PostgreSQL two
    round trips, per unit). Only if a unit raises is that whole transaction rolled back
    and the group run again, each unit in a SAVEPOINT of its own; units keep no state
    outside the transaction before it commits, so the second run starts clean.
    """
    if len(work) > 1:
        try:
            return await _run_group(ctx, work, savepoints=False)
        except _UnitFailed:
            pass  # rolled back whole, nothing published: again, each unit in a savepoint
    return await _run_group(ctx, work, savepoints=len(work) > 1)


async def _run_group(
    ctx: AppContext, work: Sequence[Callable[[Tx], Awaitable[T]]], *, savepoints: bool
) -> list[T | Exception]:
    outcomes: list[T | Exception] = []
    done: list[Tx] = []
    alone = len(work) == 1  # its transaction is its savepoint: no SAVEPOINT statements
    memo: dict[Any, Any] = {}
    try:
        async with ctx.db.write() as conn:
            for unit in work:
                tx = Tx(conn, memo=memo)
                if savepoints:
                    await conn.exec_driver_sql("SAVEPOINT sb_unit")
                try:
                    outcome = await unit(tx)
                except Exception as exc:  # this unit's failure only: undo it alone
                    if alone or unavailability(exc) is not None:
                        raise  # alone: the whole transaction rolls back; else the group fails
                    if not savepoints:
                        raise _UnitFailed() from exc
                    await conn.exec_driver_sql("ROLLBACK TO SAVEPOINT sb_unit")
                    await conn.exec_driver_sql("RELEASE SAVEPOINT sb_unit")
                    memo.clear()  # what the failed unit read may have been rolled back
                    outcomes.append(exc)
                    continue
                if savepoints:
                    await conn.exec_driver_sql("RELEASE SAVEPOINT sb_unit")
                outcomes.append(outcome)
                done.append(tx)
            await _flush_all(conn, done)
    except DatabaseUnavailable:
        if any(tx.events for tx in done):
            ctx.publish_backlog.defer()  # as in transaction(): the commit may have happened
        raise
    except _UnitFailed:
        raise
    except Exception as exc:
        if alone and not done:
            return [exc]  # a lone unit's own failure, rolled back with its transaction
        raise
    events = [e for tx in done for e in tx.events]
    if events:
        await publish_committed(ctx, events)
    for tx in done:
        for callback in tx.after_commit:
            callback()
    return outcomes


async def _flush_all(conn: AsyncConnection, txs: list[Tx]) -> None:
    """The staged rollups of several units in one upsert (server/reporting/rollup.py,
    ``flush``), then their pending events in one INSERT, in unit order."""
    await rollup.flush(conn, [tx.rollups for tx in txs])
    pending = [(tx, e) for tx in txs for e in tx.pending]
    if not pending:
        return
    holder = Tx(conn, pending=[e for _, e in pending])
    await holder.flush_events()
    for (tx, _), event in zip(pending, holder.events, strict=True):
        tx.events.append(event)
    for tx in txs:
        tx.pending = []


async def publish_committed(ctx: AppContext, events: list[Event]) -> None:
    """Hand committed events to the bus, then mark them published.

    If the bus fails, or earlier events of this process still wait for it, the events stay
    pending in the database and the republisher (workers/marker.py) publishes them in
    commit order as soon as the bus is back (server/events/backlog.py). If the process
    dies between commit and publish, ``republish_pending`` at the next start publishes
    them (the Redis bus deduplicates by ``db_id``).
    """
    backlog = ctx.publish_backlog
    if backlog.defers:
        backlog.defer()  # older events wait: these go after them
        return
    try:
        await ctx.bus.publish(events)
    except Exception as exc:
        backlog.defer()
        _throttled.warning(
            "publish", "bus publish failed (%s); events wait for republish", _reason(exc)
        )
        return
    await _published(ctx, events, batched=True)


async def _published(ctx: AppContext, events: list[Event], *, batched: bool) -> None:
    for event in events:
        EVENTS_PUBLISHED.labels(event.type).inc()
    ids = [e.db_id for e in events if e.db_id is not None]
    if not ids:
        return
    if batched and ctx.unmarked is not None:
        ctx.unmarked.extend(ids)  # batched: one UPDATE for many actions (workers/marker.py)
        return
    await mark_published(ctx, ids)


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


async def mark_published(ctx: AppContext, ids: list[int]) -> None:
    async with ctx.db.write() as conn:
        await conn.execute(sa.update(t.events).where(t.events.c.id.in_(ids)).values(published=True))


async def republish_pending(ctx: AppContext, limit: int = 1_000) -> int:
    """Publish up to ``limit`` unpublished events, oldest first; the number published.

    Raises when the bus (or the database) fails: the caller retries. Events published a
    moment ago whose marking is still batched (``ctx.unmarked``) are left alone.
    """
    skip = set(ctx.unmarked or ())
    async with ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.events)
                .where(t.events.c.published.is_(False))
                .order_by(t.events.c.id)
                .limit(limit + len(skip))
            )
        ).all()
    events = [
        Event(r.type, r.payload, r.inbox_id, r.conversation_id, db_id=r.id)
        for r in rows
        if r.id not in skip
    ][:limit]
    if events:
        await ctx.bus.publish(events)
        await _published(ctx, events, batched=False)  # marked now: the next round skips them
    return len(events)


async def has_strays(ctx: AppContext, older_than: float) -> bool:
    """Whether an event committed more than ``older_than`` seconds ago is unpublished
    (its process died between commit and publish)."""
    e = t.events.c
    before = utcnow() - timedelta(seconds=older_than)
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(e.id).where(e.published.is_(False), e.created_at < before).limit(1)
            )
        ).first()
    return row is not None
