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
HEARTBEAT_EVERY = 5  # ticks; delivery.NODE_DEAD_AFTER allows three missed beats


async def run(ctx: AppContext) -> None:
    tick = 0
    while True:
        try:
            if tick % HEARTBEAT_EVERY == 0:
                await delivery.heartbeat(ctx)
            tick += 1
            await conversations.wake_snoozed(ctx)
            await sla.mark_breaches(ctx)
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable:
            pass  # logged once per interval by server/storage/db.py
        except Exception:
            log.exception("timer tick failed")
        await asyncio.sleep(TICK)
