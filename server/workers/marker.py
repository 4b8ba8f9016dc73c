"""Marks published events in the database in batches, and republishes what the bus missed.

Marking is bookkeeping for recovery; doing it in its own write after every action would
double the write transactions on SQLite. A crash before a batch is flushed only means
those events are published again at the next start, which the Redis bus deduplicates and
the in-process bus (new epoch) never resumes from.

Republishing: when a publish fails (the bus is down or restarting) the events stay
unpublished in the database and this worker publishes them, oldest first, as soon as the
bus answers again — not only at the next start (server/events/backlog.py explains the
ordering). The same drain runs once at start-up for what a crash left behind.
"""

from __future__ import annotations

import asyncio
import logging

from server.actions._tx import has_strays, mark_published, republish_pending
from server.context import AppContext
from server.log_throttle import Throttle

log = logging.getLogger(__name__)
_throttled = Throttle(log)
FLUSH_EVERY = 0.5  # seconds: bounds the republish window after a crash
RETRY_EVERY = 0.25  # seconds between republish attempts while the bus is down: short,
# so delivery resumes within a blink of Redis coming back; each attempt is one cheap call
SWEEP_EVERY = 5.0  # seconds between looks for strays: events committed by a process that
STRAY_AFTER = 10.0  # died before publishing them, older than this (the marker's own
# batches are marked within FLUSH_EVERY), republished by whichever node looks first


async def run(ctx: AppContext) -> None:
    ctx.unmarked = []
    ctx.publish_backlog.drained_by_worker = True
    try:
        await asyncio.gather(_flush_loop(ctx), _republish_loop(ctx), _sweep_loop(ctx))
    finally:
        ctx.publish_backlog.drained_by_worker = False
        ids, ctx.unmarked = ctx.unmarked or [], None
        if ids:
            await asyncio.shield(mark_published(ctx, ids))


async def _flush_loop(ctx: AppContext) -> None:
    while True:
        await asyncio.sleep(FLUSH_EVERY)
        await flush(ctx)


async def flush(ctx: AppContext) -> None:
    if not ctx.unmarked:
        return
    ids, ctx.unmarked = ctx.unmarked, []
    try:
        await mark_published(ctx, ids)
    except Exception as exc:
        ctx.unmarked = ids + ctx.unmarked  # kept: marked at the next round
        _throttled.warning("mark", "could not mark %d events published (%s)", len(ids), exc)


async def _republish_loop(ctx: AppContext) -> None:
    backlog = ctx.publish_backlog
    while True:
        if not backlog.pending:
            backlog.wakeup.clear()
            await backlog.wakeup.wait()
        try:
            await drain(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the bus or the database is still away: try again soon
            _throttled.warning("republish", "republishing waits for the bus: %s", exc)
            await asyncio.sleep(RETRY_EVERY)


async def _sweep_loop(ctx: AppContext) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        try:
            if await has_strays(ctx, STRAY_AFTER):
                ctx.publish_backlog.defer()
        except Exception as exc:  # the database is away: the next sweep looks again
            _throttled.warning("sweep", "looking for unpublished events failed: %s", exc)


async def drain(ctx: AppContext) -> None:
    """Publish every waiting event in commit order; clear the backlog once none is left."""
    backlog = ctx.publish_backlog
    while True:
        before = backlog.deferred
        if await republish_pending(ctx) == 0 and backlog.drained(before):
            _throttled.recovered("republish", "the bus is back: waiting events republished")
            return
