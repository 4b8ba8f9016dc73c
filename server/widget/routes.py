"""Everything the widget registers with the app (see server/app.py)."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.applications import Starlette

from server.widget import api, continuity, embed, socket
from server.widget.fanout import VisitorFanout

API_GROUPS = [api.api, embed.api]
extra_routes = socket.routes


async def _start(app: Starlette) -> None:
    ctx = app.state.ctx
    app.state.widget_fanout = VisitorFanout(ctx)
    await app.state.widget_fanout.start()
    app.state.widget_tasks = (
        [asyncio.create_task(continuity.run(ctx), name="widget-email")]
        if ctx.settings.run_workers
        else []
    )


async def _stop(app: Starlette) -> None:
    fanout = getattr(app.state, "widget_fanout", None)
    if fanout is not None:
        await fanout.stop()
    for task in getattr(app.state, "widget_tasks", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


LIFECYCLE = (_start, _stop)
