"""Long polling: getUpdates with an offset persisted in the inbox state.

The offset moves past an update only after ``ingest`` returned (the message is committed),
so a crash between fetching and committing re-fetches that update; dedupe by update id
makes that harmless. Telegram forgets updates below the offset we send, which is why the
offset is advanced only after commit. One node polls a bot at a time (a lease): two
concurrent getUpdates on one bot make Telegram answer 409 Conflict.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.base import AdapterContext, ChannelError
from adapters.telegram.parse import update_id_of

log = logging.getLogger(__name__)
LEASE_TTL = 60.0  # renewed every poll (<= poll timeout + request time, well under 60 s)
MAX_BACKOFF = 30.0


class Poller:
    def __init__(
        self,
        ctx: AdapterContext,
        fetch: Callable[[int], Awaitable[list[Any]]],
        handle: Callable[[Any], Awaitable[None]],
        lease_name: str,
    ) -> None:
        self.ctx, self._fetch, self._handle, self._lease = ctx, fetch, handle, lease_name

    async def run(self) -> None:
        delay = 1.0
        while True:
            try:
                if not await self.ctx.lease.acquire(self._lease, LEASE_TTL):
                    self.ctx.health.report(connected=False, detail={"standby": True})
                    await asyncio.sleep(LEASE_TTL / 3)
                    continue
                await self.poll_once()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # loop boundary: report, back off, never give up
                reason = exc.reason if isinstance(exc, ChannelError) else type(exc).__name__
                log.warning("telegram inbox %s: polling failed: %s", self.ctx.inbox_id, reason)
                self.ctx.health.report(connected=False, error=reason)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    async def poll_once(self) -> int:
        offset = int(await self.ctx.state.get("offset") or 0)
        updates = await self._fetch(offset)
        self.ctx.health.report(connected=True, detail={"offset": offset})
        # A malformed update is handled (logged and skipped) like any other, and the
        # offset moves past it: otherwise getUpdates would return it forever.
        for update in sorted(updates, key=lambda u: update_id_of(u) or 0):
            await self._handle(update)
            update_id = update_id_of(update)
            if update_id is not None and update_id >= offset:
                offset = update_id + 1
                await self.ctx.state.set("offset", offset)
        return len(updates)
