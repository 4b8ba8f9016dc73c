"""Whether any agent of an inbox is online, from the agent socket hub's presence view.

The hub (server/realtime) keeps ``presence_view`` {user id: "online" | "away"} in sync
across nodes. Without a hub (widget-only deployments, tests) presence is unknown (None)
and business hours alone decide availability.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.context import AppContext
from server.storage import schema as t


async def agents_online(ctx: AppContext, hub: Any, inbox_id: int) -> bool | None:
    view = getattr(hub, "presence_view", None)
    if not isinstance(view, dict):
        return None
    online = {u for u, status in view.items() if status == "online"}
    if not online:
        return False
    m, u = t.inbox_members.c, t.users.c
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(
                sa.select(u.id)
                .where(
                    u.id.in_(online),
                    u.is_active.is_(True),
                    u.is_bot.is_(False),
                    sa.or_(
                        u.role == "admin",
                        u.id.in_(sa.select(m.user_id).where(m.inbox_id == inbox_id)),
                    ),
                )
                .limit(1)
            )
        ).first()
    return row is not None
