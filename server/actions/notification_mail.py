"""E-mail digests of notifications: one mail per agent, through the account-mail queue.

Each round, for every agent who chose e-mail for some kinds, the notifications of those
kinds that are unread and not yet e-mailed are recorded as e-mailed and one digest is
queued in ``account_mail`` — in one transaction, so a digest is committed exactly when
its notifications are marked, and the account-mail worker sends it with retries
(docs/automation.md "E-mail digests"). Rows are locked with SKIP LOCKED on PostgreSQL and
``notification_emails`` has the notification as primary key: two nodes never e-mail one
notification twice.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.actions._tx import transaction
from server.actions.accounts import queue_mail
from server.actions.notifications import KINDS
from server.context import AppContext
from server.domain import notification_digest as digest
from server.storage import schema as t
from server.storage.notification_mail_schema import notification_emails
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
MAX_ITEMS = 50  # per digest; the rest follow in the next round's digest


async def send_digests(ctx: AppContext) -> int:
    """Queue this round's digests; returns how many were queued."""
    if not ctx.settings.mail_url:
        return 0
    queued = 0
    for user_id, kinds in (await _email_kinds(ctx)).items():
        queued += await _digest_for(ctx, user_id, kinds)
    return queued


async def _email_kinds(ctx: AppContext) -> dict[int, list[str]]:
    """Active people and the notification kinds each chose to get by e-mail."""
    p, u = t.notification_prefs.c, t.users.c
    async with ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(p.user_id, p.prefs)
            .join(t.users, u.id == p.user_id)
            .where(u.is_active.is_(True), u.is_bot.is_(False))
        )
        chosen = {
            int(r.user_id): sorted(
                kind for kind in KINDS if ((r.prefs or {}).get(kind) or {}).get("email")
            )
            for r in rows
        }
    return {user_id: kinds for user_id, kinds in chosen.items() if kinds}


async def _digest_for(ctx: AppContext, user_id: int, kinds: list[str]) -> int:
    try:
        async with transaction(ctx) as tx:
            rows = await _pending(tx.conn, user_id, kinds)
            if not rows:
                return 0
            user = (await tx.conn.execute(sa.select(t.users).where(t.users.c.id == user_id))).one()
            await tx.conn.execute(
                notification_emails.insert(),
                [
                    {"notification_id": r.id, "user_id": user_id, "emailed_at": utcnow()}
                    for r in rows
                ],
            )
            items = [digest.Item(r.kind, r.text, r.conversation_id) for r in rows]
            text = digest.body(user.name, items, ctx.settings.public_url)
            await queue_mail(ctx, tx.conn, user.email, digest.subject(len(items)), text)
    except IntegrityError:
        log.info("digest for user %s: another node e-mailed these notifications", user_id)
        return 0
    return 1


async def _pending(conn: AsyncConnection, user_id: int, kinds: list[str]) -> list[Any]:
    n, e = t.notifications.c, notification_emails.c
    query = (
        sa.select(n.id, n.kind, n.text, n.conversation_id)
        .where(
            n.user_id == user_id,
            n.kind.in_(kinds),
            n.read_at.is_(None),
            ~sa.exists(sa.select(e.notification_id).where(e.notification_id == n.id)),
        )
        .order_by(n.id)
        .limit(MAX_ITEMS)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())
