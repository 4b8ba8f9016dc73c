"""First start: create the first admin so a new install can be logged into at once."""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa

from server.actions import admin
from server.context import AppContext
from server.storage import schema as t

log = logging.getLogger(__name__)


async def ensure_admin(ctx: AppContext) -> str | None:
    """Create an admin if there is no user at all; returns the generated password."""
    async with ctx.db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(t.users))).scalar()
    if count:
        return None
    password = secrets.token_urlsafe(12)
    await admin.create_user(
        ctx, email=ctx.settings.create_admin_email, name="Admin", role="admin", password=password
    )
    return password
