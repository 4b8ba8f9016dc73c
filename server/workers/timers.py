"""Time-driven changes: snoozes that end and SLA deadlines that pass.

Checks every second (``TICK``): a breach is visible to agents within a second of its
deadline, and the query is an indexed range scan, cheap enough to run that often.
"""

from __future__ import annotations

import asyncio
import logging

from server.actions import conversations, sla
from server.context import AppContext

log = logging.getLogger(__name__)
TICK = 1.0


async def run(ctx: AppContext) -> None:
    while True:
        try:
            await conversations.wake_snoozed(ctx)
            await sla.mark_breaches(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer tick failed")
        await asyncio.sleep(TICK)
