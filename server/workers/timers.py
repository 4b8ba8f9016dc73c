"""Time-driven changes: snoozes that end and SLA alarms that come due.

Checks every second (``TICK``): a near breach or breach (FRT and NRT, docs/frt.md "SLA
events") is visible to agents within a second of its instant, and each alarm is an indexed
range scan, cheap enough to run that often.
"""

from __future__ import annotations

import asyncio
import logging

from server.actions import conversations, delivery, sla
from server.context import AppContext
from server.exceptions import DatabaseUnavailable

log = logging.getLogger(__name__)
TICK = 1.0
#: seconds between a node's heartbeats; delivery.NODE_DEAD_AFTER allows several missed beats.
#: The heartbeat has its own task on its own schedule: when it shared the tick loop, slow
#: snooze/SLA work on a loaded machine delayed it past NODE_DEAD_AFTER, another node took
#: this node's in-flight claims as a dead node's, and the delivery went out twice.
HEARTBEAT_SECONDS = 5.0


async def run(ctx: AppContext) -> None:
    beat = asyncio.create_task(heartbeat(ctx), name="heartbeat")
    try:
        while True:
            try:
                await conversations.wake_snoozed(ctx)
                await sla.mark_breaches(ctx)
            except asyncio.CancelledError:
                raise
            except DatabaseUnavailable:
                pass  # logged once per interval by server/storage/db.py
            except Exception:
                log.exception("timer tick failed")
            await asyncio.sleep(TICK)
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)


async def heartbeat(ctx: AppContext) -> None:
    """Beat every HEARTBEAT_SECONDS of the monotonic clock, whatever else this node does."""
    loop = asyncio.get_running_loop()
    next_beat = loop.time()
    while True:
        try:
            await delivery.heartbeat(ctx)
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable:
            pass  # logged once per interval by server/storage/db.py
        except Exception:
            log.exception("heartbeat failed")
        next_beat = max(next_beat + HEARTBEAT_SECONDS, loop.time())
        await asyncio.sleep(next_beat - loop.time())
