"""Start and stop the hub with the app (registered in server/app.py LIFECYCLE_HOOKS)."""

from __future__ import annotations

from starlette.applications import Starlette

from server.context import AppContext
from server.realtime.hub import Hub
from server.realtime.presence import MemoryPresence, PresenceStore, RedisPresence


def presence_store(ctx: AppContext) -> PresenceStore:
    """Presence lives where the bus lives: Redis for many nodes, this process for one."""
    from server.events.redis_bus import RedisBus

    if isinstance(ctx.bus, RedisBus):
        return RedisPresence(ctx.bus.redis)
    return MemoryPresence()


async def start_hub(app: Starlette) -> None:
    ctx: AppContext = app.state.ctx
    hub = Hub(ctx, presence_store(ctx))
    await hub.start()
    app.state.hub = hub


async def stop_hub(app: Starlette) -> None:
    hub: Hub | None = getattr(app.state, "hub", None)
    if hub is not None:
        await hub.stop()
