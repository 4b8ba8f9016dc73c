"""Marks published events in the database in batches.

Marking is bookkeeping for crash recovery (``republish_pending`` at start-up); doing it in
its own write after every action would double the write transactions on SQLite. A crash
before a batch is flushed only means those events are published again at the next start,
which the Redis bus deduplicates and the in-process bus (new epoch) never resumes from.
"""

from __future__ import annotations

import asyncio
import logging

from server.actions._tx import mark_published
from server.context import AppContext

log = logging.getLogger(__name__)
FLUSH_EVERY = 0.5  # seconds: bounds the republish window after a crash


async def run(ctx: AppContext) -> None:
    ctx.unmarked = []
    try:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            await flush(ctx)
    finally:
        ids, ctx.unmarked = ctx.unmarked or [], None
        if ids:
            await asyncio.shield(mark_published(ctx, ids))


async def flush(ctx: AppContext) -> None:
    if not ctx.unmarked:
        return
    ids, ctx.unmarked = ctx.unmarked, []
    try:
        await mark_published(ctx, ids)
    except Exception:
        log.exception("could not mark %d events published; they will be republished", len(ids))
